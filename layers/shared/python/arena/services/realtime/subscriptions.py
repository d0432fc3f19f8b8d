"""The WebSocket routes: $connect (the token in the query string), $disconnect, subscribe and unsubscribe
(authorised per topic), announce and ping."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from arena.adapters import tokens
from arena.auth import Principal, Role, principal_from_event
from arena.domain import realtime as rt
from arena.domain import text as free_text
from arena.domain.notifications import Channel
from arena.domain.realtime import Topic, TopicKind
from arena.errors import BadRequest, InvalidInput, Unauthenticated
from arena.ids import within_id_bound
from arena.models.notifications import AnnouncementDraft
from arena.services import events as event_service
from arena.services.chat import access as chat_access
from arena.services.chat import history as chat_history
from arena.services.chat import presence as chat_presence
from arena.services.realtime.sending import now_iso
from arena.store import connections as store


def connect(connection_id: str, query: Mapping[str, str] | None) -> Principal:
    """$connect: verify the token from the query string, then record the connection (TTL: two hours)."""
    claims = tokens.verify((query or {}).get("token", ""))
    principal = principal_from_event({"requestContext": {"authorizer": {"jwt": {"claims": claims}}}})
    store.put_connection(connection_id, principal.user_id, [r.value for r in principal.roles], time.time())
    return principal


def disconnect(connection_id: str) -> int:
    """$disconnect (best effort in AWS; 410s and the TTL clean up the rest). Idempotent."""
    connection = store.get_connection(connection_id)
    removed = store.delete_connection(connection_id)
    if connection is not None:
        _chat_presence([Topic.parse(t) for t in connection.topics if t.startswith("chat:")])
    return removed


def _connection(connection_id: str) -> store.Connection:
    connection = store.get_connection(connection_id)
    if connection is None:
        raise Unauthenticated("This connection is not known; reconnect.", code="connection_unknown")
    return connection


def subscribe(connection_id: str, topic_name: Any) -> dict[str, Any]:
    """Subscribe this connection to a topic it may read; answers the topic's current seq, so the client knows
    the first pushed message to expect is seq + 1 (and should read the current state over HTTP once)."""
    topic = Topic.parse(topic_name)
    connection = _connection(connection_id)
    rt.authorize_subscription(connection.user_id, connection.is_admin, topic)
    if topic.kind is TopicKind.CHAT and topic.key is not None:
        # The chat's own rule (flag, settings, bans), as for reading its history over HTTP.
        chat_history.may_watch(chat_access.principal_of(connection.user_id, connection.roles), topic.key)
    if not store.add_subscription(connection_id, connection.user_id, str(topic), time.time()):
        raise Unauthenticated("This connection is not known; reconnect.", code="connection_unknown")
    answer = {"type": "subscribed", "topic": str(topic), "seq": store.current_seq(str(topic)), "ts": now_iso()}
    _chat_presence([topic])
    return answer


def _chat_presence(topics: list[Topic]) -> None:
    """Who watches a chat changed: its `chat_presence` push (coalesced by arena.services.chat.presence)."""
    for topic in topics:
        if topic.kind is TopicKind.CHAT and topic.key is not None:
            chat_presence.changed(topic.key)


def unsubscribe(connection_id: str, topic_name: Any) -> dict[str, Any]:
    topic = Topic.parse(topic_name)
    connection = _connection(connection_id)
    store.remove_subscription(connection_id, connection.user_id, str(topic))
    _chat_presence([topic])
    return {"type": "unsubscribed", "topic": str(topic), "ts": now_iso()}


def announce(connection_id: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """An admin or the event's manager announces to an event: {"event_id", "text", "title"?}. A client of the
    announcement service (arena/services/notifications/announcements.py): stored, pinned in the event's chat,
    sent on `event:<id>`, and put in each participant's inbox, as `POST /api/events/{id}/announcements` does.
    Not idempotent by design: each request is a new announcement, as each HTTP POST would be."""
    from arena.services.notifications import announcements

    event_id, text = message.get("event_id"), message.get("text")
    if not within_id_bound(event_id):  # past the bound no event has it: never ask DynamoDB
        raise BadRequest("event_id must be the event's id.", code="invalid_announcement")
    connection = _connection(connection_id)
    roles = frozenset(Role(r) for r in connection.roles if r in Role._value2member_map_)
    principal = Principal(user_id=connection.user_id, roles=roles)
    event = event_service.load(event_id)
    event_service.require_manager(principal, event)
    text = _announcement_text(text)  # after the role check: who may not announce learns nothing about the text
    title = _announcement_title(message.get("title"))
    draft = AnnouncementDraft(event_id=event_id, title=title, body=text, channels=[Channel.IN_APP])
    posted, delivered = announcements.post_counted(principal, draft)
    return {
        "type": "announced",
        "topic": rt.event_topic(event_id),
        "announcement_id": posted.announcement_id,
        "delivered": delivered,
        "ts": now_iso(),
    }


def _announcement_title(value: Any) -> str:
    """The title (optional on the WebSocket: "Announcement"), by the same rule as the HTTP route's."""
    if value is None:
        return "Announcement"
    try:
        if not isinstance(value, str):
            raise free_text.TextRefused("text_type", "must be a string of 1 to 120 characters")
        return free_text.clean(value, free_text.TextRule(max_length=120, min_length=1))
    except free_text.TextRefused as refused:
        details = [{"field": "title", "message": refused.message, "type": refused.kind}]
        raise InvalidInput(f"title {refused.message}.", code="invalid_announcement", details=details) from None


def _announcement_text(value: Any) -> str:
    """The text as everyone will see it, by the free-text policy (arena.domain.text): 422 with the reason."""
    rule = free_text.ANNOUNCEMENT
    try:
        if not isinstance(value, str):
            raise free_text.TextRefused("text_type", f"must be a string of 1 to {rule.max_length} characters")
        return free_text.clean(value, rule)
    except free_text.TextRefused as refused:
        details = [{"field": "text", "message": refused.message, "type": refused.kind}]
        raise InvalidInput(f"text {refused.message}.", code="invalid_announcement", details=details) from None


def ping(connection_id: str) -> dict[str, Any]:
    """Keeps the connection inside API Gateway's 10-minute idle timeout; names the connection (for support)."""
    return {"type": "pong", "connection_id": connection_id, "ts": now_iso()}
