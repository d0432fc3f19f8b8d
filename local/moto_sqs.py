"""moto's SQS made linear. moto 5.2 walks a queue's every message on each call that touches one:

- SendMessage reads `queue.attributes` for one flag (ContentBasedDeduplication), and that property computes every
  attribute, three of them by walking every message (approximate counts, each message's time read through
  `unix_time`);
- ReceiveMessage iterates `queue.messages`, a list built by checking every message's visibility and delay (two
  clock reads each), to take the first 10, and checks each message it takes against the retention period read
  through GetQueueAttributes, which computes `queue.attributes` three times: nine walks per message received;
- DeleteMessage walks every message twice (is the handle known? then a rebuilt list without it).

So a notification fan-out that puts 100,000 messages on a queue becomes quadratic: one SendMessageBatch of 10 into
a queue 100,000 deep took seconds, and with 10,000 email messages waiting every receive and every delete paid a
walk of all of them. Locally:

- while a message is being sent, `attributes` answers that one flag only; every other reader (GetQueueAttributes,
  the CloudWatch-like counts) gets moto's full answer as before;
- the retention check reads the queue's retention period itself;
- `queue.messages` is a lazy view of the visible messages: ReceiveMessage stops at the first `count` visible ones
  (the messages in flight, at most the pollers' batches, are skipped), its truthiness stops at the first, and its
  length is moto's count;
- DeleteMessage finds the message in one pass that stops at it (messages are received, so deleted, roughly in the
  order they were sent: near the front) and removes it in place, so a message sent meanwhile is never dropped by
  a list rebuilt without it.

What a queue answers is moto's; SQS itself has none of these costs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

_sending = threading.local()
_installed = False
_guard = threading.Lock()


class _VisibleMessages:
    """A queue's visible, undelayed messages in queue order, read lazily from a snapshot of the list."""

    def __init__(self, queue: Any) -> None:
        self._queue = queue

    def __iter__(self) -> Iterator[Any]:
        for message in list(self._queue._messages):
            if message.visible and not message.delayed:
                yield message

    def __bool__(self) -> bool:
        return next(iter(self), None) is not None

    def __len__(self) -> int:
        return sum(1 for _ in self)


def install() -> None:
    """Idempotent: patch moto's SQS backend once per process."""
    global _installed
    with _guard:
        if _installed:
            return
        from moto.core.utils import unix_time
        from moto.sqs import models
        from moto.sqs.exceptions import ReceiptHandleIsInvalid

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

        def within_retention(self: Any, queue_name: str, message: Any) -> bool:
            retention = int(self.get_queue(queue_name).message_retention_period)
            return bool(retention + message.sent_timestamp / 1000 > unix_time())

        def messages(self: Any) -> _VisibleMessages:
            return _VisibleMessages(self)

        def delete_message(self: Any, receipt_handle: str) -> None:
            if receipt_handle in self.deleted_messages:
                return  # deleted before: SQS accepts a second delete
            found = next((m for m in list(self._messages) if m.had_receipt_handle(receipt_handle)), None)
            if found is None:
                raise ReceiptHandleIsInvalid()
            with contextlib.suppress(ValueError):  # another delete of the same message won the race
                self._messages.remove(found)
            self.pending_messages.discard(found)
            self.deleted_messages.update(found.all_receipt_handles)

        models.Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
        models.Queue.messages = property(messages)  # type: ignore[assignment,method-assign]
        models.Queue.delete_message = delete_message  # type: ignore[method-assign]
        models.SQSBackend.send_message = sending  # type: ignore[method-assign]
        models.SQSBackend.is_message_valid_based_on_retention_period = within_retention  # type: ignore[method-assign]
        _installed = True
