"""API Gateway's `@connections` management API for the local WebSocket API: POST (send a frame), GET (describe),
DELETE (close) /@connections/{id}, with an optional stage prefix, over keep-alive HTTP/1.1 as the fan-out's signed
client (arena/adapters/connections.py) and boto3's `apigatewaymanagementapi` client speak it. An unknown or closed
connection answers 410 GoneException, as AWS does.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's WebSocket message limit


@dataclass
class Connection:
    """One open WebSocket connection, as API Gateway knows it."""

    connection_id: str
    socket: Any  # websockets ServerConnection
    source_ip: str
    user_agent: str
    connected_at: float
    last_active: float


class ConnectionsApi:
    """The management API over the WebSocket API's open connections (the dict the WebSocket server keeps)."""

    def __init__(self, connections: dict[str, Connection]) -> None:
        self.connections = connections
        self.posts = 0  # POSTs served (the fan-out bench reads it)

    async def session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One keep-alive HTTP/1.1 connection from an @connections client: requests in, answers out, in order."""
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length > MAX_MESSAGE_BYTES:
                    status, payload, error = 413, {"message": "Message too long"}, "PayloadTooLargeException"
                    writer.write(_http_response(status, payload, error, close=True))
                    return
                body = await reader.readexactly(length) if length else b""
                status, payload, error = await self._manage(method, target, body)
                writer.write(_http_response(status, payload, error))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async def _manage(self, method: str, target: str, body: bytes) -> tuple[int, Any, str | None]:
        match = re.fullmatch(r"(?:/[^/@]+)?/@connections/([^/?]+)", urlsplit(target).path)
        if match is None:
            return 404, {"message": "Not Found"}, "NotFoundException"
        connection = self.connections.get(unquote(match.group(1)))
        gone = (410, {"message": None}, "GoneException")
        if connection is None:
            return gone
        if method == "POST":
            try:
                await connection.socket.send(body.decode("utf-8", errors="replace"))
            except Exception:
                return gone  # closed meanwhile
            connection.last_active = time.time()
            self.posts += 1
            return 200, None, None
        if method == "GET":
            return 200, self._describe(connection), None
        if method == "DELETE":
            await connection.socket.close(1000, "")
            return 204, None, None
        return 405, {"message": "Method Not Allowed"}, "MethodNotAllowedException"

    @staticmethod
    def _describe(connection: Connection) -> dict[str, Any]:
        def iso(moment: float) -> str:
            return datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")

        return {
            "connectedAt": iso(connection.connected_at),
            "lastActiveAt": iso(connection.last_active),
            "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
        }


def _http_response(status: int, payload: Any, error_type: str | None, close: bool = False) -> bytes:
    body = b"" if payload is None else json.dumps(payload).encode()
    reason = {200: "OK", 204: "No Content", 404: "Not Found", 405: "Method Not Allowed", 410: "Gone"}.get(status, "")
    lines = [
        f"HTTP/1.1 {status} {reason or 'Error'}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"Date: {formatdate(usegmt=True)}",
        f"x-amzn-RequestId: {secrets.token_hex(16)}",
    ]
    if error_type:
        lines.append(f"x-amzn-ErrorType: {error_type}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
