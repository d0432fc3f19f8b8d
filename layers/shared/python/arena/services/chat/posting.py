"""Posting, deleting and reacting. HTTP (functions/chat/chat_api.py) and the WebSocket `chat` action
(functions/realtime/websocket_api.py) both post through `post`: the same checks, the same record, the same push.

Not idempotent by design: each post is a new message (as each chat line typed is); reactions are."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from arena import clock
from arena.auth import Principal
from arena.domain import chat as rules
from arena.errors import Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated
from arena.ids import new_id
from arena.models.chat import ChatMessage, DeletedMessage, ReactionOut
from arena.services import rate_limiting, trader_names
from arena.services.chat import access, presence, pushes
from arena.services.realtime.sending import now_iso
from arena.store import audit
from arena.store import chat as store
from arena.store import connections as connection_store


def _invalid(refused: rules.MessageRefused, field: str) -> InvalidInput:
    details: list[dict[str, Any]] = [{"field": field, "message": refused.message, "type": refused.kind}]
    if refused.word is not None:
        details[0]["word"] = refused.word
    code = "chat_filtered" if refused.kind == "chat_filtered" else "invalid_chat_message"
    return InvalidInput(f"{field} {refused.message}.", code=code, details=details)


def _rate(principal: Principal) -> None:
    decision = rate_limiting.check_chat(principal)
    if decision is not None and not decision.allowed:
        raise RateLimited(
            f"You are posting too fast; retry in {decision.retry_after_seconds} s.",
            code="chat_rate_limited",
            details={"limit": decision.limit, "retry_after_seconds": decision.retry_after_seconds},
            headers=decision.headers(),
        )


def post(principal: Principal, event_id: str, text: Any, reply_to: str | None = None) -> ChatMessage:
    """Post a message: the poster's standing (403 with the code, reason and until-when for a mute or ban), the
    text (422: the free-text policy, length, the event's word filter), the rate (429 with Retry-After), the reply's
    parent (404), then stored and pushed to `chat:<event>` as `chat_message`."""
    who = access.writer(principal, event_id)
    try:
        cleaned = rules.clean_message(text, who.state.filter_words)
    except rules.MessageRefused as refused:
        raise _invalid(refused, "text") from None
    parent = None
    if reply_to is not None:
        parent = store.get_message(event_id, reply_to) if isinstance(reply_to, str) and reply_to.isalnum() else None
        if parent is None:
            raise NotFound("The message you reply to is not in this chat.", code="chat_message_not_found")
    _rate(principal)  # last: a refused post does not use up the poster's allowance
    now = clock.now()
    record = store.MessageRecord(
        event_id=event_id,
        id=new_id(),
        user_id=principal.user_id,
        text=cleaned,
        created_at=now,
        reply_to=parent.id if parent else None,
        reply_to_user=parent.user_id if parent else None,
        expires_at=store.expiry(now),
    )
    store.put_message(record)
    report = pushes.message(record)
    presence.observed(event_id, pushes.watchers(report))
    return pushes.to_out(record, principal, who.event)


def post_from_connection(connection_id: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """The WebSocket `chat` action: {"action": "chat", "event_id", "text", "reply_to"?} from a connection's user,
    through `post`. Answers {"type": "chat_posted", "message"}."""
    event_id = access.event_id_of(message)
    connection = connection_store.get_connection(connection_id)
    if connection is None:
        raise Unauthenticated("This connection is not known; reconnect.", code="connection_unknown")
    principal = access.principal_of(connection.user_id, connection.roles)
    reply_to = message.get("reply_to")
    if reply_to is not None and not isinstance(reply_to, str):
        raise NotFound("The message you reply to is not in this chat.", code="chat_message_not_found")
    posted = post(principal, event_id, message.get("text"), reply_to)
    return {"type": "chat_posted", "message": posted.model_dump(mode="json"), "ts": now_iso()}


def delete(principal: Principal, event_id: str, message_id: str, reason: str | None = None) -> DeletedMessage:
    """Authors delete their own messages; admins and the event's managers any. Audited; the message leaves the
    history at once and `chat_deleted` goes out. Deleting what is already gone answers deleted=false."""
    who = access.caller(principal, event_id)
    record = store.get_message(event_id, message_id)
    if record is None:
        return DeletedMessage(event_id=event_id, message_id=message_id, deleted=False)
    if record.user_id != principal.user_id and not who.is_manager:
        raise Forbidden("Only its author and the event's moderators delete a message.", code="not_message_author")
    removed = store.delete_message(event_id, message_id)
    if removed is None:
        return DeletedMessage(event_id=event_id, message_id=message_id, deleted=False)
    by_author = removed.user_id == principal.user_id
    audit.append(
        audit.chat_subject(event_id),
        principal.user_id,
        "chat_delete_own" if by_author else "chat_delete",
        clock.now(),
        reason or ("deleted by its author" if by_author else "deleted by a moderator"),
        message_id=message_id,
        author=removed.user_id,
        text=removed.text,
    )
    # Who deleted it is said as "its author" or "a moderator", never by user id (the push goes to everyone).
    data = {"event_id": event_id, "message_id": message_id, "by_moderator": not by_author}
    pushes.push(event_id, "chat_deleted", data)
    return DeletedMessage(event_id=event_id, message_id=message_id, deleted=True)


def react(principal: Principal, event_id: str, message_id: str, emoji: str, remove: bool = False) -> ReactionOut:
    """Add (or remove) the caller's reaction: once per user, emoji and message, however often it is sent."""
    who = access.writer(principal, event_id)
    try:
        emoji = rules.clean_reaction(emoji)
    except rules.MessageRefused as refused:
        raise _invalid(refused, "emoji") from None
    record = store.get_message(event_id, message_id)
    if record is None:
        raise NotFound("No such message in this chat.", code="chat_message_not_found")
    if not remove and emoji not in record.reactions and len(record.reactions) >= rules.MAX_REACTION_KINDS:
        raise InvalidInput(
            f"A message takes at most {rules.MAX_REACTION_KINDS} kinds of reaction.", code="too_many_reactions"
        )
    try:
        changed = store.set_reaction(event_id, message_id, principal.user_id, emoji, not remove, record.expires_at)
    except LookupError:
        raise NotFound("No such message in this chat.", code="chat_message_not_found") from None
    after = store.get_message(event_id, message_id) or record
    if changed:
        reactor = trader_names.names_of([principal.user_id])[principal.user_id]
        pushes.push(
            event_id,
            "chat_reaction",
            {
                "event_id": event_id,
                "message_id": message_id,
                "emoji": emoji,
                "by": reactor.handle,
                "by_name": reactor.name,
                "removed": remove,
                "reactions": dict(after.reactions),
            },
        )
    return ReactionOut(message=pushes.to_out(after, principal, who.event), changed=changed)
