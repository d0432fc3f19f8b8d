"""local.websocket_api and local.eventbridge: a test-only template's WebSocket API and EventBridge rule, run by
LocalStack and driven with real WebSocket clients and boto3's `apigatewaymanagementapi` client.

The handlers are written to a temporary folder and record what they receive as JSON lines in RECORD_DIR.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import websockets
from botocore.exceptions import ClientError
from websockets.asyncio.client import connect

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
    Environment:
      Variables:
        RECORD_DIR: !Ref RecordDir
Resources:
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: test-bus}
  Sockets:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: sockets, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  SocketsStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Sockets, StageName: !Ref Stage, AutoDeploy: true}
  GateFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fns/, Handler: ws.gate}
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fns/, Handler: ws.echo}
  RecordFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fns/
      Handler: ws.record
      Events:
        Bus:
          Type: EventBridgeRule
          Properties: {EventBusName: !Ref Bus, Pattern: {source: [tests], detail-type: [Wanted]}}
  GateIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Sockets
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${GateFunction.Arn}/invocations
  EchoIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Sockets
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${EchoFunction.Arn}/invocations
  RecordIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Sockets
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${RecordFn.Arn}/invocations
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Sockets, RouteKey: $connect, Target: !Sub "integrations/${GateIntegration}"}
  DisconnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Sockets, RouteKey: $disconnect, Target: !Sub "integrations/${RecordIntegration}"}
  EchoRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Sockets
      RouteKey: echo
      RouteResponseSelectionExpression: $default
      Target: !Sub "integrations/${EchoIntegration}"
  QuietRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Sockets, RouteKey: quiet, Target: !Sub "integrations/${EchoIntegration}"}
  DefaultRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Sockets
      RouteKey: $default
      RouteResponseSelectionExpression: $default
      Target: !Sub "integrations/${RecordIntegration}"
"""

HANDLERS = """
import json, os, uuid


def _record(event):
    path = os.path.join(os.environ["RECORD_DIR"], uuid.uuid4().hex)
    with open(path + ".tmp", "w") as handle:
        json.dump(event, handle)
    os.replace(path + ".tmp", path + ".json")  # whole or not at all for the reader


def gate(event, context):
    _record(event)
    token = (event.get("queryStringParameters") or {}).get("token")
    return {"statusCode": 200} if token == "let-me-in" else {"statusCode": 401, "body": "no"}


def echo(event, context):
    return {"statusCode": 200, "body": json.dumps({"echo": json.loads(event["body"]),
                                                   "route": event["requestContext"]["routeKey"]})}


def record(event, context):
    _record(event)
    return {"statusCode": 200, "body": json.dumps({"recorded": event.get("requestContext", {}).get("routeKey")})}
"""


@pytest.fixture
def stack(tmp_path: Path, aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """Given the test template running locally, its WebSocket API on a free port, idle connections closed after
    a second."""
    (tmp_path / "fns").mkdir()
    (tmp_path / "fns" / "ws.py").write_text(textwrap.dedent(HANDLERS))
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("WS_IDLE_TIMEOUT_SECONDS", "1")
    monkeypatch.delenv("WS_PORT", raising=False)
    running = LocalStack(port=0, template_path=tmp_path / "template.yaml", parameters={"RecordDir": str(records)})
    running.start()
    yield running
    running.stop()


def recorded(stack: LocalStack) -> Callable[[str], list[dict[str, Any]]]:
    folder = Path(stack.parameters["RecordDir"])

    def of(route_key: str) -> list[dict[str, Any]]:
        events = [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)]
        return [
            e
            for e in events
            if e.get("requestContext", {}).get("routeKey") == route_key or e.get("source") == route_key
        ]

    return of


def service(stack: LocalStack) -> Any:
    return next(s for s in stack.services if s.name == "websocket-api")


def management(stack: LocalStack) -> Any:
    return boto3.client("apigatewaymanagementapi", endpoint_url=service(stack).management_url, region_name="us-east-1")


def test_health_names_the_websocket_url(stack: LocalStack) -> None:
    """Given a running local stack
    When its health route is read
    Then it names the WebSocket URL and no connections."""
    import urllib.request

    with urllib.request.urlopen(f"{stack.base_url}/local/health") as answer:
        health = json.loads(answer.read())
    assert health["websocket"]["url"] == service(stack).url and health["websocket"]["connections"] == 0


def test_connect_refused_by_the_connect_function_fails_the_handshake(stack: LocalStack) -> None:
    """Given a connect function that refuses a wrong token
    When a client connects with it
    Then the handshake fails with 401, and the function saw API Gateway's CONNECT event."""

    async def attempt() -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with connect(f"{service(stack).url}/?token=wrong"):
                pass
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 401
    event = recorded(stack)("$connect")[0]
    context = event["requestContext"]
    assert context["eventType"] == "CONNECT" and context["stage"] == "dev" and context["connectionId"]
    assert event["queryStringParameters"] == {"token": "wrong"}
    assert context["domainName"] == service(stack).url.removeprefix("ws://")


def test_frames_are_routed_by_action_and_route_responses_come_back(stack: LocalStack) -> None:
    """Given a connected client
    When it sends frames with an action, without a route response, not JSON, and naming a reserved key
    Then each goes to its route or $default, route responses come back, and closing is a DISCONNECT."""

    async def talk() -> list[Any]:
        async with connect(f"{service(stack).url}/?token=let-me-in") as socket:
            answers = []
            await socket.send(json.dumps({"action": "echo", "n": 1}))
            answers.append(json.loads(await socket.recv()))
            await socket.send(json.dumps({"action": "quiet"}))  # no route response: nothing comes back
            await socket.send("not json")  # $default
            answers.append(json.loads(await socket.recv()))
            await socket.send(json.dumps({"action": "$connect"}))  # reserved keys are not selectable
            answers.append(json.loads(await socket.recv()))
            return answers

    assert asyncio.run(talk()) == [
        {"echo": {"action": "echo", "n": 1}, "route": "echo"},
        {"recorded": "$default"},
        {"recorded": "$default"},
    ]
    default = recorded(stack)("$default")[0]
    assert default["body"] == "not json" and default["requestContext"]["eventType"] == "MESSAGE"
    time.sleep(0.3)
    disconnect = recorded(stack)("$disconnect")[0]["requestContext"]
    assert disconnect["eventType"] == "DISCONNECT" and disconnect["disconnectStatusCode"] == 1000


def test_connections_api_posts_describes_deletes_and_answers_410_when_gone(stack: LocalStack) -> None:
    """Given a connected client
    When the @connections API posts to it, describes it and deletes it, then is called again
    Then the client gets the post, the description holds its identity, and after the delete the API answers 410."""
    api = management(stack)

    async def scenario() -> tuple[str, str, Any]:
        async with connect(f"{service(stack).url}/?token=let-me-in") as socket:
            connection_id = recorded(stack)("$connect")[-1]["requestContext"]["connectionId"]
            await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=b'{"hello":"you"}')
            pushed = await socket.recv()
            described = await asyncio.to_thread(api.get_connection, ConnectionId=connection_id)
            await asyncio.to_thread(api.delete_connection, ConnectionId=connection_id)
            with pytest.raises(websockets.ConnectionClosed):
                await socket.recv()
            return connection_id, pushed, described

    connection_id, pushed, described = asyncio.run(scenario())
    assert pushed == '{"hello":"you"}'
    assert described["Identity"]["SourceIp"] == "127.0.0.1" and "ConnectedAt" in described
    for call in (api.post_to_connection, api.get_connection):
        kwargs = {"ConnectionId": connection_id, **({"Data": b"x"} if call == api.post_to_connection else {})}
        with pytest.raises(ClientError) as gone:
            call(**kwargs)
        assert gone.value.response["Error"]["Code"] == "GoneException"
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410


def test_an_idle_connection_is_closed_as_api_gateway_would(stack: LocalStack) -> None:
    """Given a connected client that sends nothing
    When it waits
    Then it is closed with 1001 within a few seconds."""

    async def idle() -> int | None:
        async with connect(f"{service(stack).url}/?token=let-me-in") as socket:
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), 10)
            assert time.monotonic() - started < 5
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert asyncio.run(idle()) == 1001


def test_eventbridge_rules_reach_their_function(stack: LocalStack) -> None:
    """Given an EventBridge rule of the template
    When a wanted and an unwanted event are put on the bus
    Then only the wanted one reaches its function."""
    events = stack.client("events")
    events.put_events(
        Entries=[
            {"Source": "tests", "DetailType": "Wanted", "Detail": json.dumps({"n": 1}), "EventBusName": "test-bus"},
            {"Source": "tests", "DetailType": "Unwanted", "Detail": "{}", "EventBusName": "test-bus"},
        ]
    )
    deadline = time.monotonic() + 10
    while not recorded(stack)("tests") and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    delivered = recorded(stack)("tests")
    assert [(e["detail-type"], e["detail"]) for e in delivered] == [("Wanted", {"n": 1})]


def test_the_one_line_client_subscribes_and_prints_every_frame(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given the one-line client watching a topic
    When a frame is posted to it and its connection deleted
    Then it sent the subscribe frame, printed each frame on its own line, and exited 0."""
    from local import watch

    api = management(stack)

    async def scenario() -> int:
        task = asyncio.create_task(watch.watch(f"{service(stack).url}/?token=let-me-in", ["leaderboard:ev1"]))
        deadline = time.monotonic() + 5
        while not recorded(stack)("$default") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        connection_id = recorded(stack)("$default")[0]["requestContext"]["connectionId"]
        await asyncio.to_thread(api.post_to_connection, ConnectionId=connection_id, Data=b'{"type":"leaderboard"}')
        await asyncio.sleep(0.2)
        await asyncio.to_thread(api.delete_connection, ConnectionId=connection_id)
        return await asyncio.wait_for(task, 5)

    assert asyncio.run(scenario()) == 0
    # The subscribe frame went out as the API expects it; what came back was printed line by line.
    assert json.loads(recorded(stack)("$default")[0]["body"]) == {"action": "subscribe", "topic": "leaderboard:ev1"}
    assert capsys.readouterr().out.splitlines() == ['{"recorded": "$default"}', '{"type":"leaderboard"}']


def test_the_one_line_client_says_when_the_token_is_refused(
    stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    """Given a token the connect function refuses
    When the one-line client connects
    Then it exits 1 and says the handshake was refused with HTTP 401."""
    from local import watch

    assert asyncio.run(watch.watch(f"{service(stack).url}/?token=nope", ["admin"])) == 1
    assert "refused: HTTP 401" in capsys.readouterr().err
