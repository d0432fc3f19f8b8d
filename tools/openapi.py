"""Generate docs/openapi.json from the handlers' own routes and pydantic models.

Every HTTP function of template.yaml is one module with one resolver; this merges their OpenAPI documents into one
and completes each operation from what is known centrally, so no handler can leave its document untrue:

* its success response: a route that lists only errors in `responses=` gets a 200 with its return annotation's
  model (Powertools fills a response without `content` from the return annotation);
* every error it can answer, in the one error shape: 400 and 422 where a body is read, 422 where any parameter is
  validated, 401 on every route behind the JWT authorizer (template.yaml), 404 where the path carries an id, 429
  everywhere (API Gateway's stage throttle and the per-user limits); where API Gateway itself may answer (401, 404,
  429), its `{"message": ...}` body is documented beside the error shape;
* a short operationId, the handler's name in camelCase; `servers`; the security scheme, and `security: []` on
  public routes.

The API docs page's function (functions/docs) is left out: it serves this file.
`--check` exits 1 when the checked-in file is stale.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "openapi.json"
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "shared" / "python")]

from local.template import functions, http_route_specs, load_template  # noqa: E402

DESCRIPTION = """Arena runs trading competitions for an exchange: admins create time-boxed events with a ranking
metric and a prize table, traders join, the exchange streams trades in, and live leaderboards rank the participants.

Authentication: every route takes a Cognito JWT as `Authorization: Bearer <token>`. Roles come from the token's
`cognito:groups` (admin, event-manager, user, service); machine clients use client-credentials tokens with one scope
per capability (`arena/trades.write`, `arena/equity.write`, `arena/accounts.flag`, `arena/payouts.callback`). A
caller without the role or scope gets 403 before the request is validated. Amounts are decimal strings, times UTC
ISO-8601. Errors are `{"error": {"code", "message", "details"}}`;
API Gateway's own answers, given before any function runs, are `{"message": "..."}`: 401 `Unauthorized` from the JWT
authorizer, 404 `Not Found` for a path no route matches, 429 `Too Many Requests` from the stage throttle.

Free text (names, descriptions, reasons, notes, announcements) is plain text: stored as sent after Unicode NFC
normalisation, with control and invisible characters refused (422). It is never HTML: render it escaped."""

SERVERS = [
    {"url": "http://127.0.0.1:3000", "description": "The local stack (`make run`)"},
    {
        "url": "https://{apiId}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "A deployed stage: the stack's `ApiUrl` output",
        "variables": {
            "apiId": {"default": "api-id", "description": "The HttpApi's id"},
            "region": {"default": "us-east-1"},
            "stage": {"default": "dev", "enum": ["dev", "prod"]},
        },
    },
]

# Serves this document (and needs it to exist to import): not part of it.
DOCS_PAGE_FUNCTION = "ApiDocsFunction"
ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}
GATEWAY_SCHEMA = {"$ref": "#/components/schemas/GatewayMessage"}
GATEWAY_MESSAGE = {
    "type": "object",
    "title": "GatewayMessage",
    "description": 'API Gateway\'s own answer, given before any function runs: {"message": "Unauthorized"}, ...',
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}
# Statuses API Gateway answers itself on a route (its authorizer, an unmatched path, its throttle).
GATEWAY_ANSWERS = {401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}
BODY_ERRORS = (400, 415, 422)  # 400 invalid_json (an unreadable body), 415 not JSON, 422 validation_failed
METHODS_WITH_BODY = {"post", "put", "patch"}
ERROR_TEXT = {
    400: "Malformed request: the body is not JSON, or a cursor is not one this API gave",
    401: "Missing or invalid token",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Refused by the resource's current state",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "Failed validation: `details` lists each field and why",
    429: "Too many requests: retry after `Retry-After` seconds",
}
RATE_LIMIT_HEADERS = {
    "Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "integer"}},
    "RateLimit-Limit": {"description": "Requests allowed in the window.", "schema": {"type": "integer"}},
    "RateLimit-Remaining": {"description": "Requests left in the window.", "schema": {"type": "integer"}},
    "RateLimit-Reset": {"description": "Seconds until the window resets.", "schema": {"type": "integer"}},
}
# Powertools' own 422 shape: never answered here (arena.http maps validation to the error shape).
POWERTOOLS_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")


def operation_id(function_name: str) -> str:
    """The handler's name in camelCase: create_event -> createEvent."""
    first, *rest = function_name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def _load(module_path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, module_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _prepare_routes(app: Any) -> None:
    """Before Powertools writes a module's document: every route gets a success response and its short id."""
    for route in app._static_routes + app._dynamic_routes:
        responses = dict(route.responses or {})
        if responses and not any(200 <= int(status) < 300 for status in responses):
            # No `content`: Powertools documents the route's return annotation (Response[Model] -> Model).
            responses = {200: {"description": "OK"}, **responses}
        route.responses = responses or None
        route.operation_id = operation_id(route.func.__name__)


def _error(status: int, description: str | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = ERROR_SCHEMA
    if status in GATEWAY_ANSWERS:
        schema = {"oneOf": [ERROR_SCHEMA, GATEWAY_SCHEMA]}
    response: dict[str, Any] = {
        "description": description or ERROR_TEXT[status],
        "content": {"application/json": {"schema": schema}},
    }
    if status == 429:
        response["headers"] = RATE_LIMIT_HEADERS
    return response


def _is_powertools_default(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return schema.get("$ref", "").rpartition("/")[2] in POWERTOOLS_VALIDATION_SCHEMAS


def complete_operation(path: str, method: str, operation: dict[str, Any], *, authenticated: bool) -> None:
    """Add every error this operation can answer (see the module's docstring); keep the handler's descriptions."""
    responses: dict[str, Any] = operation["responses"]
    declared = {
        int(status): response.get("description")
        for status, response in responses.items()
        if int(status) >= 400 and not _is_powertools_default(response)
    }
    wanted = set(declared)
    if method in METHODS_WITH_BODY and "requestBody" in operation:
        wanted.update(BODY_ERRORS)
    if operation.get("parameters"):
        wanted.add(422)
    if authenticated:
        # Every route behind the authorizer refuses someone with 403: a role route everyone else, a people route
        # every machine client (arena.auth.Access).
        wanted.update({401, 403})
    else:
        wanted.discard(401)
        operation["security"] = []
    if "{" in path:
        wanted.add(404)
    wanted.add(429)
    for status in [s for s in responses if int(s) >= 400]:
        del responses[status]
    for status in [s for s in responses if 300 <= int(s) < 400]:
        responses[status].pop("content", None)  # a 304 has no body (Powertools gave it the route's model)
    for status in wanted:
        responses[str(status)] = _error(status, declared.get(status))
    operation["responses"] = dict(sorted(responses.items()))


def build() -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from aws_lambda_powertools.event_handler import APIGatewayHttpResolver

    template = load_template(ROOT / "template.yaml")
    authenticated = {
        (spec.route.method.lower(), spec.route.path): spec.authorizer is not None for spec in http_route_specs(template)
    }
    # One resolver holding every handler's routes: their models are named in one pass, so a model used for input
    # and output is `X-Input` / `X-Output` everywhere, never `X` in one handler's part and `X-Output` in another's.
    api = APIGatewayHttpResolver(enable_validation=True)
    for spec in sorted(functions(template), key=lambda f: f.logical_id):
        if spec.logical_id == DOCS_PAGE_FUNCTION or not any(kind == "HttpApi" for kind, _ in spec.events):
            continue
        module = _load(ROOT / spec.code_uri / f"{spec.module}.py", f"arena_openapi_{spec.logical_id}")
        _prepare_routes(module.app)
        api._static_routes += module.app._static_routes
        api._dynamic_routes += module.app._dynamic_routes
    generated = api.get_openapi_schema().model_dump(mode="json", by_alias=True, exclude_none=True)
    for path, operations in generated["paths"].items():
        for method, operation in operations.items():
            complete_operation(path, method, operation, authenticated=authenticated[(method, path)])
    schemas = {
        name: schema
        for name, schema in generated["components"]["schemas"].items()
        if name not in POWERTOOLS_VALIDATION_SCHEMAS
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Arena API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": SERVERS,
        "paths": dict(sorted(generated["paths"].items())),
        "components": {
            "schemas": dict(sorted({**schemas, "GatewayMessage": GATEWAY_MESSAGE}.items())),
            "securitySchemes": {
                "cognitoJwt": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito access or ID token, checked by the HTTP API's JWT authorizer.",
                }
            },
        },
        "security": [{"cognitoJwt": []}],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when docs/openapi.json is not up to date")
    args = parser.parse_args()
    text = json.dumps(build(), indent=2, sort_keys=False) + "\n"
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print("docs/openapi.json is stale: run `make openapi` and commit it.", file=sys.stderr)
            return 1
        print("docs/openapi.json is up to date.")
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
