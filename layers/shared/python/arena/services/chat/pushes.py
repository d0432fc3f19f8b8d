"""What `chat:<event>` subscribers receive: chat_message, chat_deleted, chat_reaction, chat_pinned, chat_presence.
Each goes through arena.services.realtime.sending.publish (the topic's seq, one 32 KB frame, 410 cleanup).

A push goes to every subscriber alike, so it names traders by public handle and name only (trader_names); an HTTP
answer is the caller's own: user ids for those `trader_names.sees_user_ids` admits, `mine` on their messages."""

from __future__ import annotations

from typing import Any

from arena.auth import Principal
from arena.domain.realtime import chat_topic
from arena.models.chat import ChatMessage
from arena.models.events import Event
from arena.services import trader_names
from arena.services.realtime.sending import Report, publish
from arena.store import chat as store


def to_out(record: store.MessageRecord, viewer: Principal | None = None, event: Event | None = None) -> ChatMessage:
    """The message as `viewer` may see it in `event` (no viewer: as pushed to everyone)."""
    names = trader_names.names_of([record.user_id, *([record.reply_to_user] if record.reply_to_user else [])])
    with_ids = event is not None and trader_names.sees_user_ids(viewer, event)
    author = names[record.user_id]
    return ChatMessage(
        id=record.id,
        event_id=record.event_id,
        author=author.handle,
        author_name=author.name,
        mine=viewer is not None and viewer.user_id == record.user_id,
        user_id=record.user_id if with_ids else None,
        text=record.text,
        created_at=record.created_at,
        reply_to=record.reply_to,
        reply_to_author=names[record.reply_to_user].handle if record.reply_to_user else None,
        reply_to_user=record.reply_to_user if with_ids else None,
        reactions=dict(record.reactions),
        pinned=record.pinned,
    )


def push(event_id: str, kind: str, data: dict[str, Any]) -> Report:
    return publish(chat_topic(event_id), kind, data)


def message(record: store.MessageRecord) -> Report:
    return push(record.event_id, "chat_message", to_out(record).model_dump(mode="json"))


def watchers(report: Report) -> int:
    """How many connections a publish reached or handed on: the topic's subscribers at that moment (those that
    answered 410 were removed)."""
    return report.outcome.sent + report.outcome.failed + report.outcome.queued
