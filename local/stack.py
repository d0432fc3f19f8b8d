"""The whole template on one machine: moto for AWS, an HTTP API gateway, event-source pollers, services.

`LocalStack` is embeddable (tests start one on a free port) and is what `python -m local` runs. Order of start:

1. fake credentials and region in os.environ (never a real account), moto's ThreadedMotoServer (and DynamoDB Local
   unless moto is asked for), and AWS_ENDPOINT_URL pointing every boto3/pynamodb client at them;
2. the template's tables, queues, buses, schedule groups and state machines, then each function's environment
   resolved (table names, queue URLs) and put into os.environ, before any handler module is imported;
3. the HTTP API on HOST:PORT (local/gateway.py: routes, JWT auth, throttling, CORS, the `/local/` helper routes);
4. the services (`local.protocols.Service`): the WebSocket API, AppConfig, the SQS / DynamoDB stream pollers,
   the schedules, the EventBridge rules, the workflows, then any the caller adds.

Services see the stack as a `local.protocols.StackHandle`. One stack per process: moto's state is process-wide,
and the stack resets it when it starts.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from local import moto_dispatch, moto_sqs
from local import template as tpl
from local.appconfig import AppConfigService
from local.cognito import CognitoService
from local.event_sources import EventSourcePollers
from local.eventbridge import EventBridgeRules
from local.gateway import HttpGateway
from local.http_server import GatewayServer, PortInUse, bind_server, check_port, serve_in_background, shut_down
from local.jwt_issuer import JwtIssuer
from local.log_labels import install_invocation_labels
from local.notification_channels import NotificationChannelsService
from local.protocols import Service
from local.runtime import FunctionRegistry
from local.schedules import ScheduleService, create_lifecycle_resources
from local.websocket_api import WebSocketService
from local.workflows import WorkflowService

__all__ = ["LocalStack", "PortInUse", "Service", "serialise_moto_transactions"]

logger = logging.getLogger("local.stack")

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# A profile could name real credentials or a missing profile; neither belongs in a local run.
REMOVED_VARIABLES = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
SHARED_CLIENT_CONNECTIONS = 64


_MOTO_TRANSACTIONS = threading.Lock()
_moto_lock_holders = 0
_moto_lock_guard = threading.Lock()


def serialise_moto_transactions() -> Callable[[], None]:
    """moto rolls a transaction back by deep-copying whole tables, which breaks when two threads write at once.
    DynamoDB serialises conflicting transactions itself; this gives moto the same guarantee. Returns the undo.

    Counted, not stacked: the test session and each local stack in it install it, and they end in any order (a
    stack started before the session's tables stops after them); moto's own method comes back only when the last
    holder lets go, never while another still relies on the lock."""
    from moto.dynamodb.models import DynamoDBBackend

    global _moto_lock_holders
    with _moto_lock_guard:
        if _moto_lock_holders == 0:
            original = DynamoDBBackend.transact_write_items

            def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
                with _MOTO_TRANSACTIONS:
                    return original(self, *args, **kwargs)

            locked.moto_original = original  # type: ignore[attr-defined]
            DynamoDBBackend.transact_write_items = locked  # type: ignore[method-assign]
        _moto_lock_holders += 1

    released = False

    def undo() -> None:
        global _moto_lock_holders
        nonlocal released
        with _moto_lock_guard:
            if released:
                return
            released = True
            _moto_lock_holders -= 1
            if _moto_lock_holders == 0:
                DynamoDBBackend.transact_write_items = DynamoDBBackend.transact_write_items.moto_original  # type: ignore[attr-defined,method-assign]

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
        # The WebSocket API first: it sets the @connections endpoint the fan-out functions read.
        self.services: list[Service] = [
            WebSocketService(),
            AppConfigService(),  # before the pollers: it names the feature flags' AppConfig ids to the functions
            CognitoService(),  # the user pool and its groups (roles); the token issuer signs users in from it
            NotificationChannelsService(),  # SES, SNS push, fake Discord/Telegram: their settings before the pollers
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
        self.buckets: dict[str, str] = {}  # logical id -> bucket name (moto S3)
        self.delivery_streams: dict[str, str] = {}  # logical id -> Firehose delivery stream name (moto)
        self.environment: dict[str, str] = {}
        self.functions = FunctionRegistry(tpl.functions(self.template), self.base_dir, region, account_id)
        self.layer_dirs = tpl.layer_python_dirs(self.template, self.base_dir)
        self.issuer: JwtIssuer | None = None
        self.ready = False

        self._gateway: HttpGateway | None = None
        self._moto = None
        self._moto_endpoint: str | None = None
        self._server: GatewayServer | None = None
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
    def reachable_host(self) -> str:
        """The host a client on this machine reaches the stack's listeners at."""
        # Bound to every interface: this machine is still reached through loopback.
        return "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host  # noqa: S104

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the stack is not started")
        return f"http://{self.reachable_host}:{self._server.server_address[1]}"

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
                # One client per service is shared by every poller, schedule and WebSocket worker thread: a pool as
                # big as the threads that may hold a connection at once (botocore's default is 10)
                config = Config(max_pool_connections=SHARED_CLIENT_CONNECTIONS)
                self._clients[service_name] = self._session.client(service_name, region_name=self.region, config=config)
            return self._clients[service_name]

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a template function in-process (for direct invokes, schedules and workflow tasks)."""
        return self.functions.invoke(logical_id, event)

    def set_environ(self, name: str, value: str | None) -> None:
        """Set (or, with None, remove) a process environment variable; `stop()` restores its value from before
        the first change. One process hosts every function, so this is how a service reaches their settings."""
        if name not in self._saved_environ:
            self._saved_environ[name] = os.environ.get(name)
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    def set_function_environ(self, name: str, value: str) -> None:
        """Set one variable of the functions' environment: `environment` (what they were given) and os.environ."""
        self.environment[name] = value
        self.set_environ(name, value)

    # -- lifecycle

    def start(self) -> LocalStack:
        if self._server is not None or self._moto is not None:
            raise RuntimeError("the stack is already started")
        self.tables, self.queues, self.stream_arns, self.environment = {}, {}, {}, {}
        self.buckets, self.delivery_streams = {}, {}
        check_port(self.host, self.port)  # before the slow steps: a taken port fails at once
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
            shut_down(self._server, self._server_thread)
            self._server = None
            self._server_thread = None
        for service in reversed(self._started_services):
            request_stop = getattr(service, "request_stop", None)
            if request_stop is not None:
                request_stop()  # every loop told first, so their waits and long polls end together
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

    def _start_aws(self) -> None:
        from moto.server import ThreadedMotoServer  # imported here: moto is heavy and only the runner needs it

        for name, value in FAKE_CREDENTIALS.items():
            self.set_environ(name, value)
        for name in REMOVED_VARIABLES:
            self.set_environ(name, None)
        self.set_environ("AWS_REGION", self.region)
        self.set_environ("AWS_DEFAULT_REGION", self.region)
        if "POWERTOOLS_TRACE_DISABLED" not in os.environ:  # no X-Ray daemon here
            self.set_environ("POWERTOOLS_TRACE_DISABLED", "true")
        if "POWERTOOLS_METRICS_DISABLED" not in os.environ:  # EMF on stdout is for CloudWatch, not a console
            self.set_environ("POWERTOOLS_METRICS_DISABLED", "true")
        werkzeug_logger = logging.getLogger("werkzeug")
        if werkzeug_logger.level == logging.NOTSET:  # moto's server logs every request otherwise
            werkzeug_logger.setLevel(logging.WARNING)
            self._quieted_werkzeug = True

        moto_sqs.install()  # SendMessage in O(1), not O(queue depth) (local/moto_sqs.py)
        moto_dispatch.install()  # a request's service found once per host (local/moto_dispatch.py)
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        _, moto_port = self._moto.get_host_and_port()
        self._moto_endpoint = f"http://127.0.0.1:{moto_port}"
        self.set_environ("MOTO_PORT", str(moto_port))
        self.set_environ("AWS_ENDPOINT_URL", self._moto_endpoint)
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
                self.set_environ(name, self._dynamodb_local.endpoint)
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
        self.buckets = tpl.create_buckets(self.client("s3"), self.template, self.context)
        self.delivery_streams = tpl.create_delivery_streams(self.client("firehose"), self.template, self.context)
        tpl.name_glue_resources(self.template, self.context)
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
            self.set_environ(name, value)

    def _add_layers_to_path(self) -> None:
        # Stands in for Lambda mounting each layer's python/ folder at /opt/python.
        for folder in self.layer_dirs:
            python_dir = str(folder)
            if folder.is_dir() and python_dir not in sys.path:
                sys.path.insert(0, python_dir)
                self._added_paths.append(python_dir)

    def _start_http(self) -> None:
        self._server = bind_server(self.host, self.port)
        self.issuer = JwtIssuer(issuer=f"{self.base_url}/local")
        self._gateway = HttpGateway(self)
        self._server.gateway = self._gateway
        self._server_thread = serve_in_background(self._server, "local-http")

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
