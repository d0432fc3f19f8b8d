"""Log lines of the local stack name the function and request that wrote them.

One process hosts every function and Powertools' Logger is one shared instance: the keys `inject_lambda_context`
appends are shared by every thread, so without the stack's labels a line carries whichever function was invoked
last (about a third of the lines did under the demo).
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.log_labels import install_invocation_labels
from local.runtime import FunctionRegistry
from local.template import FunctionSpec

SHARED = """
import io, logging
from aws_lambda_powertools import Logger
BUFFER = io.StringIO()
logger = Logger(service="labels", level="INFO", logger_handler=logging.StreamHandler(BUFFER))
"""

HANDLER = """
from concurrent.futures import ThreadPoolExecutor
from labels_shared import logger

@logger.inject_lambda_context
def handler(event, context):
    for line in range(event["lines"]):
        event["barrier"].wait(5)  # both functions are inside their invocations at every line
        logger.info("direct", extra={"writer": "{name}", "line": line})
    with ThreadPoolExecutor(max_workers=2) as pool:  # lines from a handler's worker threads are its lines too
        list(pool.map(lambda line: logger.info("worker", extra={"writer": "{name}", "line": line}), range(4)))
    return context.aws_request_id
"""


@pytest.fixture
def functions(tmp_path: Path) -> Iterator[FunctionRegistry]:
    (tmp_path / "fns").mkdir()
    (tmp_path / "labels_shared.py").write_text(SHARED)
    for name in ("AlphaFunction", "BetaFunction"):
        (tmp_path / "fns" / f"{name.lower()}.py").write_text(HANDLER.replace("{name}", name))
    sys.path.insert(0, str(tmp_path))
    specs = [
        FunctionSpec(name, "fns/", f"{name.lower()}.handler", {}, [], timeout=10, memory=256)
        for name in ("AlphaFunction", "BetaFunction")
    ]
    registry = FunctionRegistry(specs, tmp_path, "us-east-1", "123456789012")
    undo = install_invocation_labels()
    try:
        yield registry
    finally:
        undo()
        registry.unload()
        sys.path.remove(str(tmp_path))
        sys.modules.pop("labels_shared", None)


def test_each_line_names_the_function_and_request_that_wrote_it(functions: FunctionRegistry) -> None:
    """Given two functions sharing one Powertools Logger
    When they are invoked at the same time and log in lockstep (and from worker threads)
    Then every line carries the function name and request id of the invocation that wrote it."""
    barrier = threading.Barrier(2)
    request_ids: dict[str, str] = {}

    def invoke(name: str) -> None:
        request_ids[name] = functions.invoke(name, {"lines": 25, "barrier": barrier})

    threads = [threading.Thread(target=invoke, args=(name,)) for name in ("AlphaFunction", "BetaFunction")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    buffer: io.StringIO = sys.modules["labels_shared"].BUFFER
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert len(lines) == 2 * (25 + 4)
    assert set(request_ids) == {"AlphaFunction", "BetaFunction"}
    for line in lines:
        assert line["function_name"] == line["writer"], line
        assert line["function_request_id"] == request_ids[line["writer"]], line
        assert line["function_arn"].endswith(f":function:{line['writer']}"), line


def test_lines_outside_invocations_are_left_alone(functions: FunctionRegistry) -> None:
    """Given the labels installed When the stack itself logs, outside any invocation Then no label is added."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    stack_logger = logging.getLogger("local.test-labels")
    stack_logger.addHandler(handler)
    stack_logger.propagate = False
    try:
        stack_logger.warning("a stack line")
    finally:
        stack_logger.removeHandler(handler)
    assert not hasattr(records[0], "function_name")
