"""Moderating an event's chat (admins and the event's managers): mute for a time, ban, lift either, the word
filter, the chat settings, pins; the chat's audit trail. Each change is written in one transaction with its audit
record, and read by the next post or read on either path (no cache in between), so it takes effect at once."""

from __future__ import annotations

from datetime import timedelta

from arena import clock
from arena.auth import Principal
from arena.domain import chat as rules
from arena.errors import Conflict, InvalidInput, NotFound
from arena.models.chat import (
    BanOut,
    BanRequest,
    ChatMessage,
    ChatSettings,
    ChatSettingsOut,
    Lifted,
    MuteOut,
    MuteRequest,
    WordFilter,
    WordFilterOut,
)
from arena.models.common import AuditEntry, AuditPage
from arena.services.chat import access, pushes
from arena.store import audit, dynamo
from arena.store import chat as store


def _audited(
    event_id: str, actions: list[dict], principal: Principal, action: str, reason: str, **details: object
) -> bool:
    record = audit.record_action(
        audit.chat_subject(event_id), principal.user_id, action, clock.now(), reason, **details
    )
    return dynamo.transact_write([*actions, record]) is None


def mute(principal: Principal, event_id: str, request: MuteRequest) -> MuteOut:
    access.moderator(principal, event_id)
    now = clock.now()
    value = rules.Mute(request.user_id, now + timedelta(minutes=request.minutes), request.reason, principal.user_id)
    _audited(
        event_id,
        [store.mute_action(event_id, value)],
        principal,
        "chat_mute",
        request.reason,
        user_id=request.user_id,
        until=clock.to_iso(value.until),
    )
    return MuteOut(event_id=event_id, user_id=value.user_id, until=value.until, reason=value.reason, by=value.by)


def ban(principal: Principal, event_id: str, request: BanRequest) -> BanOut:
    access.moderator(principal, event_id)
    value = rules.Ban(request.user_id, request.reason, principal.user_id, clock.now())
    _audited(
        event_id, [store.ban_action(event_id, value)], principal, "chat_ban", request.reason, user_id=request.user_id
    )
    return BanOut(event_id=event_id, user_id=value.user_id, reason=value.reason, by=value.by, at=value.at)


def _lift(principal: Principal, event_id: str, user_id: str, kind: str, reason: str | None) -> Lifted:
    access.moderator(principal, event_id)
    action = "chat_unmute" if kind == "MUTE" else "chat_unban"
    lifted = _audited(
        event_id,
        [store.lift_action(event_id, kind, user_id)],
        principal,
        action,
        reason or f"{action[5:]} by a moderator",
        user_id=user_id,
    )
    return Lifted(event_id=event_id, user_id=user_id, lifted=lifted)


def unmute(principal: Principal, event_id: str, user_id: str, reason: str | None = None) -> Lifted:
    """Idempotent: lifting a mute that is not there changes nothing and writes no audit record."""
    return _lift(principal, event_id, user_id, "MUTE", reason)


def unban(principal: Principal, event_id: str, user_id: str, reason: str | None = None) -> Lifted:
    return _lift(principal, event_id, user_id, "BAN", reason)


def get_filter(principal: Principal, event_id: str) -> WordFilterOut:
    access.moderator(principal, event_id)
    return WordFilterOut(event_id=event_id, words=store.state(event_id, None).filter_words)


def put_filter(principal: Principal, event_id: str, request: WordFilter) -> WordFilterOut:
    access.moderator(principal, event_id)
    try:
        words = rules.clean_filter(request.words)
    except rules.MessageRefused as refused:
        details = [{"field": "words", "message": refused.message, "type": refused.kind}]
        raise InvalidInput(f"words: {refused.message}.", code="invalid_word_filter", details=details) from None
    now = clock.now()
    _audited(
        event_id,
        [store.filter_action(event_id, words, principal.user_id, now)],
        principal,
        "chat_filter",
        f"word filter set ({len(words)} entries)",
        words=words,
    )
    return WordFilterOut(event_id=event_id, words=words)


def _settings_out(event_id: str, value: rules.Settings) -> ChatSettingsOut:
    return ChatSettingsOut(event_id=event_id, enabled=value.enabled, read=value.read, write=value.write)


def get_settings(principal: Principal, event_id: str) -> ChatSettingsOut:
    access.moderator(principal, event_id)
    return _settings_out(event_id, store.state(event_id, None).settings)


def put_settings(principal: Principal, event_id: str, request: ChatSettings) -> ChatSettingsOut:
    access.moderator(principal, event_id)
    value = rules.Settings(enabled=request.enabled, read=request.read, write=request.write)
    _audited(
        event_id,
        [store.settings_action(event_id, value, principal.user_id, clock.now())],
        principal,
        "chat_settings",
        "chat settings changed",
        enabled=value.enabled,
        read=value.read.value,
        write=value.write.value,
    )
    return _settings_out(event_id, value)


def pin(principal: Principal, event_id: str, message_id: str, pinned: bool) -> ChatMessage:
    """Pin (or unpin) a message: shown above the history, pushed as `chat_pinned`. Idempotent."""
    event = access.moderator(principal, event_id)
    record = store.get_message(event_id, message_id)
    if record is None:
        raise NotFound("No such message in this chat.", code="chat_message_not_found")
    if record.pinned == pinned:
        return pushes.to_out(record, principal, event)
    if pinned and len(store.pinned_ids(event_id)) >= rules.MAX_PINS:
        raise Conflict(f"An event pins at most {rules.MAX_PINS} messages; unpin one first.", code="too_many_pins")
    if not store.set_pinned(event_id, message_id, pinned, clock.now()):
        raise NotFound("No such message in this chat.", code="chat_message_not_found")
    audit.append(
        audit.chat_subject(event_id),
        principal.user_id,
        "chat_pin" if pinned else "chat_unpin",
        clock.now(),
        "pinned by a moderator" if pinned else "unpinned by a moderator",
        message_id=message_id,
    )
    after = store.get_message(event_id, message_id) or record
    public = pushes.to_out(after).model_dump(mode="json")
    pushes.push(event_id, "chat_pinned", {"event_id": event_id, "pinned": pinned, "message": public})
    return pushes.to_out(after, principal, event)


def trail(principal: Principal, event_id: str, limit: int, cursor: str | None) -> AuditPage:
    """The chat's moderation audit (mutes, bans, deletions with their text, filter, settings, pins, reports),
    newest first, paged by an opaque cursor."""
    access.moderator(principal, event_id)
    items, next_cursor = audit.page(audit.chat_subject(event_id), limit, cursor)
    return AuditPage(items=[AuditEntry.from_record(i) for i in items], next_cursor=next_cursor)
