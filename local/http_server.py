"""The HTTP API's socket server: HTTP/1.1 with keep-alive, request bodies up to API Gateway's limit, one log line a
request; every request is answered by the gateway (local/gateway.py)."""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from local.apigw import HttpResponse, gateway_response

if TYPE_CHECKING:
    from local.gateway import HttpGateway

http_logger = logging.getLogger("local.http")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit


class PortInUse(RuntimeError):
    """The HTTP API's port is taken by another process."""

    def __init__(self, host: str, port: int):
        super().__init__(f"port {port} is in use")
        self.host = host
        self.port = port


class _PayloadTooLarge(Exception):
    pass


class GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway offers
    server: GatewayServer

    def _serve(self) -> None:
        started = time.perf_counter()
        method = self.command
        target = self.path
        if target.startswith(("http://", "https://")):  # absolute-form request target
            parts = urlsplit(target)
            target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = list(self.headers.items())
        try:
            body = self._read_body()
        except _PayloadTooLarge:
            self.close_connection = True
            response = gateway_response(413, "Request Entity Too Large")
        except ValueError:  # a malformed chunked body
            self.close_connection = True
            response = gateway_response(400, "Bad Request")
        else:
            response = self.server.gateway.handle(method, target, headers, body, self.client_address[0])
        response.headers.append(("apigw-requestid", os.urandom(8).hex()))
        self._write(response, send_body=method != "HEAD")
        elapsed = (time.perf_counter() - started) * 1000
        level = logging.DEBUG if target.startswith("/local/health") else logging.INFO
        http_logger.log(level, "%s %s %d %.1fms", method, target, response.status, elapsed)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    raise _PayloadTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PAYLOAD_BYTES:
            raise _PayloadTooLarge
        return self.rfile.read(length) if length else b""

    def _write(self, response: HttpResponse, send_body: bool) -> None:
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if send_body and response.body:
                self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # BaseHTTPRequestHandler dispatches on these names.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request is logged by _serve, through logging


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of simultaneous clients (the claim-rush test sends 100)
    # would be reset before a thread picks them up.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], gateway: HttpGateway | None = None):
        super().__init__(address, GatewayRequestHandler)
        self.gateway = gateway


def check_port(host: str, port: int) -> None:
    """Raise PortInUse when `port` is taken (0, any free port, always passes): before the slow steps of a start."""
    if not port:
        return
    with socket.socket(GatewayServer.address_family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no clash
        try:
            sock.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from None
            raise


def bind_server(host: str, port: int) -> GatewayServer:
    """The server bound to host:port (not serving yet); PortInUse when another process holds the port."""
    try:
        return GatewayServer((host, port))
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise PortInUse(host, port) from None
        raise


def serve_in_background(server: BaseServer, name: str) -> threading.Thread:
    """Serve on a daemon thread of this name (ended by `shut_down`)."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, name=name, daemon=True)
    thread.start()
    return thread


def shut_down(server: BaseServer, thread: threading.Thread | None) -> None:
    """Stop serving, close the socket, and give the serving thread a few seconds to end."""
    server.shutdown()
    server.server_close()
    if thread is not None:
        thread.join(5)
