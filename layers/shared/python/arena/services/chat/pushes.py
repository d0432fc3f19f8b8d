"""What `chat:<event>` subscribers receive: chat_message, chat_deleted, chat_reaction, chat_pinned, chat_presence.
Each goes through arena.services.realtime.sending.publish (the topic's seq, one 32 KB frame, 410 cleanup)."""

from __future__ import annotations

from typing import Any

from arena.domain.realtime import chat_topic
from arena.models.chat import ChatMessage
from arena.services.realtime.sending import Report, publish
from arena.store import chat as store


def to_out(record: store.MessageRecord) -> ChatMessage:
    return ChatMessage(
        id=record.id,
        event_id=record.event_id,
        user_id=record.user_id,
        text=record.text,
        created_at=record.created_at,
        reply_to=record.reply_to,
        reply_to_user=record.reply_to_user,
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
