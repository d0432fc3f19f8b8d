"""Log records name the function invocation that made them, though one process hosts every function.

Each Lambda function has a process of its own; here they share one, and Powertools' Logger is one instance whose
`inject_lambda_context` keys every thread shares, so they would name whichever function was invoked last. The
runtime marks each invocation with `labelled_invocation`, and the record factory installed here copies its labels
onto every record made meanwhile (a record's own attributes win over the Logger's shared keys).
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

# The invocation this thread (or task) is running for: the Lambda context keys Powertools' Logger writes.
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


@contextmanager
def labelled_invocation(context: Any) -> Iterator[None]:
    """Label the log records made in this block (and in the executor workers it starts) with `context`'s keys."""
    token = _INVOCATION.set(invocation_labels(context))
    try:
        yield
    finally:
        _INVOCATION.reset(token)


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
