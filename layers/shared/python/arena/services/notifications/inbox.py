"""The in-app channel: the dispatcher that stores the InAppQueue's notifications in the users' inboxes and pushes
each new one live on the user's WebSocket topic (`user:<id>`, message type `notification`), and the inbox reads and
writes the HTTP routes call (page, unread count, read one, read all).

The dispatcher is idempotent: the inbox item is the in-app delivery record. A message's items are deterministic
(ids, rendered text and times all follow from the cause) and go in with parallel BatchWriteItems (one plain write
each: no transaction, no separate record); a per-message batch mark, put conditionally after them, decides which
call counts them SENT and pushes them live, so a redelivered message stores, counts and pushes nothing twice
(arena/store/notifications.py `deliver_in_app`).
The push is best effort, like every real-time message: the inbox is the record, and a client that was not
connected reads it (and the unread count) over HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arena import clock
from arena.config import settings
from arena.domain import realtime as rt
from arena.domain.notifications import Channel, ChannelMessage, Notification
from arena.errors import NotFound
from arena.observability import logger
from arena.services.notifications import templates
from arena.services.realtime import sending
from arena.store import connections as connection_store
from arena.store import notifications as store
from arena.store.notifications import InboxItem

NOTIFICATION_MESSAGE = "notification"


@dataclass
class InboxReport:
    """What one in-app message did."""

    received: int = 0
    stored: int = 0
    pushed: int = 0


def dispatch(message: ChannelMessage) -> InboxReport:
    """Store the message's notifications (new ones only) and push the new ones to their users' open channels."""
    if message.channel is not Channel.IN_APP:
        raise ValueError(f"the in-app dispatcher got a {message.channel.value} message")
    now = clock.now()
    items = []
    # A broadcast's notifications say the same to everyone (one event's reminder): rendered once a message.
    rendered_by: dict[str, templates.Rendered] = {}
    for note in message.notifications:
        key = _render_key(note)
        rendered = rendered_by.get(key)
        if rendered is None:
            rendered = rendered_by[key] = templates.render(note, Channel.IN_APP)
        item = InboxItem(
            note.notification_id,
            note.user_id,
            note.type,
            note.event_id,
            rendered.title,
            rendered.body,
            note.data,
            note.created_at,
        )
        items.append((item, note.source))
    new = store.deliver_in_app(items, now)
    return InboxReport(len(items), len(new), _push_live(new))


def _render_key(note: Notification) -> str:
    """What an in-app rendering depends on (the templates see the type, event, data, locale and time, never the
    user)."""
    return json.dumps(
        [note.type.value, note.event_id, note.locale, clock.to_iso(note.created_at), note.data],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def to_message(item: InboxItem) -> dict[str, Any]:
    """An inbox item as the live message's data (and as the HTTP page shows it)."""
    return {
        "notification_id": item.notification_id,
        "type": item.type.value,
        "event_id": item.event_id,
        "title": item.title,
        "body": item.body,
        "data": item.data,
        "created_at": clock.to_iso(item.created_at),
        "read_at": clock.to_iso(item.read_at) if item.read_at else None,
    }


def _push_live(items: Sequence[InboxItem]) -> int:
    """Push to the users with their private channel open; the others read the inbox when they come back."""
    if not items:
        return 0
    connected = _connected_users()
    pushed = 0
    for item in items:
        if item.user_id not in connected:
            continue
        try:
            report = sending.publish(rt.user_topic(item.user_id), NOTIFICATION_MESSAGE, to_message(item))
        except Exception:
            logger.exception("live notification push failed", extra={"user_id": item.user_id})
            continue
        pushed += report.messages
    return pushed


_presence_lock = threading.Lock()
_presence: tuple[float, frozenset[str]] | None = None


def _connected_users() -> frozenset[str]:
    """Who has a private channel open (one read of the connections table's USERS partition), kept for
    `notifications_presence_seconds` per warm container: a big delivery reads it once, not once per recipient."""
    global _presence
    ttl = settings().notifications_presence_seconds
    with _presence_lock:
        if _presence is not None and time.monotonic() - _presence[0] < ttl:
            return _presence[1]
    users = frozenset(connection_store.channel_users())
    with _presence_lock:
        _presence = (time.monotonic(), users)
    return users


def forget_presence() -> None:
    """Tests: read who is connected again on the next delivery."""
    global _presence
    with _presence_lock:
        _presence = None


# ------------------------------------------------------------------------------------------------ HTTP reads


def page(user_id: str, cursor: str | None, limit: int, unread_only: bool = False) -> tuple[list[InboxItem], str | None]:
    return store.inbox_page(user_id, cursor, limit, unread_only)


def unread_count(user_id: str, cap: int = 99) -> int:
    """Counted up to cap + 1: above `cap` means "more than cap"."""
    return store.unread_count(user_id, cap)


def mark_read(user_id: str, notification_id: str) -> None:
    if not store.mark_read(user_id, notification_id, clock.now()):
        raise NotFound("No such notification in your inbox.", code="notification_not_found")


def read_all(user_id: str) -> datetime:
    """Everything in the inbox now is read; returns that moment."""
    now = clock.now()
    store.read_all(user_id, now)
    return now
