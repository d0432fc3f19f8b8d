"""DynamoDB Local starts on a port of its own even when another program takes the port it picked first."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from local import dynamodb_local
from local.dynamodb_local import DynamoDBLocal, listening_ports


class Squatter(BaseHTTPRequestHandler):
    """Another program's HTTP server: it answers anything, as DynamoDB Local would answer a bare GET."""

    def do_GET(self) -> None:
        self.send_response(400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def taken_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Squatter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_a_port_taken_after_it_was_picked_is_left_for_another(taken_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given another program answering HTTP on the port DynamoDB Local picks first
    When DynamoDB Local starts
    Then it serves on another port that its own process listens on, and tables made there are its own."""
    picks = iter([taken_port])
    free = dynamodb_local._free_port
    monkeypatch.setattr(dynamodb_local, "_free_port", lambda: next(picks, None) or free())

    engine = DynamoDBLocal().start()
    try:
        assert engine.port != taken_port
        assert engine._process is not None and engine.port in (listening_ports(engine._process.pid) or {engine.port})
        client = boto3.client(
            "dynamodb",
            endpoint_url=engine.endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )
        assert client.list_tables()["TableNames"] == []
    finally:
        engine.stop()
