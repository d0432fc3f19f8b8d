"""The @connections post path over real HTTP: the lean signed client against the local stack's management API
(local/connections_api.py, the emulation the local stack runs) and against a scripted server for the failures:
frames reach their connections in order, a 410 names exactly the gone connection, throttling, 5xx and a dropped
connection are retried once, anything else is not retried, and a connection is kept alive between posts."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.connections_api import Connection, ConnectionsApi


class RecordingSocket:
    """The one method of a websockets connection the management API calls to post: records each frame."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    async def send(self, text: str) -> None:
        self.frames.append(text)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        pass


@pytest.fixture
def management_api() -> Iterator[tuple[str, dict[str, RecordingSocket], ConnectionsApi]]:
    """Given the local @connections API on a free port, with three open connections (one id needing escaping)."""
    sockets = {cid: RecordingSocket() for cid in ("c-1", "c-2", "Ab+/c=")}
    api = ConnectionsApi({cid: Connection(cid, s, "127.0.0.1", "test", 0.0, 0.0) for cid, s in sockets.items()})
    loop = asyncio.new_event_loop()
    started = threading.Event()
    servers: list[asyncio.Server] = []

    async def serve() -> None:
        servers.append(await asyncio.start_server(api.session, "127.0.0.1", 0))
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()), daemon=True)
    thread.start()
    started.wait(10)
    port = servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/prod", sockets, api

    async def shut() -> None:
        servers[0].close()
        sessions = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in sessions:
            task.cancel()
        await asyncio.gather(*sessions, return_exceptions=True)

    asyncio.run_coroutine_threadsafe(shut(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


class Scripted(ThreadingHTTPServer):
    """An @connections endpoint answering from a script: each entry is a status (with API Gateway's error type
    header) or "drop" (close the socket without answering); every request it saw is kept."""

    daemon_threads = True

    def __init__(self, script: list[Any]) -> None:
        self.script = list(script)
        self.seen: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ScriptedHandler)


class ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Scripted

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.seen.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            step = self.server.script.pop(0) if self.server.script else 200
        if step == "drop":
            self.close_connection = True
            self.connection.close()
            return
        status, error = (step, None) if isinstance(step, int) else step
        payload = b"" if status < 300 else json.dumps({"message": "scripted"}).encode()
        self.send_response(status)
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def scripted() -> Iterator[Any]:
    servers: list[Scripted] = []

    def start(*script: Any) -> Scripted:
        server = Scripted(list(script))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def poster(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The adapter with settings for a function (tables named, two posting threads), no waits between retries."""
    from arena.adapters import connections
    from arena.config import settings

    for name in ("EVENTS", "PARTICIPANTS", "TRADES", "LEADERBOARD", "AUDIT", "LEDGER"):
        monkeypatch.setenv(f"{name}_TABLE", f"test-{name.lower()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("REALTIME_POST_WORKERS", "2")
    monkeypatch.setattr(connections, "THROTTLE_BACKOFF", 0.0)
    monkeypatch.setattr(connections, "TRANSIENT_BACKOFF", 0.0)

    def use(endpoint: str) -> Any:
        monkeypatch.setenv("CONNECTIONS_ENDPOINT", endpoint)
        settings.cache_clear()
        connections.client.cache_clear()
        connections._pool.cache_clear()
        return connections

    yield use
    settings.cache_clear()
    connections.client.cache_clear()
    connections._pool.cache_clear()


def test_frames_reach_their_connections_in_order_and_a_gone_one_is_named(management_api: Any, poster: Any) -> None:
    """Given the local @connections API with three open connections
    When two messages go to each of them and one to a connection that is not open
    Then each open connection received both frames in the order given, nothing failed, and only the unknown one
    is reported gone."""
    endpoint, sockets, api = management_api
    connections = poster(endpoint)
    posts = [(c, f"m{n}-{c}".encode()) for n in (1, 2) for c in sockets] + [("c-left", b"lost")]

    outcome = connections.post_many(posts)

    assert outcome.sent == 6 and outcome.failed == 0
    assert outcome.gone == ["c-left"]
    for cid, socket in sockets.items():
        assert socket.frames == [f"m1-{cid}", f"m2-{cid}"]
    assert api.posts == 6


def test_posts_are_signed_and_share_kept_alive_connections(scripted: Any, poster: Any) -> None:
    """Given an @connections endpoint that answers every post
    When twenty posts go out on two posting threads
    Then every request carries a SigV4 Authorization for execute-api, the session token and the date, its path
    names the stage and the escaped connection id, and the posts came over no more connections than threads."""
    server = scripted()
    host, port = server.server_address[:2]
    connections = poster(f"http://{host}:{port}/prod")
    peers: set[Any] = set()
    original = ScriptedHandler.do_POST

    def remember(handler: ScriptedHandler) -> None:
        peers.add(handler.client_address)
        original(handler)

    ScriptedHandler.do_POST = remember  # type: ignore[method-assign]
    try:
        outcome = connections.post_many([(f"id={n}", b"{}") for n in range(20)])
    finally:
        ScriptedHandler.do_POST = original  # type: ignore[method-assign]

    assert outcome.sent == 20
    first = server.seen[0]
    assert first["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
    assert "/eu-west-1/execute-api/aws4_request" in first["headers"]["Authorization"]
    assert first["headers"]["X-Amz-Security-Token"] == "token" and first["headers"]["X-Amz-Date"]
    assert sorted(r["path"] for r in server.seen)[0] == "/prod/@connections/id%3D0"
    assert len(peers) <= 2


@pytest.mark.parametrize(
    ("script", "outcome", "requests"),
    [
        ((503,), "sent", 2),
        (((429, "TooManyRequestsException"),), "sent", 2),
        (((400, "LimitExceededException"),), "sent", 2),
        (("drop",), "sent", 2),
        ((500, 502), "failed", 2),
        (((429, "TooManyRequestsException"), (429, "TooManyRequestsException")), "failed", 2),
        (((403, "ForbiddenException"),), "failed", 1),
        (((400, "BadRequestException"),), "failed", 1),
        (((410, "GoneException"),), "gone", 1),
    ],
)
def test_throttling_5xx_and_a_dropped_connection_are_retried_once(
    scripted: Any, poster: Any, script: tuple[Any, ...], outcome: str, requests: int
) -> None:
    """Given an endpoint that first answers as scripted, then 200
    When one post goes out
    Then throttling, a 5xx and a dropped connection are tried once more (sent if that succeeds, failed if it fails
    again), a refusal is not retried, and a 410 is gone at once."""
    server = scripted(*script)
    host, port = server.server_address[:2]
    connections = poster(f"http://{host}:{port}/prod")

    result = connections.post_many([("c-1", b"{}")])

    assert {"sent": result.sent, "failed": result.failed, "gone": len(result.gone)}[outcome] == 1
    assert len(server.seen) == requests


def test_a_failed_post_raises_clienterror_with_the_code_and_status(scripted: Any, poster: Any) -> None:
    """Given an endpoint answering 410 with API Gateway's error type header (its URL suffix included)
    When the client posts directly
    Then it raises botocore's ClientError with the code and the HTTP status, as boto3's client did."""
    server = scripted((410, "GoneException:http://internal.amazon.com/coral/com.amazon.apigateway/"))
    host, port = server.server_address[:2]
    connections = poster(f"http://{host}:{port}/prod")

    with pytest.raises(ClientError) as raised:
        connections.client().post_to_connection(ConnectionId="c-1", Data=b"{}")

    assert raised.value.response["Error"]["Code"] == "GoneException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 410
