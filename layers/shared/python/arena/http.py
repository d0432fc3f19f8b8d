"""The resolver every HTTP handler uses: who may call each route (decided first), request validation, the
principal, and the one map from typed errors to HTTP statuses. Handlers never catch exceptions themselves."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder, Route
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from arena.auth import Access, Audience, Principal, Role, Scope, principal_from_event
from arena.domain.exact import canonical
from arena.errors import (
    ArenaError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    NotModified,
    RateLimited,
    Unauthenticated,
    UnsupportedMediaType,
)
from arena.observability import HTTP, entry_point, logger
from arena.request_guard import check_request
from arena.services import rate_limiting

STATUS_BY_ERROR: dict[type[ArenaError], int] = {
    BadRequest: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    UnsupportedMediaType: 415,
    InvalidInput: 422,
    RateLimited: 429,
}


def status_for(error: ArenaError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]
    return 500


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return canonical(value)  # exact decimals travel as strings in their one form, never floats
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(payload: Any) -> str:
    return json.dumps(payload, default=_json_default, separators=(",", ":"))


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=to_json({"error": {"code": code, "message": message, "details": details}}),
        headers=headers,
    )


def json_response(status: int, payload: BaseModel, headers: dict[str, str] | None = None) -> Response:
    """A model with a status other than 200; the resolver validates and serialises it against the route's type."""
    return Response(status_code=status, content_type="application/json", body=payload, headers=headers)


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _on_validation_error(error: RequestValidationError) -> Response:
    problems = error.errors()
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_response(400, "invalid_json", "The request body is not valid JSON.")
    details = [
        {"field": _field_path(tuple(p.get("loc", ()))), "message": p.get("msg", ""), "type": p.get("type", "")}
        for p in problems
    ]
    return error_response(422, "validation_failed", "The request did not pass validation.", details)


def _on_arena_error(error: ArenaError) -> Response:
    status = status_for(error)
    if status >= 500:
        logger.exception("unmapped arena error")
    headers = error.headers if isinstance(error, RateLimited) else None
    return error_response(status, error.code, error.message, error.details, headers or None)


def _on_not_modified(signal: NotModified) -> Response:
    # Raised, not returned, so the route's response model is not asked to validate an empty 304.
    return Response(status_code=304, headers=signal.headers, body="")


def _on_no_route(_: NotFoundError) -> Response:
    # A path parameter with a character the route patterns do not take ('#', ...) matches no route; without
    # this the catch-all below would answer such bad input with a 500.
    return error_response(404, "not_found", "Nothing here: check the path and its ids.")


def _on_unsupported_content_type(_: RequestUnsupportedContentType) -> Response:
    # The guard (arena/request_guard.py) refuses these before routing; this covers a route the guard was not
    # asked about, so Powertools' refusal stays a 415 rather than the catch-all's 500.
    return _on_arena_error(UnsupportedMediaType("Send the body as application/json (UTF-8)."))


def _on_unexpected(error: Exception) -> Response:
    # A bug, not bad input: log it whole, tell the client nothing internal.
    logger.exception("unhandled error")
    return error_response(500, "internal_error", "Something went wrong on our side; it has been logged.")


Handler = TypeVar("Handler", bound=Callable[..., Any])
_ACCESS = "__arena_access__"


def allow(*grants: Role | Scope | Audience) -> Callable[[Handler], Handler]:
    """Declares who may call a route: `@allow(Scope.TRADES_WRITE)` right under its `@app.post(...)`."""
    access = Access.of(*grants)

    def declare(handler: Handler) -> Handler:
        setattr(handler, _ACCESS, access)
        return handler

    return declare


def access_of(handler: Callable[..., Any]) -> Access | None:
    found = getattr(handler, _ACCESS, None)
    return found if isinstance(found, Access) else None


class ArenaResolver(APIGatewayHttpResolver):
    """Powertools' HTTP API resolver, deciding who may call a route before anything reads the request.

    Powertools validates the body and query in the first middleware of a route's stack, so a caller without the
    role would learn the body's schema from a 422. The route's declared `Access` is checked here instead, once
    the route has matched and before its middleware stack runs (`_call_route`, Powertools' private step between
    the two: tests/unit/test_auth.py fails if an upgrade moves it); a route without a declaration cannot be
    registered.

    The request it is resolving is its own and its thread's: Powertools keeps `current_event` and
    `lambda_context` on its base class, shared by every resolver of the process. One request per process, as in
    Lambda, never notices; the local stack runs concurrent invocations (each with its own copy of the handler
    module) in one process, where a shared event let one request be validated against another's body.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._request = threading.local()
        super().__init__(*args, **kwargs)

    @property
    def current_event(self) -> Any:
        return self._request.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        self._request.event = value

    @property
    def lambda_context(self) -> Any:
        return getattr(self._request, "context", None)

    @lambda_context.setter
    def lambda_context(self, value: Any) -> None:
        self._request.context = value

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        self.current_event = self._to_proxy_event(dict(event))
        self.lambda_context = context
        return super().resolve(event, context)

    def route(self, rule: str, method: Any, *args: Any, **kwargs: Any) -> Callable[[Handler], Handler]:
        register = super().route(rule, method, *args, **kwargs)

        def checked(handler: Handler) -> Handler:
            if access_of(handler) is None:
                raise TypeError(f"{method} {rule}: declare who may call it with @allow(...) under the route")
            return register(handler)

        return checked

    def _call_route(self, route: Route, route_arguments: dict[str, str]) -> ResponseBuilder:
        access = access_of(route.func)
        if access is None:  # Powertools' own not-found route: nothing to read
            return super()._call_route(route, route_arguments)
        event = self.current_event.raw_event
        try:
            if not access.anyone:
                access.check(principal_from_event(event))
            # Then what the route may read: ids within the bound, a body that is bounded UTF-8 JSON
            # (arena/request_guard.py), so hostile input is a 4xx before any parser, model or key sees it.
            check_request(event, takes_body=bool(route.dependant.body_params))
        except ArenaError as refused:
            answer = self._call_exception_handler(refused, route)
            if answer is None:
                raise
            return answer
        return super()._call_route(route, route_arguments)


def make_resolver() -> APIGatewayHttpResolver:
    app = ArenaResolver(enable_validation=True)
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(ArenaError)(_on_arena_error)
    app.exception_handler(NotModified)(_on_not_modified)
    app.exception_handler(NotFoundError)(_on_no_route)
    app.exception_handler(RequestUnsupportedContentType)(_on_unsupported_content_type)
    app.exception_handler(Exception)(_on_unexpected)
    return app


def principal(app: APIGatewayHttpResolver) -> Principal:
    return principal_from_event(app.current_event.raw_event)


_STATUS_TEXT = {
    400: "Malformed request (invalid JSON or cursor)",
    401: "Missing or invalid token",
    403: "Not allowed for this caller",
    404: "Not found",
    409: "Refused by the resource's current state",
    415: "The body is not application/json",
    422: "Failed validation",
    429: "Too many requests",
}


def error_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI `responses` for the error statuses a route can answer, all in the one error shape."""
    from arena.models.common import ErrorBody

    # Every route can answer 429: the rate limit (`rate_limited` below) stands in front of them all.
    wanted = dict.fromkeys((*(statuses or (400, 401, 403, 404, 409, 422)), 429))
    return {
        status: {
            "description": _STATUS_TEXT[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
        for status in wanted
    }


def lambda_handler_for(app: APIGatewayHttpResolver) -> Any:
    """The Lambda entry point of a one-route module: refuse hostile input (`refusal`), then resolve the request,
    with the metrics it added flushed, the API Gateway request id as every log line's correlation_id, and a trace
    (`arena.observability.entry_point`)."""

    @entry_point(correlation=HTTP)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return rate_limited(event, lambda: app.resolve(event, context))

    return lambda_handler


# ---------------------------------------------------------------------------------------------- rate limiting


def rate_limited(event: dict[str, Any], resolve: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Count the request against its caller's limit (arena/services/rate_limiting.py) before anything reads it:
    refused, a 429 with Retry-After; admitted, the route's response with the RateLimit-* fields added. Counted
    only once the caller is known (a request without a principal goes on to its 401 uncounted)."""
    try:
        caller: Principal | None = principal_from_event(event)
    except ArenaError:
        caller = None
    decision = rate_limiting.check_request(event, caller)
    if decision is not None and not decision.allowed:
        message = f"Too many requests; retry in {decision.retry_after_seconds} s."
        details = {"limit": decision.limit, "retry_after_seconds": decision.retry_after_seconds}
        body = to_json({"error": {"code": RateLimited.code, "message": message, "details": details}})
        headers = {"Content-Type": "application/json", **decision.headers()}
        return {"statusCode": 429, "headers": headers, "body": body, "isBase64Encoded": False}
    response = resolve()
    if decision is not None:
        response.setdefault("headers", {}).update(decision.headers())
    return response
