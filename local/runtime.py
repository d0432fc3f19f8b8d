"""The template's functions run in this process, as the Lambda runtime would run them.

A handler module is imported from its CodeUri once per execution environment, under a name unique to its file
(two areas may both have list.py, and neither may shadow a real package); an environment serves one invocation at
a time, so concurrent invocations of one function each get a copy of its module, kept warm afterwards.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from local import template as tpl
from local.log_labels import labelled_invocation
from local.template import DEFAULT_ACCOUNT_ID, DEFAULT_REGION

logger = logging.getLogger("local.stack")  # the stack's own lines share one logger name


class LambdaContext:
    """The context object the Python runtime passes to a handler, for a function run in-process."""

    def __init__(
        self,
        function_name: str,
        *,
        memory_limit_in_mb: int = 128,
        timeout_seconds: float = 3,
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        function_version: str = "$LATEST",
        aws_request_id: str | None = None,
    ):
        self.function_name = function_name
        self.function_version = function_version
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account_id}:function:{function_name}"
        self.memory_limit_in_mb = int(memory_limit_in_mb)
        self.aws_request_id = aws_request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        started = datetime.now(UTC)
        self.log_stream_name = f"{started:%Y/%m/%d}/[{function_version}]{os.urandom(16).hex()}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + float(timeout_seconds)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"LambdaContext(function_name={self.function_name!r}, aws_request_id={self.aws_request_id!r})"


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
        try:
            with labelled_invocation(context):
                return handler(event, context)
        finally:
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


def clear_cached_factories() -> None:
    """Forget what arena's cached factories built (arena/factories.py: settings, clients, the flags store) before a
    service set the functions' environment, so it is built again from the new values; nothing when arena is not
    imported yet."""
    factories = sys.modules.get("arena.factories")
    if factories is not None:
        factories.reset()
