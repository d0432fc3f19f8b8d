"""Admin announcements: preview (every chosen channel's rendering, the audience counted), post (stored, then
ANNOUNCEMENT_POSTED on the bus for the planner), list, and one with its delivery counts per channel.

Who: admins, for any event or for every opted-in user; event managers only for the events they manage (an
announcement without an event reaches every opted-in user: admins only).
"""

from __future__ import annotations

from arena import clock
from arena.adapters import domain_events
from arena.auth import Principal
from arena.config import settings
from arena.domain.notifications import Notification, NotificationType, notification_id
from arena.domain.statuses import DomainEvent
from arena.errors import Forbidden, NotFound
from arena.ids import new_id
from arena.models.events import Event
from arena.models.notifications import (
    Announcement,
    AnnouncementDetail,
    AnnouncementDraft,
    AnnouncementPage,
    AnnouncementPreview,
    RenderedMessage,
    counts_view,
)
from arena.services import events as event_service
from arena.services.notifications import templates
from arena.store import announcements as store
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
    )


def post(principal: Principal, draft: AnnouncementDraft) -> Announcement:
    """Store the announcement, then publish ANNOUNCEMENT_POSTED (the planner's source is the announcement id, so
    the dispatchers count its deliveries under SOURCE#<announcement id>)."""
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
    return _view(record)


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
