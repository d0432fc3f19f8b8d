"""local.apigw: HTTP API payload 2.0 events as AWS builds them, route selection, proxy responses, Lambda context."""

from __future__ import annotations

import base64
import json
import time

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from local.apigw import (
    MalformedLambdaResponse,
    build_http_event,
    gateway_response,
    stringify_claim,
    stringify_claims,
    to_http_response,
)
from local.route_matching import RouteTable, match_path
from local.runtime import LambdaContext
from local.template import HttpRoute

CLAIMS = {
    "sub": "user-1",
    "cognito:groups": ["admin", "user"],
    "exp": 1700000000,
    "iat": 1699996400,
    "email_verified": True,
    "token_use": "id",
}


# ---------------------------------------------------------------------------------------------- events


def test_event_has_the_payload_2_0_shape() -> None:
    """Given an authorised POST with a JSON body, duplicate headers, duplicate query parameters and cookies
    When the HTTP event is built
    Then it is what API Gateway sends (payload format 2.0)."""
    event = build_http_event(
        "post",
        "/api/events/e%201/join?x=1&x=2&y=",
        route_key="POST /api/events/{eventId}/join",
        headers=[
            ("Content-Type", "application/json"),
            ("X-Multi", "a"),
            ("x-multi", "b"),
            ("User-Agent", "pytest"),
            ("Host", "127.0.0.1:3000"),
            ("Cookie", "a=1; b=2"),
        ],
        body='{"k": "v"}',
        path_parameters={"eventId": "e 1"},
        claims=CLAIMS,
        source_ip="10.1.2.3",
        now=1700000000.123,
    )

    # Then
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /api/events/{eventId}/join"
    assert event["rawPath"] == "/api/events/e%201/join"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["cookies"] == ["a=1", "b=2"]
    assert event["headers"]["x-multi"] == "a,b"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["pathParameters"] == {"eventId": "e 1"}
    assert event["body"] == '{"k": "v"}'
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/api/events/e%201/join",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.1.2.3",
        "userAgent": "pytest",
    }
    assert context["routeKey"] == "POST /api/events/{eventId}/join"
    assert context["stage"] == "$default"
    assert context["accountId"] == "123456789012"
    assert context["domainName"] == "127.0.0.1:3000"
    assert context["timeEpoch"] == 1700000000123
    assert context["time"] == "14/Nov/2023:22:13:20 +0000"
    assert len(context["requestId"]) == 16


def test_jwt_claims_are_strings_as_the_authorizer_passes_them() -> None:
    """Given a token's claims with an array, numbers and a boolean
    When the HTTP event is built
    Then every claim is a string; the groups array is "[admin user]"; an ID token has no scopes."""
    event = build_http_event("GET", "/api/events", claims=CLAIMS)

    # Then
    jwt = event["requestContext"]["authorizer"]["jwt"]
    assert jwt["claims"] == {
        "sub": "user-1",
        "cognito:groups": "[admin user]",
        "exp": "1700000000",
        "iat": "1699996400",
        "email_verified": "true",
        "token_use": "id",
    }
    assert jwt["scopes"] is None  # an ID token has no scope claim


def test_scopes_come_from_the_scope_claim() -> None:
    """Given claims with a space-separated scope claim
    When the HTTP event is built
    Then the authorizer's scopes are that list."""
    event = build_http_event("POST", "/api/trades", claims={"sub": "feed", "scope": "arena/trades.write other"})
    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] == ["arena/trades.write", "other"]


def test_claim_rendering_follows_go_formatting() -> None:
    """Given claims of lists, maps, numbers and booleans
    When they are rendered as strings
    Then they follow Go's formatting, as API Gateway's does."""
    assert stringify_claim(["a"]) == "[a]"
    assert stringify_claim([]) == "[]"
    assert stringify_claim({"b": 2, "a": [1, 2]}) == "map[a:[1 2] b:2]"
    assert stringify_claim(1.5) == "1.5"
    assert stringify_claim(2.0) == "2"
    assert stringify_claims({"x": False}) == {"x": "false"}


def test_optional_parts_are_absent_when_empty() -> None:
    """Given a bare GET on a public route
    When the HTTP event is built
    Then there is no query map, no path parameters, no cookies, no body and no authorizer."""
    event = build_http_event("GET", "/api/events")

    # Then
    for key in ("queryStringParameters", "pathParameters", "cookies", "body"):
        assert key not in event
    assert event["rawQueryString"] == ""
    assert event["isBase64Encoded"] is False
    assert "authorizer" not in event["requestContext"]


def test_binary_bodies_are_base64_encoded() -> None:
    """Given a body that is not text by its content type
    When the HTTP event is built
    Then it is base64-encoded and flagged."""
    event = build_http_event("POST", "/upload", headers={"content-type": "application/octet-stream"}, body=b"\x00\xff")

    # Then
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\x00\xff"


def test_json_bodies_and_content_types_with_parameters_stay_text() -> None:
    """Given a JSON body with a charset parameter, and a dict body
    When the HTTP events are built
    Then the bodies stay text, the dict sent as JSON with a JSON content type."""
    event = build_http_event("POST", "/x", headers={"Content-Type": "application/json; charset=utf-8"}, body="{}")
    assert (event["body"], event["isBase64Encoded"]) == ("{}", False)
    event = build_http_event("POST", "/x", body={"a": 1})  # a dict is sent as JSON
    assert json.loads(event["body"]) == {"a": 1}
    assert event["headers"]["content-type"] == "application/json"


def test_powertools_reads_the_event() -> None:
    """Given an event as the local gateway builds it
    When Powertools' data class reads it
    Then it finds every part where the handlers will look for it"""
    raw = build_http_event(
        "PATCH",
        "/api/events/e1?limit=5",
        route_key="PATCH /api/events/{eventId}",
        headers={"content-type": "application/json", "if-none-match": '"v1"'},
        body={"name": "Spring cup"},
        path_parameters={"eventId": "e1"},
        claims=CLAIMS,
    )

    # When
    event = APIGatewayProxyEventV2(raw)

    # Then
    assert event.raw_path == "/api/events/e1"
    assert event.request_context.http.method == "PATCH"
    assert event.path_parameters == {"eventId": "e1"}
    assert event.query_string_parameters == {"limit": "5"}
    assert event.json_body == {"name": "Spring cup"}
    assert event.headers["if-none-match"] == '"v1"'
    assert event.request_context.authorizer.jwt_claim["cognito:groups"] == "[admin user]"


# ---------------------------------------------------------------------------------------------- routes


def test_match_path_extracts_decoded_parameters() -> None:
    """Given route paths with variables and a greedy proxy
    When request paths are matched against them
    Then matching paths give their decoded parameters and the others none."""
    assert match_path("/api/events/{eventId}", "/api/events/e%2F1") == {"eventId": "e/1"}
    assert match_path("/api/events/{eventId}", "/api/events") is None
    assert match_path("/api/events/{eventId}", "/api/events/e1/join") is None
    assert match_path("/api/events/{eventId}", "/api/events/") is None
    assert match_path("/files/{proxy+}", "/files/a/b/c") == {"proxy": "a/b/c"}
    assert match_path("/files/{proxy+}", "/files") is None
    assert match_path("/", "/") == {}


def test_route_table_prefers_the_most_specific_route() -> None:
    """Given overlapping routes
    When paths are matched
    Then literal beats variable beats greedy, and an exact method beats ANY."""
    table = RouteTable(
        [
            HttpRoute("GET", "/api/events/{eventId}", "Get", True),
            HttpRoute("GET", "/api/events/mine", "Mine", True),
            HttpRoute("ANY", "/api/events/mine", "AnyMine", True),
            HttpRoute("ANY", "/api/{proxy+}", "Proxy", True),
        ]
    )

    # When / Then
    assert table.match("GET", "/api/events/mine").route.function_id == "Mine"
    assert table.match("POST", "/api/events/mine").route.function_id == "AnyMine"
    match = table.match("GET", "/api/events/e1")
    assert (match.route.function_id, match.path_parameters, match.route_key) == (
        "Get",
        {"eventId": "e1"},
        "GET /api/events/{eventId}",
    )
    assert table.match("DELETE", "/api/events/e1").route.function_id == "Proxy"
    assert table.match("GET", "/other") is None


def test_default_route_catches_everything_else() -> None:
    """Given a route table with one route and a $default route
    When a path no route matches is requested
    Then the $default route takes it."""
    table = RouteTable([HttpRoute("GET", "/a", "A", False), HttpRoute("ANY", "$default", "Fallback", False)])
    assert table.match("GET", "/a").route.function_id == "A"
    match = table.match("POST", "/anything/else")
    assert (match.route.function_id, match.route_key) == ("Fallback", "$default")


def test_methods_are_matched_case_sensitively() -> None:
    """Given a GET route and an ANY route When "get" or "PROPFIND" arrives Then only ANY takes them (RFC 9110)."""
    table = RouteTable([HttpRoute("GET", "/a", "A", False), HttpRoute("ANY", "/b", "B", False)])
    assert table.match("get", "/a") is None
    assert table.match("PROPFIND", "/a") is None
    assert table.match("get", "/b").route.function_id == "B"


# ---------------------------------------------------------------------------------------------- responses


def test_proxy_response_becomes_the_http_response() -> None:
    """Given a full proxy response with headers, cookies and a base64 body
    When it becomes the HTTP response
    Then status, headers, cookies and the decoded body are sent."""
    response = to_http_response(
        {
            "statusCode": 201,
            "headers": {"content-type": "image/png", "x-count": 3},
            "cookies": ["session=abc; HttpOnly"],
            "body": base64.b64encode(b"\x89PNG").decode(),
            "isBase64Encoded": True,
        }
    )

    # Then
    assert response.status == 201
    assert response.header("content-type") == "image/png"
    assert response.header("x-count") == "3"
    assert ("set-cookie", "session=abc; HttpOnly") in response.headers
    assert response.body == b"\x89PNG"


def test_a_result_without_status_code_is_a_200_json_body() -> None:
    """Given handlers returning a bare dict, a string, or only a status code
    When the results become HTTP responses
    Then API Gateway's inference applies: 200 application/json, the text as is, an empty body."""
    # Given handlers returning a bare dict or a string; Then API Gateway infers 200 application/json
    response = to_http_response({"message": "hi"})
    assert (response.status, response.header("content-type"), json.loads(response.body)) == (
        200,
        "application/json",
        {"message": "hi"},
    )
    assert to_http_response("plain").body == b"plain"
    assert to_http_response({"statusCode": 204}).body == b""


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": "abc"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
        {"statusCode": 99},
    ],
)
def test_malformed_proxy_responses_are_rejected(result: dict) -> None:
    """Given a malformed proxy response
    When it becomes the HTTP response
    Then MalformedLambdaResponse is raised."""
    with pytest.raises(MalformedLambdaResponse):
        to_http_response(result)


def test_gateway_responses_carry_api_gateway_messages() -> None:
    """Given a 401 gateway response
    When it is built
    Then its body is API Gateway's {"message":"Unauthorized"}."""
    response = gateway_response(401, "Unauthorized")
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')


# ---------------------------------------------------------------------------------------------- context


def test_lambda_context_looks_like_the_runtime_one() -> None:
    """Given a context for a function with a 2 s timeout
    When it is read over time
    Then it names the function as Lambda would, and its remaining time runs down."""
    context = LambdaContext("GetEventFunction", memory_limit_in_mb=512, timeout_seconds=2)

    # Then
    assert context.invoked_function_arn == "arn:aws:lambda:us-east-1:123456789012:function:GetEventFunction"
    assert (context.function_version, context.memory_limit_in_mb) == ("$LATEST", 512)
    assert context.log_group_name == "/aws/lambda/GetEventFunction"
    assert context.aws_request_id != LambdaContext("GetEventFunction").aws_request_id
    first = context.get_remaining_time_in_millis()
    assert 1500 < first <= 2000
    time.sleep(0.02)
    assert context.get_remaining_time_in_millis() < first
