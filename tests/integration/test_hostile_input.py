"""Hostile input on every HTTP route (and the WebSocket messages) answers a 4xx in the error shape, never a 5xx.

One test per class of input, each over every route it applies to: the routes are the sample events of events/
(one per HTTP route of template.yaml, answered by the function the template routes it to), and whether a route
reads a body comes from docs/openapi.json, so a new route is covered as soon as it has a sample. The handlers run
as the runtime loads them, against moto.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local.template import http_routes, load_template, resources_of_type
from tests.conftest import sample_event
from tests.integration.conftest import Arena, Reply

ROOT = Path(__file__).resolve().parents[2]
MAX_ID_BYTES = 400  # the one id bound (arena/ids.py), restated: the test fails if the code drifts from it


def _operations() -> dict[str, bool]:
    """Every operation of docs/openapi.json ("POST /api/events") and whether it reads a request body."""
    document = json.loads((ROOT / "docs" / "openapi.json").read_text())
    return {
        f"{method.upper()} {path}": "requestBody" in operation
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def _http_samples() -> list[str]:
    names = [f"{path.parent.name}/{path.name}" for path in sorted((ROOT / "events").glob("*/*.json"))]
    return [name for name in names if sample_event(name).get("version") == "2.0"]


def _handlers() -> dict[str, tuple[str, str]]:
    """Route key -> (area, module) of the function template.yaml routes it to (functions/<area>/<module>.py)."""
    template = load_template(ROOT / "template.yaml")
    functions = resources_of_type(template, "AWS::Serverless::Function")
    handlers = {}
    for route in http_routes(template):
        props = functions[route.function_id]
        area = Path(str(props["CodeUri"]).rstrip("/")).name
        handlers[route.route_key] = (area, str(props["Handler"]).split(".")[0])
    return handlers


OPERATIONS = _operations()
HANDLERS = _handlers()
SAMPLES = _http_samples()
BODY_ROUTES = [name for name in SAMPLES if OPERATIONS.get(sample_event(name)["routeKey"])]
BODYLESS_ROUTES = [name for name in SAMPLES if not OPERATIONS.get(sample_event(name)["routeKey"])]
PATH_ROUTES = [name for name in SAMPLES if sample_event(name).get("pathParameters")]


def test_the_samples_are_every_operation() -> None:
    """Given events/, template.yaml and docs/openapi.json
    When the samples' routes are listed
    Then each HTTP route has exactly one sample (so every route is tried), and every operation of the document is one
    of them."""
    routes = sorted(sample_event(name)["routeKey"] for name in SAMPLES)
    assert routes == sorted(HANDLERS)
    assert set(OPERATIONS) <= set(routes)
    assert BODY_ROUTES and BODYLESS_ROUTES and PATH_ROUTES


@pytest.fixture
def send(tables: dict[str, str], lambda_context: Any, load_handler: Callable[..., ModuleType]) -> Any:
    """`send(sample, change)`: the sample's handler answers the sample event after `change(event)`."""

    def call(name: str, change: Callable[[dict[str, Any]], None] = lambda event: None) -> Reply:
        event = sample_event(name)
        change(event)
        area, module = HANDLERS[event["routeKey"]]
        return Reply(load_handler(area, module).lambda_handler(event, lambda_context))

    return call


@pytest.fixture
def aws_calls(tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every AWS API call made while the test runs, by operation name, but the rate limiter's: it counts the caller
    on the route's template ("GET /api/events/{eventId}"), never on the ids a request carries."""
    import botocore.client

    made: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if api_params.get("TableName") != tables["RateLimitsTable"]:
            made.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    yield made


def in_error_shape(reply: Reply) -> bool:
    body = reply.body
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and set(body["error"]) == {"code", "message", "details"}
        and reply.raw["headers"].get("Content-Type") == "application/json"
    )


def refused(replies: dict[str, Reply], status: int, code: str) -> dict[str, Reply]:
    """The replies that are not `status` `code` in the error shape (empty when all are)."""
    return {
        name: reply
        for name, reply in replies.items()
        if (reply.status, reply.code) != (status, code) or not in_error_shape(reply)
    }


def body_of(text: str | bytes, content_type: str | None = "application/json") -> Callable[[dict[str, Any]], None]:
    """A change that replaces the event's body (bytes travel base64-encoded, as API Gateway sends binary)."""

    def change(event: dict[str, Any]) -> None:
        if content_type is None:
            event["headers"].pop("content-type", None)
        else:
            event["headers"]["content-type"] = content_type
        if isinstance(text, bytes):
            event["body"], event["isBase64Encoded"] = base64.b64encode(text).decode(), True
        else:
            event["body"], event["isBase64Encoded"] = text, False

    return change


# ------------------------------------------------------------------------------------------------ bodies


def test_a_body_that_is_not_utf8_is_400_invalid_json(send: Any) -> None:
    """Given every route that reads a body
    When the body is not UTF-8 (Latin-1 bytes, a stray 0xFF) or not even base64 where it claims to be
    Then 400 invalid_json in the error shape."""
    bodies = {"latin-1": '{"reason": "Café"}'.encode("latin-1"), "0xff": b'\xff\xfe{"a": 1}'}
    replies = {f"{name} {kind}": send(name, body_of(raw)) for name in BODY_ROUTES for kind, raw in bodies.items()}

    def not_base64(event: dict[str, Any]) -> None:
        event["body"], event["isBase64Encoded"] = "%%% not base64 %%%", True

    replies.update({f"{name} not-base64": send(name, not_base64) for name in BODY_ROUTES})
    assert refused(replies, 400, "invalid_json") == {}


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/jsonp",
    ],
)
def test_a_body_in_another_media_type_is_415(send: Any, content_type: str) -> None:
    """Given every route that reads a body
    When its sample's body arrives as `content_type`
    Then 415 unsupported_media_type in the error shape, naming application/json."""
    replies = {name: send(name, body_of(sample_event(name).get("body") or "{}", content_type)) for name in BODY_ROUTES}
    assert refused(replies, 415, "unsupported_media_type") == {}
    assert all(reply.body["error"]["details"]["accepted"] == ["application/json"] for reply in replies.values())


def test_json_with_or_without_its_content_type_is_read(send: Any) -> None:
    """Given the sample create-event body When sent as application/json with a charset, or without a type
    Then the event is created both times (the guard lets JSON through)."""
    body = sample_event("events/create_event.json")["body"]
    assert send("events/create_event.json", body_of(body, "application/json; charset=UTF-8")).status == 201
    assert send("events/create_event.json", body_of(body, None)).status == 201


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_json_nested_deeper_than_32_levels_is_400(send: Any, depth: int) -> None:
    """Given every route that reads a body
    When the body nests `depth` arrays (or objects inside a field) - past DynamoDB's 32 levels and, at 1,000 and
    beyond, past the parser's recursion limit
    Then 400 invalid_json saying how deep is too deep."""
    arrays = "[" * depth + "]" * depth
    objects = '{"reason": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    replies = {
        f"{name} {kind}": send(name, body_of(text))
        for name in BODY_ROUTES
        for kind, text in {"arrays": arrays, "objects": objects}.items()
    }
    assert refused(replies, 400, "invalid_json") == {}
    assert {reply.body["error"]["details"]["reason"] for reply in replies.values()} == {"nested deeper than 32 levels"}


@pytest.mark.parametrize(
    "literal",
    ["1" + "0" * 38, "-" + "9" * 39, "1" * 4_301, "7" * 100_000, "NaN", "Infinity", "-Infinity", '"\\ud800"'],
)
def test_numbers_and_strings_no_store_can_hold_are_400(send: Any, literal: str) -> None:
    """Given every route that reads a body
    When a field holds an integer longer than DynamoDB's 38 digits (or past Python's 4,300-digit limit), NaN or
    Infinity (not JSON), or an unpaired surrogate escape (not Unicode)
    Then 400 invalid_json."""
    text = f'{{"max_participants": {literal}, "reason": {literal}, "trades": [{literal}]}}'
    replies = {name: send(name, body_of(text)) for name in BODY_ROUTES}
    assert refused(replies, 400, "invalid_json") == {}


def test_a_body_at_the_bounds_is_read(arena: Arena) -> None:
    """Given a create-event body nested 32 levels deep in its description's place and a 38-digit integer
    When posted Then the answer is the model's 422 (the guard let it through), not a 400."""
    nested: Any = "x"
    for _ in range(31):
        nested = [nested]
    reply = arena.create_event(description=nested, max_participants=10**37)
    assert (reply.status, reply.code) == (422, "validation_failed"), reply


def test_a_route_without_a_body_ignores_one(send: Any) -> None:
    """Given every route that reads no body
    When it is sent a hostile one (not UTF-8, XML, deeply nested JSON, a 5,000-digit integer)
    Then it answers exactly as it does without a body."""
    hostile = {
        "binary": body_of(b"\xff\xfe\x00"),
        "xml": body_of("<event/>", "application/xml"),
        "deep": body_of("[" * 5_000 + "]" * 5_000),
        "digits": body_of("1" * 5_000),
    }
    different = {}
    for name in BODYLESS_ROUTES:
        plain = send(name)
        for kind, change in hostile.items():
            reply = send(name, change)
            if (reply.status, reply.body) != (plain.status, plain.body) or reply.status >= 500:
                different[f"{name} {kind}"] = (plain, reply)
    assert different == {}


# ------------------------------------------------------------------------------------------------ path ids


def _path_ids(**values: str) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        for key in event["pathParameters"]:
            if key in values:
                event["pathParameters"][key] = values[key]
        path = event["routeKey"].split(" ", 1)[1]
        for key, value in event["pathParameters"].items():
            path = path.replace("{" + key + "}", value)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path

    return change


@pytest.mark.parametrize(
    "too_long",
    ["x" * (MAX_ID_BYTES + 1), "é" * (MAX_ID_BYTES // 2 + 1), "01jbsampleevent" * 200, "u" * 70_000],
    ids=["bound+1", "multibyte", "3000", "70000"],
)
def test_a_path_id_past_the_bound_is_404_and_never_reaches_dynamodb(
    send: Any, aws_calls: list[str], too_long: str
) -> None:
    """Given every route with ids in its path (event ids, user ids, prize ids, payout ids)
    When any one of them is longer than 400 bytes of UTF-8 (DynamoDB keys stop at 1,024 and 2,048)
    Then 404 not_found in the error shape, and not one AWS call was made."""
    replies = {
        f"{name} {key}": send(name, _path_ids(**{key: too_long}))
        for name in PATH_ROUTES
        for key in sample_event(name)["pathParameters"]
    }
    assert len(replies) >= 18
    assert refused(replies, 404, "not_found") == {}
    assert aws_calls == []


def test_a_percent_encoded_path_id_is_bounded_as_the_handler_receives_it(send: Any, aws_calls: list[str]) -> None:
    """Given GET /api/events/{eventId}, whose handler gets the id from the raw path (still percent-encoded)
    When the id is 150 characters, each sent as %XX (450 characters in the path)
    Then 404 not_found before any lookup."""
    encoded = "%41" * 150

    def change(event: dict[str, Any]) -> None:
        event["pathParameters"]["eventId"] = "A" * 150
        event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/events/{encoded}"

    reply = send("events/get_event.json", change)
    assert (reply.status, reply.code) == (404, "not_found") and in_error_shape(reply)
    assert aws_calls == []


def test_a_path_id_at_the_bound_is_looked_up(send: Any) -> None:
    """Given every route with ids in its path When each id is exactly 400 bytes
    Then the route answers as for any unknown id (a 4xx of its own, the lookup made), never a 5xx."""
    at_bound = "e" * MAX_ID_BYTES
    replies = {
        name: send(name, _path_ids(**dict.fromkeys(sample_event(name)["pathParameters"], at_bound)))
        for name in PATH_ROUTES
    }
    assert {name: reply for name, reply in replies.items() if not (400 <= reply.status < 500)} == {}
    assert all(in_error_shape(reply) for reply in replies.values())


# ------------------------------------------------------------------------------------------------ cursors


def _cursor(state: Any) -> str:
    """A cursor of this state, the way the API encodes them (a str is taken as the JSON itself)."""
    text = state if isinstance(state, str) else json.dumps(state)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _key(**values: Any) -> dict[str, Any]:
    return {"k": {name: {"S": value} for name, value in values.items()}}


def _query(cursor: str, **more: str) -> Callable[[dict[str, Any]], None]:
    def change(event: dict[str, Any]) -> None:
        query = {**(event.get("queryStringParameters") or {}), **more, "cursor": cursor}
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())

    return change


LONG = "9" * 1_100  # past DynamoDB's 1,024-byte sort key


def test_a_forged_events_cursor_is_400(send: Any) -> None:
    """Given the events catalogue (GET /api/events)
    When the cursor decodes but points into another index partition, past a key's size, or misses an attribute
    Then 400 invalid_cursor, never DynamoDB's error."""
    forged = {
        "other partition": _key(event_id="e1", catalog="USER#ann", start_key="2026-12-01#e1"),
        "oversized": _key(event_id="e1", catalog="EVENT", start_key=LONG),
        "oversized id": _key(event_id="e" * 1_100, catalog="EVENT", start_key="2026-12-01#e1"),
        "empty": _key(event_id="", catalog="EVENT", start_key="2026-12-01#e1"),
        "missing": _key(catalog="EVENT", start_key="2026-12-01#e1"),
        "deep": '{"k": ' + "[" * 700 + "]" * 700 + "}",  # as deep as the cursor's 2,048 characters allow
    }
    replies = {kind: send("events/list_events.json", _query(_cursor(state))) for kind, state in forged.items()}
    assert refused(replies, 400, "invalid_cursor") == {}


def test_a_forged_points_cursor_is_400(send: Any) -> None:
    """Given my points history (GET /api/users/me/points as trader-1)
    When the cursor is another account's, not at an entry line, or past a key's size
    Then 400 invalid_cursor."""
    from arena.domain import ledger as rules

    mine, theirs = rules.user_account("trader-1"), rules.user_account("ann")
    forged = {
        "theirs": _key(account=theirs, entry="E#2026-12-01T12:00:00.000Z#p1"),
        "posting": _key(account=mine, entry="POSTING#p1"),
        "oversized": _key(account=mine, entry="E#" + LONG),
        "number": {"k": {"account": {"N": "1"}, "entry": {"S": "E#1"}}},
    }
    replies = {kind: send("ledger/get_my_points.json", _query(_cursor(state))) for kind, state in forged.items()}
    assert refused(replies, 400, "invalid_cursor") == {}


def test_a_forged_claims_cursor_is_400(send: Any) -> None:
    """Given my claim history (as ann) and the review queue (as an admin)
    When a cursor points into someone else's history, the queue, or past a key's size
    Then 400 invalid_cursor on both."""
    forged = {
        "bob's history": _key(pk="HISTORY#bob", sk="2026-12-01T12:00:00.000Z#x"),
        "the queue": _key(pk="REVIEW", sk="2026-12-01T12:00:00.000Z#x"),
        "oversized": _key(pk="HISTORY#ann", sk=LONG),
    }
    replies = {
        f"history {kind}": send("claims/get_claim_history.json", _query(_cursor(state)))
        for kind, state in forged.items()
    }
    replies["queue from a history"] = send("claims/list_claim_reviews.json", _query(_cursor(forged["bob's history"])))
    replies["queue oversized"] = send("claims/list_claim_reviews.json", _query(_cursor(_key(pk="REVIEW", sk=LONG))))
    assert refused(replies, 400, "invalid_cursor") == {}


def test_a_forged_leaderboard_cursor_is_400(arena: Arena) -> None:
    """Given an event with a participant
    When its board is read with a cursor of another board, or a generation or offset no board has (negative,
    a boolean, a thousand digits)
    Then 400 invalid_cursor."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "ann")
    forged = {
        "another board": {"e": "01jbotherevent00000000000", "g": 0, "o": 0},
        "negative": {"e": event_id, "g": 0, "o": -1},
        "boolean": {"e": event_id, "g": True, "o": 0},
        "huge generation": {"e": event_id, "g": 10**1_000, "o": 0},
        "huge offset": {"e": event_id, "g": 0, "o": 10**1_000},
        "text": {"e": event_id, "g": "0", "o": 0},
    }
    replies = {kind: arena.leaderboard(event_id, {"cursor": _cursor(state)}) for kind, state in forged.items()}
    assert refused(replies, 400, "invalid_cursor") == {}


# ------------------------------------------------------------------------------------------------ WebSocket


def _message(load_handler: Callable[..., ModuleType], lambda_context: Any, route: str, body: str) -> dict[str, Any]:
    event = sample_event(f"realtime/{route}.json")
    event["body"] = body
    reply = load_handler("realtime", "websocket_api").lambda_handler(event, lambda_context)
    return {"status": reply["statusCode"], **json.loads(reply["body"])}


def test_an_announcement_for_an_id_past_the_bound_is_400_before_any_lookup(
    tables: dict[str, str], lambda_context: Any, load_handler: Callable[..., ModuleType], aws_calls: list[str]
) -> None:
    """Given the WebSocket announce action
    When its event_id is longer than the id bound (or not text)
    Then 400 invalid_announcement, and not one AWS call (no connection or event lookup)."""
    answers = [
        _message(
            load_handler, lambda_context, "announce", json.dumps({"action": "announce", "event_id": bad, "text": "hi"})
        )
        for bad in ("x" * (MAX_ID_BYTES + 1), "x" * 5_000, 7, ["e1"])
    ]
    assert [(a["status"], a["error"]["code"]) for a in answers] == [(400, "invalid_announcement")] * 4
    assert aws_calls == []


@pytest.mark.parametrize(
    "body", ["[" * 1_000 + "]" * 1_000, '{"action": "ping", "n": ' + "1" * 5_000 + "}", '{"action": NaN}']
)
def test_a_websocket_message_that_no_reader_should_parse_is_400(
    tables: dict[str, str], lambda_context: Any, load_handler: Callable[..., ModuleType], body: str
) -> None:
    """Given the WebSocket routes When a message nests 1,000 levels, holds a 5,000-digit integer or NaN
    Then 400 invalid_json, as for any message that is not JSON."""
    for route in ("default", "announce", "subscribe"):
        answer = _message(load_handler, lambda_context, route, body)
        assert (answer["status"], answer["error"]["code"]) == (400, "invalid_json"), (route, answer)
