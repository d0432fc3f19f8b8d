"""What every event-source poller shares: a background loop around `poll_once()`, the handler call, and the reading
of a partial batch response (ReportBatchItemFailures)."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any

logger = logging.getLogger("local.pollers")

Handler = Callable[[dict[str, Any]], Any]


def failed_item_ids(result: Any, batch_ids: Sequence[str]) -> list[str] | None:
    """The item identifiers of a partial batch response, or None when the response means "whole batch failed".

    Lambda treats a response naming an empty, null or unknown itemIdentifier as a failure of the whole batch.
    """
    if result is None or not isinstance(result, Mapping):
        return []
    failures = result.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        return None
    known = set(batch_ids)
    ids = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in known:
            return None
        ids.append(identifier)
    return ids


# ---------------------------------------------------------------------------------------------- base


class Poller(ABC):
    """A background loop around `poll_once()`; `stop()` ends it within about one poll."""

    idle_interval = 0.0

    def __init__(self, handler: Handler, name: str):
        self.handler = handler
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # What the stack reports under /local/health's "event_sources" (load and soak runs read it): batches handed
        # to the handler, their records, batches that raised, batches with item failures, batches given up on.
        self.stats = {"batches": 0, "records": 0, "failed_batches": 0, "partial_failures": 0, "skipped_batches": 0}

    @abstractmethod
    def poll_once(self) -> int:
        """Deliver at most one batch; returns how many records it delivered."""

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end without waiting for it (stop() waits)."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("poller %s did not stop within %.0fs", self.name, timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delivered = self.poll_once()
            except Exception:  # the source itself failed (e.g. the engine restarted): log, back off, go on
                if self._stop.is_set():
                    return  # the stack is stopping and its engines with it: nothing to report
                logger.exception("poller %s failed to poll", self.name)
                self._stop.wait(1.0)
                continue
            if not delivered and self.idle_interval:
                self._stop.wait(self.idle_interval)

    def _invoke(self, event: dict[str, Any]) -> tuple[bool, Any]:
        """(succeeded, result) of one invocation; an exception is logged with its traceback, like Lambda."""
        self.stats["batches"] += 1
        self.stats["records"] += len(event.get("Records", []))
        try:
            return True, self.handler(event)
        except Exception:
            self.stats["failed_batches"] += 1
            if self._stop.is_set():  # cut off by the stack stopping; the batch is not checkpointed either way
                logger.debug("handler of %s raised while stopping", self.name, exc_info=True)
            else:
                logger.exception("handler of %s raised on a batch of %d", self.name, len(event.get("Records", [])))
            return False, None
