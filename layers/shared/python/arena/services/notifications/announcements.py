"""Announcements, the one service for them: preview (every chosen channel's rendering, the audience counted), post
(stored; an event's is pinned in the event's chat and sent on `event:<id>`; then ANNOUNCEMENT_POSTED on the bus for
the planner, which puts it in each participant's inbox), list, one with its delivery counts per channel, an event's
live announcements, edit and withdraw (audited). The admin routes, the event routes and the WebSocket `announce`
action all post through `post`.

Exactly once: the inbox item's id derives from the announcement id and the user (the planner's dedup), and the
real-time `announcement` goes once per post to each connection on `event:<id>`.

Who: admins, for any event or for every opted-in user; event managers only for the events they manage (an
announcement without an event reaches every opted-in user: admins only).
"""

from __future__ import annotations

import dataclasses

from arena import clock
from arena.adapters import domain_events
from arena.auth import Principal
from arena.config import settings
from arena.domain import realtime as rt
from arena.domain.notifications import Notification, NotificationType, notification_id
from arena.domain.statuses import DomainEvent
from arena.errors import ArenaError, Conflict, Forbidden, NotFound
from arena.ids import new_id
from arena.models.events import Event
from arena.models.notifications import (
    Announcement,
    AnnouncementDetail,
    AnnouncementDraft,
    AnnouncementEdit,
    AnnouncementPage,
    AnnouncementPreview,
    RenderedMessage,
    counts_view,
)
from arena.services import events as event_service
from arena.services.notifications import templates
from arena.services.realtime.sending import publish as publish_live
from arena.store import announcements as store
from arena.store import audit
from arena.store import notifications as notification_store

# Counting every user opted in to announcements stops here: the preview says "at least" beyond it.
AUDIENCE_COUNT_CAP = 10_000
_OPT_IN_PAGE = 1_000


def _check_may_announce(principal: Principal, event_id: str | None) -> Event | None:
    """The event the announcement is for, once the caller may announce to it; None for a global one."""
    if event_id is None:
        if not principal.is_admin:
            raise Forbidden("Only an admin announces to every user; name one of your events.", code="forbidden_role")
        return None
    event = event_service.load(event_id)
    event_service.require_manager(principal, event)
    return event


def _notification(draft: AnnouncementDraft, source: str, user_id: str, event: Event | None) -> Notification:
    """The notification the planner builds for each recipient (same type, same data), for rendering."""
    now = clock.now()
    data = {"announcement_id": source, "title": draft.title, "body": draft.body}
    if event is not None:
        data["event_name"] = event.name
    return Notification(
        notification_id=notification_id(source, user_id, NotificationType.ANNOUNCEMENT, now),
        user_id=user_id,
        type=NotificationType.ANNOUNCEMENT,
        source=source,
        created_at=now,
        event_id=draft.event_id,
        data=data,
    )


def _audience(event: Event | None) -> tuple[int, bool]:
    if event is not None:
        return event.participant_count, False
    counted, cursor = 0, None
    while counted < AUDIENCE_COUNT_CAP:
        users, cursor = notification_store.opted_in_users(NotificationType.ANNOUNCEMENT, cursor, _OPT_IN_PAGE)
        counted += len(users)
        if cursor is None:
            return counted, False
    return counted, True


def preview(principal: Principal, draft: AnnouncementDraft) -> AnnouncementPreview:
    event = _check_may_announce(principal, draft.event_id)
    notification = _notification(draft, "preview", principal.user_id, event)
    # Each recipient's email links to their own signed token; the preview shows where the link goes.
    unsubscribe_url = f"{settings().public_base_url.rstrip('/')}/api/notifications/unsubscribe?token=PREVIEW"
    rendered = []
    for channel in draft.channels:
        out = templates.render(notification, channel, unsubscribe_url=unsubscribe_url)
        rendered.append(RenderedMessage(channel=channel, title=out.title, body=out.body, html=out.html))
    audience, capped = _audience(event)
    return AnnouncementPreview(rendered=rendered, audience=audience, audience_capped=capped)


def _view(record: store.AnnouncementRecord) -> Announcement:
    return Announcement(
        announcement_id=record.announcement_id,
        event_id=record.event_id,
        title=record.title,
        body=record.body,
        channels=list(record.channels),
        created_by=record.created_by,
        created_at=record.created_at,
        chat_message_id=record.chat_message_id,
        edited_at=record.edited_at,
        withdrawn_at=record.withdrawn_at,
    )


# A chat message is at most this long (arena/domain/chat.py); a longer announcement is pinned shortened, the full
# text stays in the announcement and the inbox.
_CHAT_TEXT_MAX = 1_000


def _chat_text(title: str, body: str) -> str:
    text = f"{title}\n{body}"
    return text if len(text) <= _CHAT_TEXT_MAX else text[: _CHAT_TEXT_MAX - 1] + "\u2026"


def _pin_in_chat(principal: Principal, record: store.AnnouncementRecord) -> str | None:
    """Post the announcement in the event's chat and pin it. The chat is optional: when it is off (flag, event
    setting) or refuses (pins full, word filter), the announcement still goes out, unpinned."""
    from arena.services.chat import moderation, posting

    assert record.event_id is not None
    try:
        message = posting.post(principal, record.event_id, _chat_text(record.title, record.body))
        moderation.pin(principal, record.event_id, message.id, True)
    except ArenaError:
        return None
    store.set_chat_message(record.announcement_id, message.id)
    return message.id


def _live(record: store.AnnouncementRecord, kind: str) -> int:
    """`announcement` (new or edited) or `announcement_withdrawn` to everyone on `event:<id>` now."""
    assert record.event_id is not None
    topic = rt.event_topic(record.event_id)
    data = {
        "announcement_id": record.announcement_id,
        "event_id": record.event_id,
        "title": record.title,
        "text": record.body,
        "by": record.created_by,
        "edited": record.edited_at is not None,
    }
    return publish_live(topic, kind, data).outcome.sent


def post(principal: Principal, draft: AnnouncementDraft) -> Announcement:
    """Store the announcement; an event's is pinned in its chat and sent live on `event:<id>`; then publish
    ANNOUNCEMENT_POSTED (the planner's source is the announcement id, so the dispatchers count its deliveries
    under SOURCE#<announcement id>, and a redelivered event plans nobody twice)."""
    return post_counted(principal, draft)[0]


def post_counted(principal: Principal, draft: AnnouncementDraft) -> tuple[Announcement, int]:
    """`post`, and how many connections got it live (the WebSocket `announce` answer says so)."""
    _check_may_announce(principal, draft.event_id)
    record = store.AnnouncementRecord(
        announcement_id=new_id(),
        event_id=draft.event_id,
        title=draft.title,
        body=draft.body,
        channels=tuple(draft.channels),
        created_by=principal.user_id,
        created_at=clock.now(),
    )
    store.put_new(record)
    delivered = 0
    if record.event_id is not None:
        chat_message_id = _pin_in_chat(principal, record)
        if chat_message_id is not None:
            record = dataclasses.replace(record, chat_message_id=chat_message_id)
        delivered = _live(record, "announcement")
    domain_events.publish(
        DomainEvent.ANNOUNCEMENT_POSTED,
        {
            "announcement_id": record.announcement_id,
            "event_id": record.event_id,
            "channels": [c.value for c in record.channels],
            "title": record.title,
            "body": record.body,
        },
    )
    return _view(record), delivered


def _may_see(principal: Principal, record: store.AnnouncementRecord, events: dict[str, Event | None]) -> bool:
    if principal.is_admin:
        return True
    if record.event_id is None:
        return False
    if record.event_id not in events:
        try:
            events[record.event_id] = event_service.load(record.event_id)
        except NotFound:
            events[record.event_id] = None
    event = events[record.event_id]
    return event is not None and event_service.may_manage(principal, event)


def list_page(principal: Principal, limit: int, cursor: str | None) -> AnnouncementPage:
    """Newest first. An event manager sees those of the events they manage, so a page may hold fewer than
    `limit` items with more to come (follow `next_cursor`)."""
    records, next_cursor = store.page(limit, cursor)
    events: dict[str, Event | None] = {}
    return AnnouncementPage(
        items=[_view(r) for r in records if _may_see(principal, r, events)], next_cursor=next_cursor
    )


def detail(principal: Principal, announcement_id: str) -> AnnouncementDetail:
    record = store.get(announcement_id)
    if record is None or not _may_see(principal, record, {}):
        # A manager learns nothing of another event's announcement, not even that it exists.
        raise NotFound(f"No announcement {announcement_id}.", code="announcement_not_found")
    counts = notification_store.source_counts(record.announcement_id)
    deliveries = {channel: counts_view(counts.get(channel, {})) for channel in record.channels}
    return AnnouncementDetail(**_view(record).model_dump(), deliveries=deliveries)


def event_page(principal: Principal, event_id: str, limit: int, cursor: str | None) -> AnnouncementPage:
    """An event's live announcements, newest first: anyone signed in reads them (the event must exist)."""
    del principal  # every signed-in caller may read; the route's @allow says who is signed in
    event_service.load(event_id)
    records, next_cursor = store.event_page(event_id, limit, cursor)
    return AnnouncementPage(items=[_view(r) for r in records], next_cursor=next_cursor)


def _own(principal: Principal, event_id: str, announcement_id: str) -> store.AnnouncementRecord:
    event = event_service.load(event_id)
    event_service.require_manager(principal, event)
    record = store.get(announcement_id)
    if record is None or record.event_id != event_id:
        raise NotFound(f"No announcement {announcement_id} in this event.", code="announcement_not_found")
    return record


def _unpin(principal: Principal, record: store.AnnouncementRecord) -> None:
    from arena.services.chat import moderation

    if record.event_id is None or record.chat_message_id is None:
        return
    try:
        moderation.pin(principal, record.event_id, record.chat_message_id, False)
    except ArenaError:
        return  # the chat is off now or the message was deleted: nothing left pinned


def edit(principal: Principal, event_id: str, announcement_id: str, change: AnnouncementEdit) -> Announcement:
    """New title and body (audited with the old ones), sent live again as an edited `announcement`. The inbox
    items already delivered keep the text they were sent with (as an email would); the pinned chat line is
    replaced by a new one."""
    record = _own(principal, event_id, announcement_id)
    if record.withdrawn_at is not None:
        raise Conflict("This announcement was withdrawn.", code="announcement_withdrawn")
    now = clock.now()
    updated = store.edit(announcement_id, change.title, change.body, now)
    if updated is None:
        raise Conflict("This announcement was withdrawn.", code="announcement_withdrawn")
    audit.append(
        audit.event_subject(event_id),
        principal.user_id,
        "announcement_edited",
        now,
        change.reason or "edited",
        announcement_id=announcement_id,
        old_title=record.title,
        old_body=record.body,
    )
    _unpin(principal, record)
    chat_message_id = _pin_in_chat(principal, updated)
    if chat_message_id is not None:
        updated = dataclasses.replace(updated, chat_message_id=chat_message_id)
    _live(updated, "announcement")
    return _view(updated)


def withdraw(principal: Principal, event_id: str, announcement_id: str, reason: str | None) -> Announcement:
    """Withdrawn: off the event's list and unpinned, `announcement_withdrawn` sent live, audited. Idempotent:
    withdrawing it again changes nothing and audits nothing."""
    record = _own(principal, event_id, announcement_id)
    now = clock.now()
    if store.withdraw(announcement_id, now):
        audit.append(
            audit.event_subject(event_id),
            principal.user_id,
            "announcement_withdrawn",
            now,
            reason or "withdrawn",
            announcement_id=announcement_id,
            title=record.title,
        )
        _unpin(principal, record)
        record = dataclasses.replace(record, withdrawn_at=now)
        _live(record, "announcement_withdrawn")
    return _view(store.get(announcement_id) or record)
