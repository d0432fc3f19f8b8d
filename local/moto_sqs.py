"""moto's SQS made linear: moto 5.2's SendMessage reads `queue.attributes` for one flag (ContentBasedDeduplication),
and that property computes every attribute, three of them by walking every message in the queue (approximate
counts, each message's time read through `unix_time`). Each send then costs O(queue depth): a notification fan-out
that puts 100,000 messages on a queue becomes quadratic (one SendMessageBatch of 10 into a queue 100,000 deep took
seconds). Locally, while a message is being sent, `attributes` answers that one flag only; every other reader
(GetQueueAttributes, the CloudWatch-like counts) gets moto's full answer as before. SQS itself has no such cost."""

from __future__ import annotations

import threading
from typing import Any

_sending = threading.local()
_installed = False
_guard = threading.Lock()


def install() -> None:
    """Idempotent: patch moto's SQS backend once per process."""
    global _installed
    with _guard:
        if _installed:
            return
        from moto.sqs import models

        full_attributes = models.Queue.attributes

        def attributes(self: Any) -> dict[str, Any]:
            if getattr(_sending, "active", False):
                flag = getattr(self, "content_based_deduplication", False)
                return {"ContentBasedDeduplication": str(flag).lower() if isinstance(flag, bool) else flag}
            return full_attributes.fget(self)  # type: ignore[attr-defined,no-any-return]

        send_message = models.SQSBackend.send_message

        def sending(self: Any, *args: Any, **kwargs: Any) -> Any:
            _sending.active = True
            try:
                return send_message(self, *args, **kwargs)
            finally:
                _sending.active = False

        models.Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
        models.SQSBackend.send_message = sending  # type: ignore[method-assign]
        _installed = True
