"""API Gateway HTTP API (payload format 2.0) on one machine: the events handlers get, the responses clients get.

Handlers only ever see what API Gateway would give them, so the details follow AWS rather than convenience:
JWT claims arrive as strings ("cognito:groups" as "[admin user]"), duplicate headers and query parameters are
comma-joined, cookies move out of the headers, and a body that is not text arrives base64-encoded. Route selection
is local/route_matching.py; the Lambda context, local/runtime.py.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from local.template.loading import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

DEFAULT_API_ID = "local"


# ---------------------------------------------------------------------------------------------- claims


def stringify_claim(value: Any) -> str:
    """Render one JWT claim as API Gateway's JWT authorizer passes it to the integration.

    The authorizer formats values the way Go prints them: arrays as "[a b]", numbers without quotes,
    booleans as true/false, objects as "map[k:v]" with sorted keys.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{key}:{stringify_claim(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(stringify_claim(item) for item in value) + "]"
    return str(value)


def stringify_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """All claims of a token as requestContext.authorizer.jwt.claims holds them: every value a string."""
    return {name: stringify_claim(value) for name, value in claims.items()}


def token_scopes(claims: Mapping[str, Any]) -> list[str] | None:
    """The token's scopes (the space-separated "scope" claim), or None when it has none, as in AWS."""
    scope = claims.get("scope")
    if isinstance(scope, str) and scope.strip():
        return scope.split()
    if isinstance(scope, list) and scope:
        return [str(item) for item in scope]
    return None


# ---------------------------------------------------------------------------------------------- events

_TEXT_TYPES = {"application/json", "application/javascript", "application/xml", "application/graphql"}


def is_text_content_type(content_type: str | None) -> bool:
    """Whether API Gateway passes a body of this type as text (else it base64-encodes it)."""
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return (
        media_type.startswith("text/")
        or media_type in _TEXT_TYPES
        or media_type.endswith("+json")
        or media_type.endswith("+xml")
    )


def _header_pairs(headers: Mapping[str, Any] | Iterable[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return [(str(name), str(value)) for name, value in headers.items()]
    return [(str(name), str(value)) for name, value in headers]


def _request_id() -> str:
    # The shape AWS uses for HTTP API request ids: 16 characters of base64, e.g. "JKJaXmPLvHcESHA=".
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def build_http_event(
    method: str,
    path: str,
    *,
    route_key: str | None = None,
    raw_query_string: str = "",
    headers: Mapping[str, Any] | Iterable[tuple[str, str]] | None = None,
    body: bytes | str | Mapping[str, Any] | list[Any] | None = None,
    path_parameters: Mapping[str, str] | None = None,
    claims: Mapping[str, Any] | None = None,
    scopes: Sequence[str] | None = None,
    source_ip: str = "127.0.0.1",
    api_id: str = DEFAULT_API_ID,
    account_id: str = DEFAULT_ACCOUNT_ID,
    domain_name: str | None = None,
    stage: str = "$default",
    request_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API payload format 2.0 event, as the Lambda integration receives it.

    `path` is the raw (still percent-encoded) path and may carry a "?query"; `claims` are the token's claims
    as issued (lists, numbers) and are rendered as strings the way the JWT authorizer does. Without `claims`
    the event has no authorizer (a route without auth). A dict/list body is sent as JSON.
    """
    now = time.time() if now is None else now
    method = method.upper()
    raw_path, _, query_from_path = path.partition("?")
    raw_query_string = raw_query_string or query_from_path
    route_key = route_key or f"{method} {raw_path}"

    header_pairs = _header_pairs(headers)
    if isinstance(body, (Mapping, list)):
        body = json.dumps(body)
        if not any(name.lower() == "content-type" for name, _ in header_pairs):
            header_pairs.append(("content-type", "application/json"))

    merged: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in header_pairs:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        merged[lower] = f"{merged[lower]},{value}" if lower in merged else value
    host = domain_name or merged.get("host") or f"{api_id}.execute-api.{DEFAULT_REGION}.amazonaws.com"
    merged.setdefault("host", host)
    merged.setdefault("x-forwarded-for", source_ip)
    merged.setdefault("x-forwarded-proto", "http")
    merged.setdefault("x-amzn-trace-id", _trace_id(now))
    if ":" in host:
        merged.setdefault("x-forwarded-port", host.rsplit(":", 1)[1])

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = merged
    if raw_query_string:
        parameters: dict[str, str] = {}
        for name, value in parse_qsl(raw_query_string, keep_blank_values=True):
            parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
        event["queryStringParameters"] = parameters
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)

    request_context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": host,
        "domainPrefix": host.split(".", 1)[0],
        "http": {
            "method": method,
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": merged.get("user-agent", ""),
        },
        "requestId": request_id or _request_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {
            "jwt": {
                "claims": stringify_claims(claims),
                "scopes": list(scopes) if scopes is not None else token_scopes(claims),
            }
        }
    event["requestContext"] = request_context

    if body is not None and body != b"" and body != "":
        if isinstance(body, str):
            body = body.encode()
        if is_text_content_type(merged.get("content-type")):
            try:
                event["body"] = body.decode("utf-8")
                event["isBase64Encoded"] = False
            except UnicodeDecodeError:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        else:
            event["body"] = base64.b64encode(body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


# ---------------------------------------------------------------------------------------------- responses


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class MalformedLambdaResponse(ValueError):
    """The function returned something API Gateway would answer with a 500."""


def gateway_response(status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> HttpResponse:
    """One of API Gateway's own answers, e.g. 401 {"message":"Unauthorized"}."""
    return HttpResponse(
        status,
        [("content-type", "application/json"), *headers],
        json.dumps({"message": message}, separators=(",", ":")).encode(),
    )


def to_http_response(result: Any) -> HttpResponse:
    """Convert a Lambda proxy result (payload format 2.0) into the HTTP response API Gateway sends.

    A dict with statusCode is a proxy response; anything else is taken as a 200 JSON body (a string as is),
    which is how API Gateway infers the response for format 2.0.
    """
    if not (isinstance(result, Mapping) and "statusCode" in result):
        body = result if isinstance(result, str) else json.dumps(result)
        return HttpResponse(200, [("content-type", "application/json")], body.encode())

    try:
        status = int(result["statusCode"])
    except (TypeError, ValueError) as error:
        raise MalformedLambdaResponse(f"statusCode is not an integer: {result['statusCode']!r}") from error
    if not 100 <= status <= 599:
        raise MalformedLambdaResponse(f"statusCode out of range: {status}")

    headers: list[tuple[str, str]] = []
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        raise MalformedLambdaResponse("headers is not an object")
    for name, value in raw_headers.items():
        headers.append((str(name), stringify_claim(value) if not isinstance(value, str) else value))
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), str(value)) for value in values)
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedLambdaResponse("cookies is not a list")
    headers.extend(("set-cookie", str(cookie)) for cookie in cookies)

    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        raise MalformedLambdaResponse(f"body must be a string, got {type(body).__name__}")
    elif result.get("isBase64Encoded"):
        try:
            payload = base64.b64decode(body, validate=True)
        except ValueError as error:
            raise MalformedLambdaResponse("isBase64Encoded but the body is not base64") from error
    else:
        payload = body.encode()
    return HttpResponse(status, headers, payload)
