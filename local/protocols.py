"""What the local stack's parts may use of each other, so they depend on these shapes and not on `local.stack`.

`LocalStack` (local/stack.py) satisfies `StackHandle` and `GatewayHost`; the services it starts (WebSocket API,
AppConfig, pollers, schedules, EventBridge rules, workflows) see it only as a `StackHandle`, and the HTTP gateway
as a `GatewayHost`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from local.jwt_issuer import JwtIssuer
    from local.runtime import FunctionRegistry
    from local.template import LocalContext


class StackHandle(Protocol):
    """The stack as a service sees it: the template, what it resolved, its functions, AWS clients, the environment.

    `context` resolves the template's intrinsics (names, ARNs, URLs of what the stack created); `queues` is
    {logical id: {"url", "arn", "name"}}; `buckets` and `delivery_streams` are {logical id: name}; `stream_arns` is
    {table logical id: stream ARN}; `environment` is the functions' merged environment; `issuer` signs and checks
    the tokens (set once the HTTP API listens).
    """

    template: dict[str, Any]
    base_dir: Path
    context: LocalContext
    functions: FunctionRegistry
    region: str
    account_id: str
    host: str
    port: int
    queues: dict[str, dict[str, str]]
    buckets: dict[str, str]
    delivery_streams: dict[str, str]
    stream_arns: dict[str, str]
    environment: dict[str, str]
    issuer: JwtIssuer | None

    @property
    def reachable_host(self) -> str:
        """The host a client on this machine reaches the stack's listeners at (loopback when bound to all)."""
        ...

    def client(self, service_name: str) -> Any:
        """A boto3 client for the local AWS (moto, or a per-service endpoint set in the environment)."""
        ...

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Invoke a template function in-process; its exception propagates."""
        ...

    def set_environ(self, name: str, value: str | None) -> None:
        """Set (or, with None, remove) a process environment variable until the stack stops, which restores it."""
        ...

    def set_function_environ(self, name: str, value: str) -> None:
        """Set one variable of the functions' environment (os.environ and `environment`) until the stack stops."""
        ...


@runtime_checkable
class Service(Protocol):
    """Something the stack starts after its core and stops before it (in reverse order).

    A service that runs event sources sets `event_types` (e.g. {"Schedule"}) so the stack does not report those as
    not served; it may also report itself in `/local/health` (`health()`) and answer `/local/...` helper routes
    (`local_route(method, path, body)`, None for a path it does not serve). One whose `stop()` waits for threads may
    offer `request_stop()`, which only signals them: the stack signals every service before it waits for any.
    """

    name: str

    def start(self, stack: StackHandle) -> None: ...

    def stop(self) -> None: ...


class GatewayHost(StackHandle, Protocol):
    """The stack as its HTTP gateway sees it: a `StackHandle` plus what `/local/health` reports."""

    template_path: Path
    layer_dirs: Sequence[Path]
    services: Sequence[Service]
    ready: bool

    @property
    def moto_endpoint(self) -> str: ...
