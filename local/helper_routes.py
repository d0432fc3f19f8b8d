"""The local stack's own routes under `/local/` on the HTTP API's port: health, tokens, JWKS, what ran.

`GET /local/health` (readiness, the AWS endpoint, queue URLs, and what each service reports of itself), `POST
/local/token` (a token from the local issuer: a person's, or with `client_id` a machine client's), `GET
/local/.well-known/jwks.json`, `GET /local/functions`
(invocations and errors per function); a service may answer further `/local/...` paths (`local_route`).
"""

from __future__ import annotations

import json
from typing import Any

from local.apigw import HttpResponse, gateway_response
from local.jwt_issuer import ScopeNotAllowed
from local.protocols import GatewayHost


def json_response(status: int, payload: Any) -> HttpResponse:
    """A JSON answer of a helper route."""
    return HttpResponse(status, [("content-type", "application/json")], json.dumps(payload).encode())


def error_response(status: int, code: str, message: str) -> HttpResponse:
    """A helper route's error, in the API's error shape."""
    return json_response(status, {"error": {"code": code, "message": message, "details": None}})


def bad_request(message: str) -> HttpResponse:
    return error_response(400, "BAD_REQUEST", message)


class LocalHelperRoutes:
    """The `/local/` routes of one stack."""

    def __init__(self, stack: GatewayHost, route_count: int):
        self.stack = stack
        self.route_count = route_count

    def handle(self, method: str, raw_path: str, body: bytes) -> HttpResponse:
        """The answer to a `/local/...` request: the stack's routes first, then each service's, else 404."""
        if raw_path == "/local/health" and method == "GET":
            status = "ok" if self.stack.ready else "starting"
            health: dict[str, Any] = {
                "status": status,
                "routes": self.route_count,
                "template": str(self.stack.template_path),
                "layers": [str(folder) for folder in self.stack.layer_dirs],
                "aws": {
                    "endpoint": self.stack.moto_endpoint,
                    "queues": {name: queue["url"] for name, queue in self.stack.queues.items()},
                    "buckets": dict(self.stack.buckets),
                    "delivery_streams": dict(self.stack.delivery_streams),
                },
            }
            for service in self.stack.services:  # services may report themselves (the WebSocket API's URL)
                if hasattr(service, "health"):
                    health.update(service.health())
            return json_response(200 if self.stack.ready else 503, health)
        if raw_path == "/local/.well-known/jwks.json" and method == "GET":
            return json_response(200, self.stack.issuer.jwks())
        if raw_path == "/local/token" and method == "POST":
            return self._issue_token(body)
        if raw_path == "/local/functions" and method == "GET":
            return json_response(
                200,
                {f.spec.logical_id: {"invocations": f.invocations, "errors": f.errors} for f in self.stack.functions},
            )
        for service in self.stack.services:  # services may serve helper routes of their own (/local/flags)
            answer = service.local_route(method, raw_path, body) if hasattr(service, "local_route") else None
            if answer is not None:
                return answer
        return gateway_response(404, "Not Found")

    def _issue_token(self, body: bytes) -> HttpResponse:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return bad_request("the body is not JSON")
        if not isinstance(request, dict):
            return bad_request("the body must be a JSON object")
        sub, groups = request.get("sub"), request.get("groups")  # no groups: the user pool's, if the stack has one
        claims, scopes = request.get("claims", {}), request.get("scopes")
        claims = {} if claims is None else claims
        ttl = request.get("ttl_seconds", 3600)
        if "client_id" in request:
            return self._issue_client_token(request, scopes, ttl)
        if not isinstance(sub, str) or not sub:
            return bad_request("sub must be a non-empty string")
        if groups is not None and (not isinstance(groups, list) or not all(isinstance(g, str) for g in groups)):
            return bad_request("groups must be a list of strings")
        if not isinstance(claims, dict):
            return bad_request("claims must be an object")
        if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
            return bad_request("scopes must be a list of strings")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            return bad_request("ttl_seconds must be a positive integer")
        token = self.stack.issuer.issue(sub, groups=groups, scopes=scopes, extra_claims=claims, ttl_seconds=ttl)
        return json_response(200, {"token": token})

    def _issue_client_token(self, request: dict[str, Any], scopes: Any, ttl: Any) -> HttpResponse:
        """A machine client's client-credentials token: `{"client_id", "scopes"?, "ttl_seconds"?}`."""
        client_id = request["client_id"]
        if set(request) - {"client_id", "scopes", "ttl_seconds"}:
            return bad_request("a client token takes only client_id, scopes and ttl_seconds (no user claims)")
        if not isinstance(client_id, str) or not client_id:
            return bad_request("client_id must be a non-empty string")
        if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
            return bad_request("scopes must be a list of strings")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            return bad_request("ttl_seconds must be a positive integer")
        try:
            token = self.stack.issuer.issue_client_credentials(client_id, scopes=scopes, ttl_seconds=ttl)
        except ScopeNotAllowed as refused:
            return bad_request(str(refused))
        return json_response(200, {"token": token})
