"""The HTTP API's socket server: HTTP/1.1 with keep-alive, request bodies up to API Gateway's limit, one log line a
request; every request is answered by the gateway (local/gateway.py)."""

from __future__ import annotations

import errno
import logging
import os
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import BaseServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from local.apigw import HttpResponse, gateway_response

if TYPE_CHECKING:
    from local.gateway import HttpGateway

http_logger = logging.getLogger("local.http")

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
# A declared body must arrive within API Gateway's own integration timeout, or the worker waiting for it is freed.
BODY_READ_SECONDS = 30.0
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP method is a token (RFC 9110, 5.6.2)
_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9A-Fa-f]+")


class PortInUse(RuntimeError):
    """The HTTP API's port is taken by another process."""

    def __init__(self, host: str, port: int):
        super().__init__(f"port {port} is in use")
        self.host = host
        self.port = port


class _PayloadTooLarge(Exception):
    pass


class _MalformedRequest(Exception):
    """A request whose framing cannot be read: a bad Content-Length or chunk size."""


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
            if not _TOKEN.fullmatch(method):
                raise _MalformedRequest
            body = self._read_body()
        except _PayloadTooLarge:
            self.close_connection = True
            response = gateway_response(413, "Request Entity Too Large")
        except _MalformedRequest:
            self.close_connection = True  # the rest of the stream cannot be framed
            response = gateway_response(400, "Bad Request")
        except TimeoutError:
            self.close_connection = True
            response = gateway_response(408, "Request Timeout")
        else:
            response = self.server.gateway.handle(method, target, headers, body, self.client_address[0])
        response.headers.append(("apigw-requestid", os.urandom(8).hex()))
        self._write(response, send_body=method != "HEAD")
        elapsed = (time.perf_counter() - started) * 1000
        level = logging.DEBUG if target.startswith("/local/health") else logging.INFO
        http_logger.log(level, "%s %s %d %.1fms", method, target, response.status, elapsed)

    def _read_body(self) -> bytes:
        self.connection.settimeout(BODY_READ_SECONDS)
        try:
            return self._read_framed_body()
        finally:
            self.connection.settimeout(self.timeout)

    def _read_framed_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size_field = self.rfile.readline().split(b";", 1)[0].strip().decode("latin-1") or "0"
                if not _HEX.fullmatch(size_field):
                    raise _MalformedRequest
                size = int(size_field, 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_PAYLOAD_BYTES:
                    raise _PayloadTooLarge
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self._content_length()
        if length > MAX_PAYLOAD_BYTES:
            raise _PayloadTooLarge
        return self.rfile.read(length) if length else b""

    def _content_length(self) -> int:
        """The one declared length: decimal digits, the same in every Content-Length given. Anything else (a
        negative length, which would read until the client hangs up, a word, two lengths) is malformed."""
        declared = {part.strip() for value in self.headers.get_all("Content-Length") or [] for part in value.split(",")}
        if not declared:
            return 0
        if len(declared) != 1 or not _DECIMAL.fullmatch(length := declared.pop()):
            raise _MalformedRequest
        return int(length)

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

    def __getattr__(self, name: str) -> Any:
        # BaseHTTPRequestHandler dispatches a request to do_<METHOD>: every method goes to the gateway, which
        # routes any method as API Gateway does (one no route takes is its 404), never the base class's HTML 501.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What the base class answers itself (a request line or headers it cannot parse, a URI too long), in
        API Gateway's JSON shape rather than an HTML page."""
        self.close_connection = True
        self.request_version = self.protocol_version  # an unparsed version is taken as 0.9: no status line at all
        method = getattr(self, "command", "") or "-"
        response = gateway_response(code, HTTPStatus(code).phrase)
        response.headers.append(("apigw-requestid", os.urandom(8).hex()))
        self._write(response, send_body=method != "HEAD")
        http_logger.info("%s %s %d (%s)", method, getattr(self, "path", "-"), code, message)

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
