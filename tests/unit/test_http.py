"""arena.http: the one map from typed errors (and every other failure) to HTTP statuses and the error body.

A small resolver from make_resolver() with test routes, driven by a sample HTTP API event from events/.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Annotated, Any

import pytest
from arena import errors
from arena.auth import Audience
from arena.errors import (
    ArenaError,
    BadRequest,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    UnsupportedMediaType,
)
from arena.http import STATUS_BY_ERROR, allow, json_response, make_resolver, principal, status_for, to_json
from arena.models.common import ApiModel, PositiveDecimalStr
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from tests.conftest import sample_event

SECRET = "db-password-hunter2@10.0.0.5"


class EventFull(Conflict):
    """A subclass the map does not list: it must inherit its parent's status."""

    code = "event_full"


ERRORS: dict[str, type[ArenaError]] = {
    cls.__name__: cls
    for cls in (
        ArenaError,
        BadRequest,
        InvalidInput,
        Unauthenticated,
        Forbidden,
        NotFound,
        Conflict,
        RateLimited,
        UnsupportedMediaType,
        EventFull,
    )
}


class Line(ApiModel):
    qty: int = Field(ge=1)


class Order(ApiModel):
    name: str = Field(min_length=1)
    amount: PositiveDecimalStr
    lines: list[Line] = Field(default_factory=list)


class Echo(BaseModel):
    name: str
    amount: PositiveDecimalStr
    count: int


def _app() -> Any:
    app = make_resolver()

    @app.get("/test/raise/<kind>")
    @allow(Audience.PEOPLE)
    def raise_error(kind: str) -> dict[str, Any]:
        raise ERRORS[kind](f"{kind} happened.", details={"why": kind})

    @app.get("/test/raise-bare/<kind>")
    @allow(Audience.PEOPLE)
    def raise_bare(kind: str) -> dict[str, Any]:
        raise ERRORS[kind](f"{kind} happened.")

    @app.post("/test/orders")
    @allow(Audience.PEOPLE)
    def create_order(order: Order) -> Echo:
        return json_response(201, Echo(name=order.name, amount=order.amount, count=len(order.lines)))

    @app.get("/test/items")
    @allow(Audience.PEOPLE)
    def list_items(limit: Annotated[int, Query(ge=1, le=10)] = 5) -> dict[str, Any]:
        return {"limit": limit}

    @app.get("/test/boom")
    @allow(Audience.PEOPLE)
    def boom() -> dict[str, Any]:
        raise RuntimeError(f"could not connect with {SECRET}")

    @app.get("/test/key-error")
    @allow(Audience.PEOPLE)
    def key_error() -> dict[str, Any]:
        return {"value": {}[SECRET]}

    @app.get("/test/whoami")
    @allow(Audience.PEOPLE)
    def whoami() -> dict[str, Any]:
        return {"user": principal(app).user_id}

    return app


@pytest.fixture(scope="module")
def app() -> Any:
    return _app()


def _request(
    method: str,
    path: str,
    *,
    body: Any = None,
    query: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The sample create_event payload, re-aimed at a test route (as API Gateway would send it)."""
    event = sample_event("events/create_event.json")
    event["routeKey"] = event["requestContext"]["routeKey"] = f"{method} {path}"
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["body"] = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    event["queryStringParameters"] = query
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    if claims is not None:
        event["requestContext"]["authorizer"]["jwt"]["claims"] = claims
    return event


def _call(app: Any, event: dict[str, Any], lambda_context: Any) -> tuple[int, dict[str, Any]]:
    response = app.resolve(event, lambda_context)
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


# ------------------------------------------------------------------------------------------- typed errors

EXPECTED_STATUS = {
    "BadRequest": 400,
    "Unauthenticated": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "Conflict": 409,
    "UnsupportedMediaType": 415,
    "InvalidInput": 422,
    "RateLimited": 429,
    "EventFull": 409,
}


@pytest.mark.parametrize(("kind", "status"), sorted(EXPECTED_STATUS.items()))
def test_each_arena_error_maps_to_its_status_and_the_error_body(
    app: Any, lambda_context: Any, kind: str, status: int
) -> None:
    """Given a route that raises a typed error with details
    When it is called
    Then the status is the error's, and the body is {"error": {code, message, details}} and nothing else."""
    code, body = _call(app, _request("GET", f"/test/raise/{kind}"), lambda_context)
    assert code == status
    assert body == {"error": {"code": ERRORS[kind].code, "message": f"{kind} happened.", "details": {"why": kind}}}


def test_error_without_details_has_null_details(app: Any, lambda_context: Any) -> None:
    """Given an error raised without details When mapped Then details is present and null."""
    code, body = _call(app, _request("GET", "/test/raise-bare/NotFound"), lambda_context)
    assert (code, body) == (404, {"error": {"code": "not_found", "message": "NotFound happened.", "details": None}})


def test_every_error_class_of_arena_errors_has_a_status() -> None:
    """Given every ArenaError subclass defined in arena.errors When its status is looked up
    Then it has one of its own in the map (a new error type cannot silently become a 500)."""
    defined = {
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, ArenaError) and value is not ArenaError
    }
    assert defined == set(STATUS_BY_ERROR)
    assert {cls.__name__: status_for(cls("x")) for cls in defined} == {
        k: v for k, v in EXPECTED_STATUS.items() if k != "EventFull"
    }


def test_a_code_given_at_raise_time_replaces_the_class_code() -> None:
    """Given Conflict raised with code version_conflict When mapped Then 409 with that code."""
    error = Conflict("stale", code="version_conflict")
    assert (status_for(error), error.code, Conflict.code) == (409, "version_conflict", "conflict")


def test_the_bare_base_error_is_a_500_with_its_message(app: Any, lambda_context: Any) -> None:
    """Given the unmapped base ArenaError When raised Then 500, still in the one error shape."""
    code, body = _call(app, _request("GET", "/test/raise/ArenaError"), lambda_context)
    assert code == 500
    assert body["error"]["code"] == "error"


def test_missing_token_is_401(app: Any, lambda_context: Any) -> None:
    """Given a route that needs the caller When called without a subject claim Then 401 unauthenticated."""
    code, body = _call(app, _request("GET", "/test/whoami", claims={}), lambda_context)
    assert (code, body["error"]["code"]) == (401, "unauthenticated")
    code, body = _call(app, _request("GET", "/test/whoami"), lambda_context)
    assert (code, body) == (200, {"user": "admin-1"})


# ------------------------------------------------------------------------------------------- request validation


def test_valid_body_reaches_the_route(app: Any, lambda_context: Any) -> None:
    """Given a valid body When posted Then the route's status and model come back, decimals as canonical strings."""
    code, body = _call(
        app,
        _request("POST", "/test/orders", body={"name": "a", "amount": "0.30", "lines": [{"qty": 2}]}),
        lambda_context,
    )
    assert (code, body) == (201, {"name": "a", "amount": "0.3", "count": 1})


@pytest.mark.parametrize("raw", ["{bad json", '{"name": "a",}', "[1, 2", "not json at all", "{'name': 'a'}"])
def test_invalid_json_body_is_400_invalid_json(app: Any, lambda_context: Any, raw: str) -> None:
    """Given a body that is not JSON When posted Then 400 invalid_json (a malformed request, not a failed rule),
    saying where the parser stopped."""
    code, body = _call(app, _request("POST", "/test/orders", body=raw), lambda_context)
    assert code == 400
    assert (body["error"]["code"], body["error"]["message"]) == ("invalid_json", "The request body is not valid JSON.")
    assert set(body["error"]["details"]) == {"reason"} and body["error"]["details"]["reason"]


def test_validation_failure_is_422_with_field_paths(app: Any, lambda_context: Any) -> None:
    """Given a body with a float amount, an empty name, a bad nested line and an unknown field
    When posted
    Then 422 validation_failed, with one detail per problem and its dotted field path."""
    code, body = _call(
        app,
        _request(
            "POST", "/test/orders", body={"name": "", "amount": 0.3, "lines": [{"qty": 1}, {"qty": 0}], "colour": "red"}
        ),
        lambda_context,
    )
    assert code == 422
    assert body["error"]["code"] == "validation_failed"
    assert body["error"]["message"] == "The request did not pass validation."
    details = {d["field"]: d for d in body["error"]["details"]}
    assert set(details) == {"body.name", "body.amount", "body.lines.1.qty", "body.colour"}
    assert details["body.colour"]["type"] == "extra_forbidden"
    assert details["body.lines.1.qty"]["type"] == "greater_than_equal"
    assert "decimal string" in details["body.amount"]["message"]
    assert all(set(d) == {"field", "message", "type"} for d in body["error"]["details"])


def test_missing_body_is_422_naming_the_body(app: Any, lambda_context: Any) -> None:
    """Given a route that needs a body When posted without one Then 422 for the field "body"."""
    code, body = _call(app, _request("POST", "/test/orders"), lambda_context)
    assert code == 422
    assert [d["field"] for d in body["error"]["details"]] == ["body"]


@pytest.mark.parametrize(("limit", "status"), [("0", 422), ("11", 422), ("ten", 422), ("3", 200)])
def test_query_parameters_are_validated_with_their_path(app: Any, lambda_context: Any, limit: str, status: int) -> None:
    """Given a query parameter out of its bounds (or not a number) When called Then 422 for query.limit."""
    code, body = _call(app, _request("GET", "/test/items", query={"limit": limit}), lambda_context)
    assert code == status
    if status == 422:
        assert [d["field"] for d in body["error"]["details"]] == ["query.limit"]
    else:
        assert body == {"limit": 3}


# ------------------------------------------------------------------------------------------- unexpected errors


@pytest.mark.parametrize("path", ["/test/boom", "/test/key-error"])
def test_unexpected_exception_is_500_without_internals(app: Any, lambda_context: Any, path: str) -> None:
    """Given a route that fails with an exception nobody expected (a bug)
    When called
    Then 500 internal_error with a fixed message: no exception text, type or traceback reaches the client."""
    response = app.resolve(_request("GET", path), lambda_context)
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {
        "error": {
            "code": "internal_error",
            "message": "Something went wrong on our side; it has been logged.",
            "details": None,
        }
    }
    for leak in (SECRET, "hunter2", "RuntimeError", "KeyError", "Traceback", "test_http.py"):
        assert leak not in response["body"]


def test_to_json_writes_decimals_as_strings_and_refuses_unknown_types() -> None:
    """Given a payload with Decimals and a model When serialised Then decimals are exact strings in the canonical
    form; an unknown type is a TypeError, never a silent str()."""
    assert to_json({"a": Decimal("0.10"), "b": Echo(name="x", amount=Decimal("1.50"), count=2)}) == (
        '{"a":"0.1","b":{"name":"x","amount":"1.5","count":2}}'
    )
    with pytest.raises(TypeError):
        to_json({"a": object()})


def test_concurrent_resolvers_each_read_their_own_request(lambda_context: Any) -> None:
    """Given two copies of one handler module (two execution environments of the local stack, in one process)
    When the first is inside its route while the second resolves a request with another body
    Then the first still reads its own request (Powertools alone keeps the current event process-wide)."""
    import threading

    from arena.auth import Audience
    from arena.http import allow, make_resolver

    second_done = threading.Event()
    seen: dict[str, int] = {}

    def copy(name: str) -> Any:
        app = make_resolver()

        @app.post("/test/batch")
        @allow(Audience.PEOPLE)
        def batch() -> dict[str, int]:
            if name == "first":
                second_done.wait(timeout=60)
            seen[name] = len(app.current_event.json_body["items"])
            return {"items": seen[name]}

        return app

    first, second = copy("first"), copy("second")
    worker = threading.Thread(
        target=first.resolve, args=(_request("POST", "/test/batch", body={"items": [1, 2, 3]}), lambda_context)
    )
    worker.start()
    second.resolve(_request("POST", "/test/batch", body={"items": [1, 2, 3, 4, 5]}), lambda_context)
    second_done.set()
    worker.join(timeout=60)

    assert seen == {"first": 3, "second": 5}
