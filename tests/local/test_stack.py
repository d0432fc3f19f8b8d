"""local.stack: a test-only template run by LocalStack, driven over real HTTP, SQS and DynamoDB streams.

The template and its handlers are written to a temporary folder, so these tests need none of functions/.
Handlers record what they receive as JSON lines in RECORD_DIR (a template parameter the test overrides).
"""

from __future__ import annotations

import http.client
import json
import socket
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from local.stack import LocalStack

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  RecordDir: {Type: String, Default: /nonexistent}
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Timeout: 10
    MemorySize: 256
    Environment:
      Variables:
        RECORD_DIR: !Ref RecordDir
        ITEMS_TABLE: !Ref ItemsTable
        WORK_QUEUE_URL: !Ref WorkQueue
        NAME_WITH_STAGE: !Sub "items-${Stage}-${AWS::Region}"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      DefaultRouteSettings: {ThrottlingBurstLimit: 100, ThrottlingRateLimit: 100}
      RouteSettings:
        "GET /limited": {ThrottlingBurstLimit: 2, ThrottlingRateLimit: 0.01}
      CorsConfiguration:
        AllowOrigins: ["*"]
        AllowHeaders: [authorization, content-type]
        AllowMethods: [GET, POST, OPTIONS]
      Auth:
        DefaultAuthorizer: Jwt
        Authorizers:
          Jwt:
            IdentitySource: $request.header.Authorization
            JwtConfiguration: {issuer: https://example.invalid, audience: [client]}
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/
      Handler: echo.handler
      Events:
        Echo: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/echo/{name}", Method: GET}}
        EchoPost: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/echo/{name}", Method: POST}}
        Open: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /open, Method: GET, Auth: {Authorizer: NONE}}}
        Limited: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /limited, Method: GET, Auth: {Authorizer: NONE}}}
        Scoped:
          Type: HttpApi
          Properties: {ApiId: !Ref Api, Path: /scoped, Method: GET, Auth: {AuthorizationScopes: [arena/trades.write]}}
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/
      Handler: broken.handler
      Events:
        Raise: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /raise, Method: GET, Auth: {Authorizer: NONE}}}
        Bad: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /malformed, Method: GET, Auth: {Authorizer: NONE}}}
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties: {VisibilityTimeout: 1}
  QueueFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/
      Handler: queue_worker.handler
      Events:
        Work:
          Type: SQS
          Properties: {Queue: !GetAtt WorkQueue.Arn, BatchSize: 10, FunctionResponseTypes: [ReportBatchItemFailures]}
  ItemsTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}]
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  StreamFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/
      Handler: stream_worker.handler
      Events:
        Items:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt ItemsTable.StreamArn
            StartingPosition: TRIM_HORIZON
            BatchSize: 10
            MaximumRetryAttempts: 3
            FunctionResponseTypes: [ReportBatchItemFailures]
"""

RECORDING = """
import json, os

def record(name, value):
    with open(os.path.join(os.environ["RECORD_DIR"], name + ".jsonl"), "a") as out:
        out.write(json.dumps(value) + "\\n")

def recorded(name):
    path = os.path.join(os.environ["RECORD_DIR"], name + ".jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as lines:
        return [json.loads(line) for line in lines]
"""

HANDLERS = {
    "echo.py": """
import json, os

def handler(event, context):
    authorizer = event["requestContext"].get("authorizer")
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json", "access-control-allow-origin": "https://not-this"},
        "cookies": ["seen=1"],
        "body": json.dumps({
            "claims": authorizer["jwt"]["claims"] if authorizer else None,
            "scopes": authorizer["jwt"]["scopes"] if authorizer else None,
            "pathParameters": event.get("pathParameters"),
            "query": event.get("queryStringParameters"),
            "routeKey": event["routeKey"],
            "body": event.get("body"),
            "function": context.function_name,
            "remaining_ms": context.get_remaining_time_in_millis(),
            "env": {name: os.environ[name] for name in ("ITEMS_TABLE", "WORK_QUEUE_URL", "NAME_WITH_STAGE")},
        }),
    }
""",
    "broken.py": """
def handler(event, context):
    if event["rawPath"] == "/raise":
        raise RuntimeError("the handler failed")
    return {"statusCode": 200, "body": {"not": "a string"}}
""",
    "queue_worker.py": RECORDING
    + """
def handler(event, context):
    failures = []
    for message in event["Records"]:
        first_time = message["body"] not in [r["body"] for r in recorded("queue")]
        record("queue", {"body": message["body"], "receive_count": message["attributes"]["ApproximateReceiveCount"]})
        if message["body"] == "fail-once" and first_time:
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}
""",
    "stream_worker.py": RECORDING
    + """
def handler(event, context):
    keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in event["Records"]]
    failed_before = any("flaky" in batch["keys"] for batch in recorded("stream"))
    record("stream", {"keys": keys})
    failures = [
        {"itemIdentifier": r["dynamodb"]["SequenceNumber"]}
        for r in event["Records"]
        if r["dynamodb"]["Keys"]["pk"]["S"] == "flaky" and not failed_before
    ]
    return {"batchItemFailures": failures}
""",
}


def _write_project(root: Path) -> Path:
    (root / "fns").mkdir(parents=True)
    for name, source in HANDLERS.items():
        (root / "fns" / name).write_text(textwrap.dedent(source))
    (root / "records").mkdir()
    path = root / "template.yaml"
    path.write_text(TEMPLATE)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Given the test template running locally (the stack sets its own fake AWS environment)."""
    root = tmp_path_factory.mktemp("project")
    local = LocalStack(port=0, template_path=_write_project(root), parameters={"RecordDir": str(root / "records")})
    local.start()
    yield local
    local.stop()


@pytest.fixture(scope="module")
def token(stack: LocalStack) -> str:
    status, _, body = call(stack, "POST", "/local/token", {"sub": "user-1", "groups": ["admin", "user"]})
    assert status == 200
    return body["token"]


def call(
    stack: LocalStack, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, parsed JSON body or raw bytes) of one real HTTP request to the stack."""
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = urllib.request.Request(stack.base_url + path, data=data, method=method, headers=headers or {})
    if data is not None and "content-type" not in {k.lower() for k in (headers or {})}:
        request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, response_headers, raw = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, response_headers, raw = error.code, error.headers, error.read()
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw
    return status, {k.lower(): v for k, v in response_headers.items()}, parsed


def wait_for(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def recorded(stack: LocalStack, name: str) -> list[dict[str, Any]]:
    path = Path(stack.parameters["RecordDir"]) / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


# ---------------------------------------------------------------------------------------------- local routes


def test_health_reports_ready_with_the_route_count(stack: LocalStack) -> None:
    """Given a running local stack
    When its health route is called
    Then it answers ok with the route count, the template, the layers, the AWS endpoint and the queues' URLs."""
    status, _, health = call(stack, "GET", "/local/health")
    assert (status, health["status"], health["routes"]) == (200, "ok", 7)
    # and what it runs: the template, the layers on the path, the local AWS endpoint and the queues' URLs
    assert health["template"] == str(stack.template_path)
    assert health["layers"] == [str(folder) for folder in stack.layer_dirs]
    assert health["aws"]["endpoint"] == stack.moto_endpoint
    assert health["aws"]["queues"] == {name: queue["url"] for name, queue in stack.queues.items()}


def test_token_route_issues_verifiable_tokens(stack: LocalStack, token: str) -> None:
    """Given a token from the stack's token route
    When it is verified and the JWKS is read
    Then it carries the subject, the groups and the stack's issuer, and the JWKS names a key."""
    claims = stack.issuer.verify(token)
    assert (claims["sub"], claims["cognito:groups"], claims["iss"]) == (
        "user-1",
        ["admin", "user"],
        stack.base_url + "/local",
    )
    status, _, jwks = call(stack, "GET", "/local/.well-known/jwks.json")
    assert status == 200 and jwks["keys"][0]["kid"]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        [],
        {"groups": ["admin"]},
        {"sub": "u", "groups": "admin"},
        {"sub": "u", "claims": []},
        {"sub": "u", "scopes": "a"},
    ],
)
def test_token_route_rejects_bad_input(stack: LocalStack, body: Any) -> None:
    """Given a malformed token request body
    When it is posted to the token route
    Then the answer is 400 BAD_REQUEST."""
    status, _, answer = call(stack, "POST", "/local/token", body)
    assert status == 400
    assert answer["error"]["code"] == "BAD_REQUEST"


# ---------------------------------------------------------------------------------------------- gateway


def test_missing_or_invalid_token_is_401(stack: LocalStack) -> None:
    """Given a protected route
    When it is called without a token or with an invalid one
    Then the answer is 401 Unauthorized, with invalid_token in WWW-Authenticate for the bad one."""
    assert call(stack, "GET", "/echo/x")[::2] == (401, {"message": "Unauthorized"})
    status, headers, body = call(stack, "GET", "/echo/x", headers={"Authorization": "Bearer nope"})
    assert (status, body) == (401, {"message": "Unauthorized"})
    assert "invalid_token" in headers["www-authenticate"]


def test_unknown_route_or_method_is_404(stack: LocalStack, token: str) -> None:
    """Given a running local stack
    When an unknown path, an unrouted method or an unknown /local/ path is called
    Then each is 404 Not Found."""
    assert call(stack, "GET", "/nowhere")[::2] == (404, {"message": "Not Found"})
    assert call(stack, "DELETE", "/echo/x", headers={"Authorization": f"Bearer {token}"})[::2] == (
        404,
        {"message": "Not Found"},
    )
    assert call(stack, "GET", "/local/unknown")[0] == 404


def test_authorised_request_reaches_the_handler_with_string_claims(stack: LocalStack, token: str) -> None:
    """Given a token for an admin
    When the echo route is called with path, query and a raw token header
    Then the handler saw API Gateway's event (claims as strings) and its environment resolved from the template."""
    status, headers, body = call(stack, "GET", "/echo/some%20one?x=1&x=2", headers={"Authorization": token})

    # Then the handler saw API Gateway's event: claims as strings, groups as "[admin user]"
    assert status == 200
    assert body["claims"]["sub"] == "user-1"
    assert body["claims"]["cognito:groups"] == "[admin user]"
    assert body["claims"]["exp"].isdigit()
    assert body["scopes"] is None
    assert body["pathParameters"] == {"name": "some one"}
    assert body["query"] == {"x": "1,2"}
    assert body["routeKey"] == "GET /echo/{name}"
    assert body["function"] == "EchoFunction"
    assert 0 < body["remaining_ms"] <= 10_000
    # ... and its environment was resolved from the template
    assert body["env"]["ITEMS_TABLE"] == stack.tables["ItemsTable"]
    assert body["env"]["WORK_QUEUE_URL"] == stack.queues["WorkQueue"]["url"]
    assert body["env"]["NAME_WITH_STAGE"] == "items-dev-us-east-1"
    assert headers["set-cookie"] == "seen=1"


def test_post_body_is_passed_through(stack: LocalStack, token: str) -> None:
    """Given an authorised POST with a JSON body
    When it reaches the echo route
    Then the handler receives the body unchanged."""
    status, _, body = call(stack, "POST", "/echo/x", {"a": 1}, headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert json.loads(body["body"]) == {"a": 1}


def test_public_route_needs_no_token_and_has_no_authorizer(stack: LocalStack) -> None:
    """Given a public route
    When it is called without a token
    Then it answers 200 and the handler sees no claims."""
    status, _, body = call(stack, "GET", "/open")
    assert status == 200
    assert body["claims"] is None


def test_route_scopes_are_enforced(stack: LocalStack, token: str) -> None:
    """Given an ID token without scopes and an access token with the route's scope
    When the scoped route is called with each
    Then the first is 403 Forbidden and the second passes with its scopes."""
    assert call(stack, "GET", "/scoped", headers={"Authorization": f"Bearer {token}"})[::2] == (
        403,
        {"message": "Forbidden"},
    )
    scoped = stack.issuer.issue(
        "feed", scopes=["arena/trades.write"], extra_claims={"aud": None, "client_id": "arena-local-trade-feed"}
    )
    status, _, body = call(stack, "GET", "/scoped", headers={"Authorization": f"Bearer {scoped}"})
    assert (status, body["scopes"]) == (200, ["arena/trades.write"])


def test_handler_errors_are_500_like_api_gateway(stack: LocalStack) -> None:
    """Given a handler that raises and one that returns a malformed response
    When their routes are called
    Then each is 500 Internal Server Error, as API Gateway answers."""
    assert call(stack, "GET", "/raise")[::2] == (500, {"message": "Internal Server Error"})
    assert call(stack, "GET", "/malformed")[::2] == (500, {"message": "Internal Server Error"})


def test_route_throttling_answers_429(stack: LocalStack) -> None:
    """Given a route with a burst of 2 and almost no refill
    When called three times
    Then the third is throttled with 429 Too Many Requests."""
    statuses = [call(stack, "GET", "/limited")[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert call(stack, "GET", "/limited")[2] == {"message": "Too Many Requests"}


def test_cors_preflight_and_response_headers(stack: LocalStack, token: str) -> None:
    """Given a browser preflight and then an actual request from an origin
    When they reach the stack
    Then API Gateway's CORS configuration answers the preflight without auth and sets the request's origin header."""
    # Given a browser preflight; Then API Gateway's CORS configuration answers it, without auth
    status, headers, _ = call(
        stack, "OPTIONS", "/echo/x", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-methods"] == "GET,POST,OPTIONS"
    assert headers["access-control-allow-headers"] == "authorization,content-type"

    # And an actual request gets the configured origin, not the handler's own CORS header
    _, headers, _ = call(stack, "GET", "/echo/x", headers={"Origin": "https://app.example", "Authorization": token})
    assert headers["access-control-allow-origin"] == "*"


# ---------------------------------------------------------------------------------------------- malformed HTTP


def raw_exchange(stack: LocalStack, request: bytes, timeout: float = 30.0) -> tuple[int, dict[str, str], Any, float]:
    """(status, headers, JSON body, seconds taken) of bytes sent as they are on a new connection (http.client
    would refuse to send most of these). The connection stays open for writing: a gateway that waited for more of
    the request would never answer, and the read times out (raises) instead of a test timing the answer."""
    parts = urlsplit(stack.base_url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as connection:
        connection.sendall(request)
        response = http.client.HTTPResponse(connection)
        response.begin()
        raw = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return response.status, headers, json.loads(raw) if raw else None, time.monotonic() - started


@pytest.mark.parametrize("length", ["-1", "-100", "abc", "5, 6", "+5", "0x10", "1e3", "٣"])
def test_a_content_length_that_is_not_one_decimal_length_is_400_at_once(
    stack: LocalStack, token: str, length: str
) -> None:
    """Given a POST whose Content-Length is negative, not a number, or two lengths
    When it reaches the gateway's socket
    Then 400 {"message":"Bad Request"} in JSON at once, the connection closed (a negative length used to read
    until the client hung up, holding a gateway worker)."""
    request = (
        f"POST /echo/x HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{}}"
    ).encode()
    status, headers, body, _ = raw_exchange(stack, request)
    assert (status, body, headers["content-type"]) == (400, {"message": "Bad Request"}, "application/json")


def test_a_chunk_size_that_is_not_hexadecimal_is_400(stack: LocalStack, token: str) -> None:
    """Given a chunked POST whose chunk size is negative When it is read Then 400 in JSON, at once."""
    request = (
        f"POST /echo/x HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer {token}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n-1\r\n{}\r\n0\r\n\r\n"
    ).encode()
    status, _, body, _ = raw_exchange(stack, request)
    assert (status, body) == (400, {"message": "Bad Request"})


def test_a_body_shorter_than_its_length_frees_the_worker(
    stack: LocalStack, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a gateway that waits half a second for a declared body
    When a client declares 100 bytes and sends 2
    Then 408 {"message":"Request Timeout"} once the wait is over, not a worker held for as long as the client."""
    from local import http_server

    monkeypatch.setattr(http_server, "BODY_READ_SECONDS", 0.5)
    request = (
        f"POST /echo/x HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{}"
    ).encode()
    status, _, body, seconds = raw_exchange(stack, request)
    assert (status, body) == (408, {"message": "Request Timeout"})
    assert seconds > 0.4  # it waited for the body first (a hang would time the read out instead)


@pytest.mark.parametrize("method", ["PROPFIND", "PURGE", "FOO", "TRACE", "CONNECT", "get"])
def test_a_method_no_route_takes_is_api_gateways_404_in_json(stack: LocalStack, token: str, method: str) -> None:
    """Given a method no route of the template takes (WebDAV, made up, lower case)
    When it is sent to a route's path and to an unknown path
    Then API Gateway's own 404 {"message":"Not Found"} as JSON, never the HTTP server's HTML 501 page."""
    for path in ("/echo/x", "/nowhere"):
        request = f"{method} {path} HTTP/1.1\r\nHost: local\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        status, headers, body, _ = raw_exchange(stack, request)
        assert (status, body, headers["content-type"]) == (404, {"message": "Not Found"}, "application/json")


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        ("GARBAGE", 400),
        ("G{E}T /echo/x HTTP/1.1", 400),
        ("GET /echo/x HTTP/one", 400),
        ("GET /echo/x HTTP/9.9", 505),
    ],
)
def test_a_request_the_server_cannot_parse_is_answered_in_json(
    stack: LocalStack, request_line: str, status: int
) -> None:
    """Given a request line that is not HTTP/1.1 (no method and path, a method that is not a token, a version that
    is not one, an unknown version) When it reaches the socket Then the answer is {"message": <reason>} as JSON,
    not the HTTP server's HTML error page."""
    answer, headers, body, _ = raw_exchange(stack, f"{request_line}\r\nHost: local\r\n\r\n".encode())
    expected = (status, {"message": HTTPStatus(status).phrase}, "application/json")
    assert (answer, body, headers["content-type"]) == expected


def test_unknown_paths_answer_as_api_gateway_does(stack: LocalStack, token: str) -> None:
    """Given paths no route matches (with or without a token, under the stack's own /local/)
    When each is called
    Then each is 404 {"message":"Not Found"} with a JSON content type, exactly API Gateway's unmatched route."""
    for path, headers in (
        ("/nowhere", {}),
        ("/echo", {"Authorization": f"Bearer {token}"}),
        ("/echo/x/y", {"Authorization": f"Bearer {token}"}),
        ("/local/unknown", {}),
    ):
        status, answer_headers, body = call(stack, "GET", path, headers=headers)
        assert (status, body, answer_headers["content-type"]) == (404, {"message": "Not Found"}, "application/json")


# ---------------------------------------------------------------------------------------------- event sources


def test_sqs_messages_are_delivered_and_failed_ones_retried(stack: LocalStack) -> None:
    """Given three messages on the template's queue, one of which the worker fails the first time
    When the poller has run
    Then every body arrived, "fail-once" twice (second receive), the others once, and nothing comes back after."""
    sqs = stack.client("sqs")
    for body in ("one", "fail-once", "two"):
        sqs.send_message(QueueUrl=stack.queues["WorkQueue"]["url"], MessageBody=body)

    # When / Then
    deliveries = wait_for(
        lambda: [r for r in recorded(stack, "queue") if r["receive_count"] == "2"] and recorded(stack, "queue")
    )
    bodies = [r["body"] for r in deliveries]
    assert sorted(bodies) == ["fail-once", "fail-once", "one", "two"]
    assert {"body": "fail-once", "receive_count": "2"} in deliveries
    time.sleep(1.2)  # past the visibility timeout: nothing comes back, the successes were deleted
    assert len(recorded(stack, "queue")) == 4


def test_stream_records_are_delivered_and_retried_from_the_failed_one(stack: LocalStack) -> None:
    """Given three items written in order, the second of which the worker fails once
    When the stream poller has delivered them
    Then they arrive in order, and the batch after the failure starts again at "flaky"."""
    dynamodb = stack.client("dynamodb")
    for key in ("first", "flaky", "last"):
        dynamodb.put_item(TableName=stack.tables["ItemsTable"], Item={"pk": {"S": key}})

    # When
    def delivered() -> list[list[str]]:
        batches = [batch["keys"] for batch in recorded(stack, "stream")]
        seen = [key for keys in batches for key in keys]
        return batches if {"first", "flaky", "last"} <= set(seen) and seen.count("flaky") == 2 else []

    batches = wait_for(delivered)

    # Then
    first_seen = list(dict.fromkeys(key for keys in batches for key in keys))
    assert first_seen == ["first", "flaky", "last"]
    failed_at = next(index for index, keys in enumerate(batches) if "flaky" in keys)
    assert batches[failed_at + 1][0] == "flaky"


def test_functions_can_be_invoked_directly(stack: LocalStack) -> None:
    """Given the echo function of the stack
    When it is invoked directly with an event
    Then it answers 200."""
    result = stack.invoke("EchoFunction", {"rawPath": "/x", "routeKey": "GET /x", "requestContext": {}})
    assert result["statusCode"] == 200
