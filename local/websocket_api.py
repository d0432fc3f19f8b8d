"""The template's WebSocket API (AWS::ApiGatewayV2::Api, ProtocolType WEBSOCKET) on a real WebSocket port.

What API Gateway does, done here with the `websockets` library:
* the handshake runs the `$connect` route's function with a CONNECT event (query string, headers, a fresh
  connectionId); a non-2xx answer refuses the handshake with that status;
* each frame is routed by the API's RouteSelectionExpression (`$request.body.action`; `$default` when the body is
  not JSON or names no route) and runs that route's function with a MESSAGE event; with a route response
  configured (RouteResponseSelectionExpression) the function's body goes back to the client as a frame;
* a closed socket runs `$disconnect` with a DISCONNECT event; connections close after the two-hour limit and
  after the idle timeout, as in AWS;
* the `@connections` management API (local/connections_api.py) is served over HTTP on its own port, and
  CONNECTIONS_ENDPOINT points the functions' @connections client at it, so the handlers run unchanged.

The API, its stage and its routes come from the template (local/websocket_routes.py).

Ports: WS_PORT (default: the stack's port + 1, or a free port when the stack's is) and WS_MANAGEMENT_PORT
(default: a free port). Tokens are checked by the `$connect` function itself against the local issuer
(JWT_ISSUER and JWT_AUDIENCES are set to the stack's issuer).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from local.connections_api import MAX_MESSAGE_BYTES, Connection, ConnectionsApi
from local.runtime import clear_cached_factories
from local.websocket_routes import WebSocketApiSpec, websocket_apis

if TYPE_CHECKING:
    from local.protocols import StackHandle

logger = logging.getLogger("local.websocket")

CONNECTION_LIFETIME_SECONDS = 2 * 60 * 60
IDLE_TIMEOUT_SECONDS = 10 * 60


def _request_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


class WebSocketService:
    """The WebSocket API and its @connections endpoint, as a local-stack service."""

    name = "websocket-api"
    event_types = frozenset()

    def __init__(self, port: int | None = None, management_port: int | None = None) -> None:
        self._port = port
        self._management_port = management_port
        self.api: WebSocketApiSpec | None = None
        self.url: str | None = None
        self.management_url: str | None = None
        self.connections: dict[str, Connection] = {}
        self._stack: StackHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._management: asyncio.Server | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._watchdog_task: asyncio.Task[None] | None = None
        self.idle_timeout = float(os.environ.get("WS_IDLE_TIMEOUT_SECONDS", IDLE_TIMEOUT_SECONDS))
        self.lifetime = float(os.environ.get("WS_MAX_CONNECTION_SECONDS", CONNECTION_LIFETIME_SECONDS))
        self.connections_api = ConnectionsApi(self.connections)

    @property
    def posts(self) -> int:
        """@connections POSTs served (the fan-out bench reads it)."""
        return self.connections_api.posts

    # -- lifecycle

    def start(self, stack: StackHandle) -> None:
        apis = websocket_apis(stack.template, stack.context)
        if not apis:
            return
        if len(apis) > 1:
            logger.warning("only the first WebSocket API (%s) is served", apis[0].api_id)
        self.api, self._stack = apis[0], stack
        host = stack.reachable_host
        if logging.getLogger("websockets").level == logging.NOTSET:  # a line per connection otherwise
            logging.getLogger("websockets").setLevel(logging.WARNING)
        # The functions check tokens against the local issuer and reach @connections on the management port.
        stack.set_environ("JWT_ISSUER", stack.issuer.issuer)
        stack.set_environ("JWT_AUDIENCES", ",".join(stack.issuer.audiences))
        self._start_websocket(stack, host)
        stack.set_environ("CONNECTIONS_ENDPOINT", self.management_url)
        if "REALTIME_POST_WORKERS" not in os.environ:
            # One process serves every function and the sockets: a few posting threads beat 32 fighting the GIL.
            stack.set_environ("REALTIME_POST_WORKERS", "8")
        clear_cached_factories()
        logger.info("WebSocket API %s at %s (@connections at %s)", self.api.api_id, self.url, self.management_url)

    def stop(self) -> None:
        if self._loop is not None:
            loop = self._loop
            future = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                future.result(10)
            except Exception:
                logger.exception("the WebSocket server did not close cleanly")
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(10)
            self._loop = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        self.connections.clear()

    def health(self) -> dict[str, Any]:
        if self.url is None:
            return {}  # the template has no WebSocket API
        return {"websocket": {"url": self.url, "connections": len(self.connections), "management": self.management_url}}

    def _start_websocket(self, stack: StackHandle, host: str) -> None:
        from websockets.asyncio.server import serve

        port = self._port
        chosen = port is not None or "WS_PORT" in os.environ
        if port is None:
            port = int(os.environ.get("WS_PORT", stack.port + 1 if stack.port else 0))
        ready = threading.Event()
        failure: list[BaseException] = []
        # Handlers block (DynamoDB calls): they run on threads, enough for a burst of connects.
        self._executor = ThreadPoolExecutor(max_workers=64, thread_name_prefix="ws-lambda")

        async def main() -> None:
            asyncio.get_running_loop().set_default_executor(self._executor)
            try:
                management_port = self._management_port
                if management_port is None:
                    management_port = int(os.environ.get("WS_MANAGEMENT_PORT", "0"))
                # @connections on the same loop as the sockets: a post writes its frame without a thread hop.
                self._management = await asyncio.start_server(
                    self.connections_api.session, stack.host or "127.0.0.1", management_port
                )
                options = {
                    "process_request": self._handshake,
                    "max_size": MAX_MESSAGE_BYTES,
                    "ping_interval": None,  # API Gateway does not ping; idle connections time out instead
                    "max_queue": 64,
                }
                try:
                    self._server = await serve(self._session, stack.host or "127.0.0.1", port, **options)
                except OSError:
                    if chosen or port == 0:
                        raise
                    # PORT + 1 is only a default: when something else holds it, take any free port.
                    logger.warning("port %s is busy; the WebSocket API takes a free port instead", port)
                    self._server = await serve(self._session, stack.host or "127.0.0.1", 0, **options)
            except BaseException as error:
                failure.append(error)
                raise
            finally:
                ready.set()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(main())
            except BaseException:
                return
            self._watchdog_task = loop.create_task(self._watchdog())
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="ws-server", daemon=True)
        self._thread.start()
        ready.wait(15)
        if failure:
            raise RuntimeError(f"the WebSocket server could not listen on port {port}: {failure[0]}")
        bound = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://{host}:{bound}"
        self.management_url = f"http://{host}:{self._management.sockets[0].getsockname()[1]}"

    async def _shutdown(self) -> None:
        if self._watchdog_task is not None:
            self._watchdog_task.cancel()
        if self._management is not None:
            self._management.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Whatever still runs (management sessions, sockets' handlers) ends before the loop does.
        pending = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # -- events

    def _context(self, connection_id: str, route_key: str, event_type: str, **extra: Any) -> dict[str, Any]:
        now = time.time()
        connection = self.connections.get(connection_id)
        return {
            "routeKey": route_key,
            "eventType": event_type,
            "extendedRequestId": secrets.token_urlsafe(12),
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": self.api.stage,
            "connectedAt": int((connection.connected_at if connection else now) * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {
                "sourceIp": connection.source_ip if connection else extra.pop("source_ip", "127.0.0.1"),
                "userAgent": connection.user_agent if connection else extra.pop("user_agent", ""),
            },
            "requestId": secrets.token_urlsafe(12),
            "domainName": urlsplit(self.url or "").netloc,
            "connectionId": connection_id,
            "apiId": self.api.api_id,
            **extra,
        }

    def _invoke(self, route_key: str, event: dict[str, Any]) -> tuple[int, str]:
        """Run a route's function as API Gateway would: (status, body); a crash is a 500, never a dead server."""
        route = self.api.routes.get(route_key)
        if route is None:
            return 200, ""
        try:
            result = self._stack.functions.invoke(route.function_id, event)
        except Exception:
            logger.error("%s raised:\n%s", route.function_id, traceback.format_exc())
            return 500, json.dumps({"message": "Internal server error"})
        if isinstance(result, dict) and "statusCode" in result:
            body = result.get("body")
            return int(result["statusCode"]), body if isinstance(body, str) else json.dumps(body) if body else ""
        return 200, "" if result is None else result if isinstance(result, str) else json.dumps(result)

    def _route_key(self, body: str) -> str:
        # RouteSelectionExpression "$request.body.<field>": the field's value when it names a route.
        field_name = self.api.selection_expression.removeprefix("$request.body.")
        try:
            message = json.loads(body)
        except ValueError:
            return "$default"
        value = message.get(field_name) if isinstance(message, dict) else None
        return (
            value if isinstance(value, str) and value in self.api.routes and not value.startswith("$") else "$default"
        )

    async def _handshake(self, socket: Any, request: Any) -> Any:
        parts = urlsplit(request.path)
        if parts.path.rstrip("/") not in ("", f"/{self.api.stage}"):
            return socket.respond(404, "Not Found\n")
        connection_id = secrets.token_urlsafe(12)
        socket.arena_connection_id = connection_id
        query = parse_qs(parts.query)
        headers = dict(request.headers.raw_items())
        peer = socket.remote_address[0] if socket.remote_address else "127.0.0.1"
        event = {
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "requestContext": self._context(
                connection_id, "$connect", "CONNECT", source_ip=peer, user_agent=headers.get("User-Agent", "")
            ),
            "isBase64Encoded": False,
        }
        status, body = await asyncio.to_thread(self._invoke, "$connect", event)
        if not 200 <= status < 300:
            reason = {401: "Unauthorized", 403: "Forbidden"}.get(status, "Refused")
            return socket.respond(status, (body or reason) + "\n")
        now = time.time()
        self.connections[connection_id] = Connection(
            connection_id, socket, peer, headers.get("User-Agent", ""), now, now
        )
        return None

    async def _session(self, socket: Any) -> None:
        connection_id = socket.arena_connection_id
        from websockets.exceptions import ConnectionClosed

        close_code, close_reason = 1006, "Going away"
        try:
            async for frame in socket:
                connection = self.connections.get(connection_id)
                if connection is not None:
                    connection.last_active = time.time()
                body = frame if isinstance(frame, str) else frame.decode("utf-8", errors="replace")
                route_key = self._route_key(body)
                event = {
                    "requestContext": self._context(
                        connection_id, route_key, "MESSAGE", messageId=secrets.token_urlsafe(12)
                    ),
                    "body": body,
                    "isBase64Encoded": False,
                }
                status, reply = await asyncio.to_thread(self._invoke, route_key, event)
                route = self.api.routes.get(route_key)
                if route is not None and route.two_way and reply:
                    await socket.send(reply)
                elif route is None:
                    await socket.send(json.dumps({"message": "Forbidden", "connectionId": connection_id}))
                elif status >= 500:
                    await socket.send(json.dumps({"message": "Internal server error", "connectionId": connection_id}))
            close_code = socket.close_code or 1005
            close_reason = socket.close_reason or ""
        except ConnectionClosed as closed:
            close_code = closed.rcvd.code if closed.rcvd else 1006
            close_reason = closed.rcvd.reason if closed.rcvd else "Connection reset"
        finally:
            self.connections.pop(connection_id, None)
            event = {
                "headers": {},
                "requestContext": self._context(
                    connection_id,
                    "$disconnect",
                    "DISCONNECT",
                    disconnectStatusCode=close_code,
                    disconnectReason=close_reason,
                ),
                "isBase64Encoded": False,
            }
            await asyncio.to_thread(self._invoke, "$disconnect", event)

    async def _watchdog(self) -> None:
        """API Gateway's limits: a connection lives two hours at most and closes after the idle timeout."""
        while True:
            await asyncio.sleep(min(5.0, self.idle_timeout / 2, self.lifetime / 2))
            now = time.time()
            for connection in list(self.connections.values()):
                if now - connection.connected_at >= self.lifetime or now - connection.last_active >= self.idle_timeout:
                    await connection.socket.close(1001, "Going away")
