"""The whole template on one machine: moto for AWS, an HTTP API gateway, event-source pollers.

`LocalStack` is embeddable (tests start one on a free port) and is what `python -m local` runs. Order of start:

1. fake credentials and region in os.environ (never a real account), moto's ThreadedMotoServer, and
   AWS_ENDPOINT_URL pointing every boto3/pynamodb client at it;
2. the template's tables and queues, then each function's environment resolved (table names, queue URLs)
   and put into os.environ, before any handler module is imported;
3. the HTTP API on HOST:PORT (routes, JWT auth, throttling, CORS, local helper routes);
4. services: the SQS / DynamoDB stream pollers, the schedules (local/schedules.py: rate() safety nets and
   Scheduler one-shots), then any added by later work (WebSocket API, Step Functions) through `Service`.

One stack per process: moto's state is process-wide, and the stack resets it when it starts.
"""

from __future__ import annotations

import contextvars
import errno
import importlib.util
import json
import logging
import math
import os
import re
import socket
import sys
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

import boto3

from local import template as tpl
from local.apigw import (
    HttpResponse,
    LambdaContext,
    MalformedLambdaResponse,
    RouteTable,
    build_http_event,
    gateway_response,
    match_path,
    to_http_response,
)
from local.appconfig import AppConfigService
from local.eventbridge import EventBridgeRules
from local.jwt_issuer import JwtIssuer, TokenError
from local.pollers import DynamoDBStreamPoller, Poller, SqsPoller, compile_filters
from local.schedules import ScheduleService, create_lifecycle_resources
from local.websocket_api import WebSocketService
from local.workflows import WorkflowService

logger = logging.getLogger("local.stack")
http_logger = logging.getLogger("local.http")

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# A profile could name real credentials or a missing profile; neither belongs in a local run.
REMOVED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit


class PortInUse(RuntimeError):
    """The HTTP API's port is taken by another process."""

    def __init__(self, host: str, port: int):
        super().__init__(f"port {port} is in use")
        self.host = host
        self.port = port


# ---------------------------------------------------------------------------------------------- services


@runtime_checkable
class Service(Protocol):
    """Something the stack starts after its core and stops before it (in reverse order).

    `start` gets the stack: its template, `context` (resolved names), `functions` (in-process handlers),
    `client(service)` (boto3 clients pointed at moto) and `base_url`. A service that runs event sources
    sets `event_types` (e.g. {"Schedule"}) so the stack does not report those as not served.
    """

    name: str

    def start(self, stack: LocalStack) -> None: ...

    def stop(self) -> None: ...


# ---------------------------------------------------------------------------------------------- log labels

# The invocation this thread (or task) is running for: the Lambda context keys Powertools' Logger writes. One process
# hosts every function and Powertools' Logger is one instance whose `inject_lambda_context` keys are shared by all
# threads, so they name whichever function was invoked last; labels from here, set per invocation, win instead.
_INVOCATION: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("local_invocation", default=None)
_labels_lock = threading.Lock()
_labels_installed = False


def invocation_labels(context: Any) -> dict[str, Any]:
    """The keys Powertools' `inject_lambda_context` derives from a Lambda context."""
    return {
        "function_name": getattr(context, "function_name", None),
        "function_memory_size": getattr(context, "memory_limit_in_mb", None),
        "function_arn": getattr(context, "invoked_function_arn", None),
        "function_request_id": getattr(context, "aws_request_id", None),
    }


def install_invocation_labels() -> Callable[[], None]:
    """Label every log record made during an invocation with that invocation's function and request, and carry the
    invocation into the worker threads a handler starts through a ThreadPoolExecutor (each Lambda function has a
    process of its own; here they share one). A record's own attributes override the Logger's shared keys in
    Powertools' formatter. Returns the undo; installing twice installs once."""
    global _labels_installed
    with _labels_lock:
        if _labels_installed:
            return lambda: None
        _labels_installed = True
        previous_factory = logging.getLogRecordFactory()
        original_submit = ThreadPoolExecutor.submit

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous_factory(*args, **kwargs)
        labels = _INVOCATION.get()
        if labels:
            record.__dict__.update(labels)
        return record

    def submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if _INVOCATION.get() is None:
            return original_submit(self, fn, *args, **kwargs)
        return original_submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

    logging.setLogRecordFactory(factory)
    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]

    def undo() -> None:
        global _labels_installed
        with _labels_lock:
            if logging.getLogRecordFactory() is factory:
                logging.setLogRecordFactory(previous_factory)
            ThreadPoolExecutor.submit = original_submit  # type: ignore[method-assign]
            _labels_installed = False

    return undo


# ---------------------------------------------------------------------------------------------- functions


class FunctionRuntime:
    """One template function, run in this process as the Lambda runtime would run it.

    Like Lambda, one execution environment serves one invocation at a time: concurrent invocations get their own
    copy of the handler module (its module-level state, e.g. a Powertools resolver, is per environment), created
    on demand and kept warm for the next one."""

    def __init__(self, spec: tpl.FunctionSpec, base_dir: Path, registry: FunctionRegistry):
        self.spec = spec
        self.code_dir = (base_dir / spec.code_uri).resolve()
        self._registry = registry
        self._idle: list[ModuleType] = []
        self._environments = 0
        self._idle_lock = threading.Lock()
        # What ran: GET /local/functions reports them (the artifact smoke checks every function ran, none raised).
        self.invocations = 0
        self.errors = 0

    @property
    def source_path(self) -> Path:
        module_path = self.code_dir.joinpath(*self.spec.module.split("."))
        package_init = module_path / "__init__.py"
        return package_init if package_init.exists() else module_path.with_suffix(".py")

    @property
    def handler(self) -> Callable[[Any, Any], Any]:
        return self._handler_of(self._registry.load_module(self.source_path))

    def _handler_of(self, module: ModuleType) -> Callable[[Any, Any], Any]:
        try:
            return getattr(module, self.spec.function_name)
        except AttributeError as error:
            raise ImportError(f"{self.spec.logical_id}: {self.source_path} has no {self.spec.function_name}") from error

    def _acquire(self) -> ModuleType:
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
            self._environments += 1
            environment = self._environments
        if environment == 1:
            return self._registry.load_module(self.source_path)
        return self._registry.load_module(self.source_path, copy=f"{self.spec.logical_id}_env{environment}")

    def invoke(self, event: Any, context: LambdaContext | None = None) -> Any:
        """Call the handler with a fresh Lambda context in an idle execution environment (a new one when all are
        busy); exceptions propagate to the caller (gateway, poller)."""
        module = self._acquire()
        failed = True
        try:
            answer = self._run(self._handler_of(module), event, context)
            failed = False
            return answer
        finally:
            with self._idle_lock:
                self._idle.append(module)
                self.invocations += 1
                self.errors += failed

    def retire(self) -> None:
        """Forget every execution environment (the stack stopped)."""
        with self._idle_lock:
            self._idle.clear()
            self._environments = 0

    def _run(self, handler: Callable[[Any, Any], Any], event: Any, context: LambdaContext | None) -> Any:
        context = context or LambdaContext(
            self.spec.logical_id,
            memory_limit_in_mb=self.spec.memory,
            timeout_seconds=self.spec.timeout,
            region=self._registry.region,
            account_id=self._registry.account_id,
        )
        started = time.perf_counter()
        labels = _INVOCATION.set(invocation_labels(context))
        try:
            return handler(event, context)
        finally:
            _INVOCATION.reset(labels)
            elapsed = time.perf_counter() - started
            if elapsed > self.spec.timeout:
                # Lambda would have killed it; a thread cannot be killed, so say so loudly instead.
                logger.warning(
                    "%s ran %.1fs, past its %ss timeout (Lambda would have stopped it)",
                    self.spec.logical_id,
                    elapsed,
                    self.spec.timeout,
                )


class FunctionRegistry:
    """The template's functions by logical id; handler modules are imported on first use, once per file."""

    def __init__(self, specs: Iterable[tpl.FunctionSpec], base_dir: Path, region: str, account_id: str):
        self.region = region
        self.account_id = account_id
        self._runtimes = {spec.logical_id: FunctionRuntime(spec, base_dir, self) for spec in specs}
        self._modules: dict[Path, ModuleType] = {}
        self._lock = threading.Lock()

    def __contains__(self, logical_id: str) -> bool:
        return logical_id in self._runtimes

    def __iter__(self):
        return iter(self._runtimes.values())

    def __len__(self) -> int:
        return len(self._runtimes)

    def get(self, logical_id: str) -> FunctionRuntime:
        return self._runtimes[logical_id]

    def invoke(self, logical_id: str, event: Any) -> Any:
        return self._runtimes[logical_id].invoke(event)

    def load_module(self, path: Path, copy: str | None = None) -> ModuleType:
        """The handler module at `path`, imported once; `copy` names another instance of it (another execution
        environment of one function)."""
        key = path if copy is None else path.with_name(f"{path.name}#{copy}")
        with self._lock:
            if key in self._modules:
                return self._modules[key]
            # Unique per file: two areas may both have list.py, and neither may shadow a real package.
            relative = path.with_suffix("").as_posix() + ("" if copy is None else f"_{copy}")
            name = "_local_fn_" + re.sub(r"\W", "_", relative).strip("_")
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None or not path.exists():
                raise ImportError(f"no handler module at {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # dataclasses and pydantic look their module up here
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            self._modules[key] = module
            return module

    def unload(self) -> None:
        with self._lock:
            for module in self._modules.values():
                sys.modules.pop(module.__name__, None)
            self._modules.clear()
        for runtime in self._runtimes.values():
            runtime.retire()


# ---------------------------------------------------------------------------------------------- gateway


class TokenBucket:
    """API Gateway's throttle: `burst` requests at once, refilled at `rate` per second."""

    def __init__(self, burst: float | None, rate: float | None):
        self.capacity = math.inf if burst is None else float(burst)
        self.rate = math.inf if rate is None else float(rate)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self.rate == math.inf:
                self._tokens = self.capacity
            else:
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


def _json_response(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json")], json.dumps(payload).encode())


def _bad_request(message: str) -> HttpResponse:
    return _json_response(400, {"error": {"code": "BAD_REQUEST", "message": message, "details": None}})


class HttpGateway:
    """The HTTP API: local helper routes, CORS, route matching, throttling, JWT auth, invoke, respond."""

    def __init__(self, stack: LocalStack):
        self.stack = stack
        self.specs = tpl.http_route_specs(stack.template)
        self.apis = tpl.http_apis(stack.template)
        self.routes = RouteTable(spec.route for spec in self.specs)
        self._spec_by_route = {(spec.route.method, spec.route.path): spec for spec in self.specs}
        self._throttles = {
            key: TokenBucket(burst, rate) for key, (burst, rate) in tpl.route_throttling(stack.template).items()
        }

    # -- entry point

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> HttpResponse:
        raw_path, _, raw_query = target.partition("?")
        if raw_path.startswith("/local/"):
            return self._local(method, raw_path, body)
        origin = next((value for name, value in headers if name.lower() == "origin"), None)

        if method == "OPTIONS":
            preflight = self._preflight(raw_path, origin)
            if preflight is not None:
                return preflight

        match = self.routes.match(method, raw_path)
        if match is None:
            return gateway_response(404, "Not Found")
        spec = self._spec_by_route[(match.route.method, match.route.path)]
        throttle = self._throttles.get(match.route_key)
        if throttle is not None and not throttle.take():
            return gateway_response(429, "Too Many Requests")

        claims = None
        if spec.authorizer:
            claims, denial = self._authorize(spec, headers)
            if denial is not None:
                return denial

        event = build_http_event(
            method,
            raw_path,
            route_key=match.route_key,
            raw_query_string=raw_query,
            headers=headers,
            body=body,
            path_parameters=match.path_parameters or None,
            claims=claims,
            source_ip=source_ip,
            account_id=self.stack.account_id,
        )
        try:
            result = self.stack.functions.invoke(spec.route.function_id, event)
            response = to_http_response(result)
        except MalformedLambdaResponse as error:
            logger.error("%s returned a malformed response: %s", spec.route.function_id, error)
            return gateway_response(500, "Internal Server Error")
        except Exception:
            # As in AWS: the client sees a bare 500, the traceback goes to the function's log.
            logger.error("%s raised:\n%s", spec.route.function_id, traceback.format_exc())
            return gateway_response(500, "Internal Server Error")
        return self._with_cors(response, self.apis.get(spec.api_id), origin)

    # -- auth

    def _authorize(self, spec: tpl.HttpRouteSpec, headers: list[tuple[str, str]]):
        value = next((value for name, value in headers if name.lower() == "authorization"), "").strip()
        token = value[7:].strip() if value[:7].lower() == "bearer " else value
        if not token:
            return None, gateway_response(401, "Unauthorized")
        try:
            claims = self.stack.issuer.verify(token)
        except TokenError as error:
            challenge = f'Bearer scope="" error="invalid_token" error_description="{error}"'
            return None, gateway_response(401, "Unauthorized", [("www-authenticate", challenge)])
        if spec.authorization_scopes:
            granted = set(str(claims.get("scope", "")).split())
            if not granted.intersection(spec.authorization_scopes):
                return None, gateway_response(403, "Forbidden")
        return claims, None

    # -- CORS

    def _cors_for_path(self, raw_path: str) -> dict[str, Any] | None:
        for spec in self.specs:
            if spec.route.path != "$default" and match_path(spec.route.path, raw_path) is not None:
                api = self.apis.get(spec.api_id)
                if api is not None and api.cors:
                    return api.cors
        return None

    @staticmethod
    def _allowed_origin(cors: Mapping[str, Any], origin: str | None) -> str | None:
        if not origin:
            return None
        allowed = [str(value) for value in cors.get("AllowOrigins") or []]
        if "*" in allowed:
            return "*"
        return origin if origin in allowed else None

    def _preflight(self, raw_path: str, origin: str | None) -> HttpResponse | None:
        # With CORS configured, API Gateway answers every preflight itself, before routes and authorizers.
        cors = self._cors_for_path(raw_path) or next((api.cors for api in self.apis.values() if api.cors), None)
        if cors is None:
            return None
        headers: list[tuple[str, str]] = []
        allowed_origin = self._allowed_origin(cors, origin)
        if allowed_origin:
            headers.append(("access-control-allow-origin", allowed_origin))
            if cors.get("AllowMethods"):
                headers.append(("access-control-allow-methods", ",".join(cors["AllowMethods"])))
            if cors.get("AllowHeaders"):
                headers.append(("access-control-allow-headers", ",".join(cors["AllowHeaders"])))
            if cors.get("MaxAge") is not None:
                headers.append(("access-control-max-age", str(cors["MaxAge"])))
            if cors.get("AllowCredentials"):
                headers.append(("access-control-allow-credentials", "true"))
        return HttpResponse(204, headers, b"")

    def _with_cors(self, response: HttpResponse, api: tpl.HttpApiSettings | None, origin: str | None) -> HttpResponse:
        if api is None or not api.cors:
            return response
        # API Gateway replaces the integration's CORS headers with its own configuration.
        response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
        allowed_origin = self._allowed_origin(api.cors, origin)
        if allowed_origin:
            response.headers.append(("access-control-allow-origin", allowed_origin))
            if api.cors.get("ExposeHeaders"):
                response.headers.append(("access-control-expose-headers", ",".join(api.cors["ExposeHeaders"])))
            if api.cors.get("AllowCredentials"):
                response.headers.append(("access-control-allow-credentials", "true"))
        return response

    # -- local helper routes

    def _local(self, method: str, raw_path: str, body: bytes) -> HttpResponse:
        if raw_path == "/local/health" and method == "GET":
            status = "ok" if self.stack.ready else "starting"
            health: dict[str, Any] = {
                "status": status,
                "routes": len(self.specs),
                "template": str(self.stack.template_path),
                "layers": [str(folder) for folder in self.stack.layer_dirs],
                "aws": {
                    "endpoint": self.stack.moto_endpoint,
                    "queues": {name: queue["url"] for name, queue in self.stack.queues.items()},
                },
            }
            for service in self.stack.services:  # services may report themselves (the WebSocket API's URL)
                if hasattr(service, "health"):
                    health.update(service.health())
            return _json_response(200 if self.stack.ready else 503, health)
        if raw_path == "/local/.well-known/jwks.json" and method == "GET":
            return _json_response(200, self.stack.issuer.jwks())
        if raw_path == "/local/token" and method == "POST":
            return self._issue_token(body)
        if raw_path == "/local/functions" and method == "GET":
            return _json_response(
                200,
                {f.spec.logical_id: {"invocations": f.invocations, "errors": f.errors} for f in self.stack.functions},
            )
        for service in self.stack.services:  # services may serve helper routes of their own (/local/flags)
            answer = service.local_route(method, raw_path, body) if hasattr(service, "local_route") else None
            if answer is not None:
                return answer
        return gateway_response(404, "Not Found")

    def _issue_token(self, body: bytes) -> HttpResponse:
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return _bad_request("the body is not JSON")
        if not isinstance(request, dict):
            return _bad_request("the body must be a JSON object")
        sub, groups = request.get("sub"), request.get("groups", [])
        claims, scopes = request.get("claims", {}), request.get("scopes")
        claims = {} if claims is None else claims
        ttl = request.get("ttl_seconds", 3600)
        if not isinstance(sub, str) or not sub:
            return _bad_request("sub must be a non-empty string")
        if not isinstance(groups, list) or not all(isinstance(group, str) for group in groups):
            return _bad_request("groups must be a list of strings")
        if not isinstance(claims, dict):
            return _bad_request("claims must be an object")
        if scopes is not None and (not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)):
            return _bad_request("scopes must be a list of strings")
        if not isinstance(ttl, int) or isinstance(ttl, bool) or ttl <= 0:
            return _bad_request("ttl_seconds must be a positive integer")
        token = self.stack.issuer.issue(sub, groups=groups, scopes=scopes, extra_claims=claims, ttl_seconds=ttl)
        return _json_response(200, {"token": token})


class _PayloadTooLarge(Exception):
    pass


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as API Gateway offers
    server: _GatewayServer

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


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default listen backlog is 5: a burst of simultaneous clients (the claim-rush test sends 100)
    # would be reset before a thread picks them up.
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], gateway: HttpGateway | None = None):
        super().__init__(address, _RequestHandler)
        self.gateway = gateway


# ---------------------------------------------------------------------------------------------- pollers


class EventSourcePollers:
    """The SQS and DynamoDB stream event sources of the template's functions, as pollers."""

    name = "event-source-pollers"
    event_types = frozenset({"SQS", "DynamoDB"})

    def __init__(self) -> None:
        self.pollers: list[Poller] = []

    def start(self, stack: LocalStack) -> None:
        queues_by_arn = {queue["arn"]: queue for queue in stack.queues.values()}
        known_streams = set(stack.stream_arns.values())
        for function, event_type, raw in tpl.iter_event_sources(stack.template, self.event_types):
            props = tpl.resolve(raw, stack.context)
            if props.get("Enabled") is False:
                continue
            handler = _invoker(stack.functions, function.logical_id)
            report = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
            filters = compile_filters(props.get("FilterCriteria"))
            if event_type == "SQS":
                queue = queues_by_arn.get(props.get("Queue"))
                if queue is None:
                    logger.warning(
                        "%s: queue %s is not in the template; not polled", function.logical_id, props.get("Queue")
                    )
                    continue
                poller: Poller = SqsPoller(
                    stack.client("sqs"),
                    queue["url"],
                    queue["arn"],
                    handler,
                    batch_size=props.get("BatchSize", 10),
                    report_batch_item_failures=report,
                    filters=filters,
                    region=stack.region,
                    name=f"{function.logical_id}<-{queue['name']}",
                )
            else:
                stream_arn = props.get("Stream")
                if stream_arn not in known_streams:
                    logger.warning("%s: stream %s is not in the template; not polled", function.logical_id, stream_arn)
                    continue
                poller = DynamoDBStreamPoller(
                    stack.client("dynamodbstreams"),
                    stream_arn,
                    handler,
                    batch_size=props.get("BatchSize", 100),
                    starting_position=props.get("StartingPosition", "LATEST"),
                    report_batch_item_failures=report,
                    maximum_retry_attempts=props.get("MaximumRetryAttempts"),
                    filters=filters,
                    region=stack.region,
                    name=f"{function.logical_id}<-{stream_arn.split('/')[1]}",
                )
            poller.start()
            self.pollers.append(poller)
            logger.info("polling %s", poller.name)

    def stop(self) -> None:
        for poller in self.pollers:
            poller.request_stop()  # signal all first, so their long polls end together
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()


def _invoker(functions: FunctionRegistry, logical_id: str) -> Callable[[dict[str, Any]], Any]:
    def invoke(event: dict[str, Any]) -> Any:
        return functions.invoke(logical_id, event)

    return invoke


# ---------------------------------------------------------------------------------------------- stack


_MOTO_TRANSACTIONS = threading.Lock()


def serialise_moto_transactions() -> Callable[[], None]:
    """moto rolls a transaction back by deep-copying whole tables, which breaks when two threads write at once.
    DynamoDB serialises conflicting transactions itself; this gives moto the same guarantee. Returns the undo."""
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.transact_write_items

    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with _MOTO_TRANSACTIONS:
            return original(self, *args, **kwargs)

    DynamoDBBackend.transact_write_items = locked  # type: ignore[method-assign]

    def undo() -> None:
        DynamoDBBackend.transact_write_items = original  # type: ignore[method-assign]

    return undo


class LocalStack:
    """The template running locally. `start()` returns once everything is up; `stop()` undoes it all."""

    def __init__(
        self,
        port: int = 0,
        template_path: str | Path = "template.yaml",
        on_ready: Callable[[LocalStack], None] | None = None,
        *,
        host: str = "127.0.0.1",
        parameters: Mapping[str, Any] | None = None,
        services: Iterable[Service] = (),
        region: str = tpl.DEFAULT_REGION,
        account_id: str = tpl.DEFAULT_ACCOUNT_ID,
        reset_moto: bool = True,
        dynamodb: str | None = None,
    ):
        path = Path(template_path)
        self.template_path = path if path.is_absolute() else tpl.REPO_ROOT / path
        self.template = tpl.load_template(self.template_path)
        self.base_dir = self.template_path.parent  # SAM resolves CodeUri/ContentUri against the template
        self.host = host
        self.port = port
        self.on_ready = on_ready
        self.parameters = dict(parameters or {})
        self.region = region
        self.account_id = account_id
        self.reset_moto = reset_moto
        # DynamoDB from DynamoDB Local (AWS's engine: real transactions, fast GSIs) unless moto is asked for.
        self.dynamodb_engine = (dynamodb or os.environ.get("ARENA_DYNAMODB", "local")).lower()
        if self.dynamodb_engine not in ("local", "moto"):
            raise ValueError("dynamodb must be 'local' or 'moto'")
        self._dynamodb_local: Any = None
        self._undo_moto_lock: Callable[[], None] | None = None
        self.workflows = WorkflowService()
        # The WebSocket API first: it sets the @connections endpoint the fan-out functions read (issue 6).
        self.services: list[Service] = [
            WebSocketService(),
            AppConfigService(),  # before the pollers: it names the feature flags' AppConfig ids to the functions
            EventSourcePollers(),
            ScheduleService(),
            EventBridgeRules(),
            self.workflows,
            *services,
        ]

        self.context = tpl.LocalContext(
            template=self.template, region=region, account_id=account_id, parameters=self.parameters
        )
        self.tables: dict[str, str] = {}
        self.queues: dict[str, dict[str, str]] = {}
        self.stream_arns: dict[str, str] = {}
        self.environment: dict[str, str] = {}
        self.functions = FunctionRegistry(tpl.functions(self.template), self.base_dir, region, account_id)
        self.layer_dirs = tpl.layer_python_dirs(self.template, self.base_dir)
        self.issuer: JwtIssuer | None = None
        self.ready = False

        self._gateway: HttpGateway | None = None
        self._moto = None
        self._moto_endpoint: str | None = None
        self._server: _GatewayServer | None = None
        self._server_thread: threading.Thread | None = None
        self._started_services: list[Service] = []
        self._saved_environ: dict[str, str | None] = {}
        self._added_paths: list[str] = []
        self._session: boto3.session.Session | None = None
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._quieted_werkzeug = False
        self._undo_labels: Callable[[], None] | None = None

    # -- public surface

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stack is not started")
        # Bound to every interface: this machine is still reached through loopback.
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104
        return f"http://{host}:{self._server.server_address[1]}"

    @property
    def moto_endpoint(self) -> str:
        if self._moto_endpoint is None:
            raise RuntimeError("the stack is not started")
        return self._moto_endpoint

    def add_service(self, service: Service) -> None:
        if self._server is not None:
            raise RuntimeError("add services before start()")
        self.services.append(service)

    def client(self, service_name: str) -> Any:
        """A boto3 client for the local AWS (moto, or a per-service endpoint set in the environment)."""
        with self._clients_lock:
            if service_name not in self._clients:
                if self._session is None:
                    raise RuntimeError("the stack is not started")
                self._clients[service_name] = self._session.client(service_name, region_name=self.region)
            return self._clients[service_name]

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a template function in-process (for direct invokes, schedules and workflow tasks)."""
        return self.functions.invoke(logical_id, event)

    # -- lifecycle

    def start(self) -> LocalStack:
        if self._server is not None or self._moto is not None:
            raise RuntimeError("the stack is already started")
        self.tables, self.queues, self.stream_arns, self.environment = {}, {}, {}, {}
        self._check_port()  # before the slow steps: a taken port fails at once
        self._undo_labels = install_invocation_labels()
        try:
            self._start_aws()
            self._create_resources()
            self._apply_function_environment()
            self._add_layers_to_path()
            self._start_http()
            self._start_services()
        except BaseException:
            self.stop()
            raise
        self.ready = True
        logger.info(
            "local stack ready at %s (%d routes, moto at %s)",
            self.base_url,
            len(self._gateway.specs),
            self.moto_endpoint,
        )
        if self.on_ready is not None:
            self.on_ready(self)
        return self

    def stop(self) -> None:
        """Stop in dependency order: the HTTP API (no new invocations), then the services (pollers, schedules, the
        WebSocket API; each ends its threads), and only then DynamoDB Local and moto, which they all call."""
        self.ready = False
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._server_thread is not None:
                self._server_thread.join(5)
            self._server = None
            self._server_thread = None
        for service in reversed(self._started_services):
            try:
                service.stop()
            except Exception:
                logger.exception("service %s failed to stop", getattr(service, "name", service))
        self._started_services.clear()
        self.workflows.stop()  # prepared before the services start: undone even when the start failed half-way
        if self._dynamodb_local is not None:
            self._dynamodb_local.stop()
            self._dynamodb_local = None
        if self._undo_moto_lock is not None:
            self._undo_moto_lock()
            self._undo_moto_lock = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
            self._moto_endpoint = None
        self._clients.clear()
        self._session = None
        self.functions.unload()
        for entry in self._added_paths:
            if entry in sys.path:
                sys.path.remove(entry)
        self._added_paths.clear()
        for name, value in self._saved_environ.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environ.clear()
        if self._quieted_werkzeug:
            logging.getLogger("werkzeug").setLevel(logging.NOTSET)
            self._quieted_werkzeug = False
        if self._undo_labels is not None:
            self._undo_labels()
            self._undo_labels = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    # -- steps

    def _set_environ(self, name: str, value: str | None) -> None:
        if name not in self._saved_environ:
            self._saved_environ[name] = os.environ.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def _start_aws(self) -> None:
        from moto.server import ThreadedMotoServer  # imported here: moto is heavy and only the runner needs it

        for name, value in FAKE_CREDENTIALS.items():
            self._set_environ(name, value)
        for name in REMOVED_VARIABLES:
            self._set_environ(name, None)
        self._set_environ("AWS_REGION", self.region)
        self._set_environ("AWS_DEFAULT_REGION", self.region)
        if "POWERTOOLS_TRACE_DISABLED" not in os.environ:  # no X-Ray daemon here
            self._set_environ("POWERTOOLS_TRACE_DISABLED", "true")
        if "POWERTOOLS_METRICS_DISABLED" not in os.environ:  # EMF on stdout is for CloudWatch, not a console
            self._set_environ("POWERTOOLS_METRICS_DISABLED", "true")
        werkzeug_logger = logging.getLogger("werkzeug")
        if werkzeug_logger.level == logging.NOTSET:  # moto's server logs every request otherwise
            werkzeug_logger.setLevel(logging.WARNING)
            self._quieted_werkzeug = True

        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        _, moto_port = self._moto.get_host_and_port()
        self._moto_endpoint = f"http://127.0.0.1:{moto_port}"
        self._set_environ("MOTO_PORT", str(moto_port))
        self._set_environ("AWS_ENDPOINT_URL", self._moto_endpoint)
        if self.reset_moto:
            # Our own moto server, over plain http.
            reset = f"{self._moto_endpoint}/moto-api/reset"
            request = urllib.request.Request(reset, method="POST", data=b"")
            urllib.request.urlopen(request, timeout=10).close()
        if self.dynamodb_engine == "moto":
            self._undo_moto_lock = serialise_moto_transactions()
        if self.dynamodb_engine == "local":
            from local.dynamodb_local import DynamoDBLocal

            self._dynamodb_local = DynamoDBLocal().start()
            for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS"):
                self._set_environ(name, self._dynamodb_local.endpoint)
        self._session = boto3.session.Session(region_name=self.region)

    def _create_resources(self) -> None:
        dynamodb = self.client("dynamodb")
        self.tables = tpl.create_tables(dynamodb, self.template)
        for logical_id, name in self.tables.items():
            description = dynamodb.describe_table(TableName=name)["Table"]
            stream_arn = description.get("LatestStreamArn")
            if stream_arn:
                self.stream_arns[logical_id] = stream_arn
            self.context.add_table(logical_id, name, stream_arn)
        self.queues = tpl.create_queues(self.client("sqs"), self.template, context=self.context)
        create_lifecycle_resources(self.template, self.client("events"), self.client("scheduler"), self.context)
        for function in self.functions:
            self.context.add_function(function.spec.logical_id, function.spec.logical_id)
        self.workflows.prepare(self)  # a state machine's ARN is in the functions' environment
        for api_id in tpl.resources_of_type(self.template, tpl.HTTP_API_TYPE):
            self.context.refs.setdefault(api_id, "local")

    def _apply_function_environment(self) -> None:
        # One process hosts every function, so their environments share os.environ. The functions name the
        # same things alike, so a union works; a real clash is reported, not silently resolved.
        for function in self.functions:
            resolved = tpl.resolve(function.spec.environment, self.context)
            for name, value in resolved.items():
                value = tpl.environment_string(value)
                if name in self.environment and self.environment[name] != value:
                    logger.warning(
                        "%s sets %s=%r but another function set %r; keeping the first",
                        function.spec.logical_id,
                        name,
                        value,
                        self.environment[name],
                    )
                    continue
                self.environment[name] = value
        for name, value in self.environment.items():
            self._set_environ(name, value)

    def _add_layers_to_path(self) -> None:
        # Stands in for Lambda mounting each layer's python/ folder at /opt/python.
        for folder in self.layer_dirs:
            python_dir = str(folder)
            if folder.is_dir() and python_dir not in sys.path:
                sys.path.insert(0, python_dir)
                self._added_paths.append(python_dir)

    def _check_port(self) -> None:
        if not self.port:
            return
        with socket.socket(_GatewayServer.address_family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no clash
            try:
                sock.bind((self.host, self.port))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise PortInUse(self.host, self.port) from None
                raise

    def _start_http(self) -> None:
        try:
            self._server = _GatewayServer((self.host, self.port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(self.host, self.port) from None
            raise
        self.issuer = JwtIssuer(issuer=f"{self.base_url}/local")
        self._gateway = HttpGateway(self)
        self._server.gateway = self._gateway
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="local-http", daemon=True
        )
        self._server_thread.start()

    def _start_services(self) -> None:
        served = {"HttpApi"}
        for service in self.services:
            service.start(self)
            self._started_services.append(service)
            served |= set(getattr(service, "event_types", ()))
        for function in self.functions:
            for event_type, _ in function.spec.events:
                if event_type not in served:
                    logger.info("%s: %s events are not served locally", function.spec.logical_id, event_type)
