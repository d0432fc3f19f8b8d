"""Reading an event's chat: newest first, paged by an opaque cursor, with the pinned messages and how many watch."""

from __future__ import annotations

from arena.auth import Principal
from arena.models.chat import ChatHistory
from arena.services.chat import access, presence, pushes
from arena.store import chat as store


def history(principal: Principal, event_id: str, limit: int, cursor: str | None) -> ChatHistory:
    who = access.reader(principal, event_id)
    page = store.history(event_id, limit, cursor)
    pinned = [] if cursor else store.get_messages(event_id, store.pinned_ids(event_id))
    return ChatHistory(
        items=[pushes.to_out(m, principal, who.event) for m in page.items],
        next_cursor=page.next_cursor,
        watching=presence.watching(event_id),
        pinned=[pushes.to_out(m, principal, who.event) for m in pinned],
    )


def may_watch(principal: Principal, event_id: str) -> None:
    """Subscribing to `chat:<event>` follows the same rule as reading its history."""
    access.reader(principal, event_id)
