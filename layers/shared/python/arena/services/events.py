"""Creating, reading, changing and cancelling events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arena import clock
from arena.adapters import domain_events, schedules
from arena.auth import Principal, Role
from arena.config import settings
from arena.domain import events as rules
from arena.domain.events import EventStatus
from arena.domain.statuses import DomainEvent
from arena.errors import Conflict, Forbidden, InvalidInput, NotFound
from arena.ids import new_id
from arena.models.events import (
    Event,
    EventCancel,
    EventCreate,
    EventPage,
    EventPatch,
    PrizeSettings,
    PrizeTier,
    prize_table_problems,
)
from arena.observability import count, logger
from arena.store import dynamo
from arena.store import events as event_store

# Fields a PATCH may set to null (meaning "remove the limit"); every other field needs a value.
NULLABLE_FIELDS = frozenset({"max_participants"})
MANAGER_ROLES = (Role.ADMIN, Role.EVENT_MANAGER)


def grace() -> timedelta:
    return timedelta(seconds=settings().ingest_grace_seconds)


def current_status(event: Event) -> EventStatus:
    return rules.effective_status(event.status, event.start_at, event.end_at, clock.now(), grace())


def with_current_status(event: Event) -> Event:
    return event.model_copy(update={"status": current_status(event)})


def sync_schedules(event: Event, *, new: bool = False) -> None:
    """Set (or move) the event's start/end and reminder schedules. Best effort: the request has already succeeded,
    and the minute sweep moves the event on time even without its schedules (a reminder lost here is not sent)."""
    try:
        schedules.sync_event(event.id, event.start_at, event.end_at, clock.now(), new=new)
    except Exception:
        count("ScheduleSyncFailed")
        logger.exception(
            "could not set the event's schedules; the minute sweep covers it", extra={"event_id": event.id}
        )


def publish_after_write(name: DomainEvent, detail: dict[str, Any], event_id: str) -> None:
    """Publish the domain event of a change already written. The change stands whatever happens here: a lost
    notification must not turn a request that succeeded into a 500 (logged and counted instead)."""
    try:
        domain_events.publish(name, detail)
    except Exception:
        count("DomainEventPublishFailed")
        logger.exception("could not publish a domain event", extra={"event_id": event_id, "name": name.value})


def load(event_id: str) -> Event:
    event = event_store.get(event_id)
    if event is None:
        raise NotFound(f"No event {event_id}.", code="event_not_found")
    return event


def may_manage(principal: Principal, event: Event) -> bool:
    if principal.is_admin:
        return True
    return Role.EVENT_MANAGER in principal.roles and (
        principal.user_id == event.created_by or principal.user_id in event.managers
    )


def require_manager(principal: Principal, event: Event) -> None:
    principal.require(*MANAGER_ROLES)
    if not may_manage(principal, event):
        raise Forbidden("You may manage only the events you created or were assigned to.", code="not_event_manager")


def check_prize_table(tiers: list[PrizeTier], settings: PrizeSettings) -> None:
    """Refuse (422) a prize table the distribution could not pay, now rather than when the event is over."""
    problems = prize_table_problems(tiers, settings)
    if problems:
        raise InvalidInput(
            "The prize table cannot be paid as it is: " + "; ".join(problems),
            code="invalid_prize_table",
            details={"problems": problems},
        )


def update_fields(event_id: str, expected_version: int, changes: dict[str, Any], now: datetime) -> Event:
    """Store changes to these fields of the event at `expected_version`; 409 when someone changed it first."""
    updated = event_store.update_fields_at_version(event_id, expected_version, changes, now)
    if updated is None:
        raise Conflict(
            "The event was changed by someone else; read it again and retry with its new version.",
            code="version_conflict",
        )
    return updated


def create_event(principal: Principal, request: EventCreate) -> Event:
    now = clock.now()
    rules.validate_schedule(request.start_at, request.end_at, now)
    rules.validate_capacity(request.join_required, request.max_participants)
    check_prize_table(request.prizes, request.prize_settings)
    if request.managers and not principal.is_admin:
        raise Forbidden("Only an admin assigns event managers.", code="forbidden_field", details={"field": "managers"})
    managers = list(dict.fromkeys([*request.managers, *([] if principal.is_admin else [principal.user_id])]))
    event = Event(
        id=new_id(),
        status=EventStatus.UPCOMING,
        participant_count=0,
        created_by=principal.user_id,
        created_at=now,
        updated_at=now,
        version=1,
        **{**request.model_dump(exclude={"managers"}), "managers": managers},
    )
    event_store.put_new(event)
    sync_schedules(event, new=True)
    # Created UPCOMING, the event is visible to traders from now on (there is no draft step).
    publish_after_write(DomainEvent.EVENT_PUBLISHED, {"event_id": event.id}, event.id)
    return with_current_status(event)


def get_event(event_id: str) -> Event:
    return with_current_status(load(event_id))


def list_events(status: EventStatus | None, limit: int, cursor: str | None) -> EventPage:
    """Latest start first. A status filter applies to the clock's status, so pages may be read ahead."""
    start_key = dynamo.start_key(
        dynamo.decode_cursor(cursor), event_store.CATALOG_KEY, {"catalog": event_store.CATALOG}
    )
    found: list[Event] = []
    unread_in_page = False
    while len(found) < limit:
        batch, start_key = event_store.list_page(max(limit, 25), start_key)
        for position, event in enumerate(batch):
            current = with_current_status(event)
            if status is None or current.status == status:
                found.append(current)
                if len(found) == limit:
                    unread_in_page = position < len(batch) - 1
                    break
        if not start_key:
            break
    # Resume after the last event returned (not the last one read), so nothing is skipped.
    more = len(found) == limit and (start_key is not None or unread_in_page)
    next_cursor = dynamo.encode_cursor({"k": event_store.index_key(found[-1])}) if more else None
    return EventPage(items=found, next_cursor=next_cursor)


def update_event(principal: Principal, event_id: str, patch: EventPatch) -> Event:
    event = load(event_id)
    require_manager(principal, event)
    changes = patch.model_dump(exclude_unset=True, exclude={"version"})
    for name, value in changes.items():
        if value is None and name not in NULLABLE_FIELDS:
            raise InvalidInput(f"{name} cannot be null.", code="invalid_field", details={"field": name})
    if "managers" in changes and not principal.is_admin:
        raise Forbidden("Only an admin assigns event managers.", code="forbidden_field", details={"field": "managers"})
    # Compare against what is stored: sending an unchanged value is not a change.
    stored = event.model_dump()
    changes = {k: v for k, v in changes.items() if stored.get(k) != v}
    rules.check_changes_allowed(current_status(event), changes)
    merged = event.model_copy(update=changes)
    rules.validate_capacity(merged.join_required, merged.max_participants)
    if {"start_at", "end_at"} & changes.keys():
        rules.validate_schedule(merged.start_at, merged.end_at, clock.now())
    typed = {k: getattr(patch, k) for k in changes}
    if {"prizes", "prize_settings"} & changes.keys():
        # Checked together: a new quantum can make the stored amounts unpayable, and new tiers the stored cap.
        check_prize_table(typed.get("prizes", event.prizes), typed.get("prize_settings", event.prize_settings))
    updated = update_fields(event_id, patch.version, typed, clock.now())
    if {"start_at", "end_at"} & changes.keys():
        sync_schedules(updated)
    return with_current_status(updated)


def cancel_event(principal: Principal, event_id: str, request: EventCancel) -> Event:
    event = load(event_id)
    require_manager(principal, event)
    rules.check_can_cancel(current_status(event))
    cancelled = event_store.set_status(
        event_id, rules.LIVE_STATUSES, EventStatus.CANCELLED, clock.now(), cancel_reason=request.reason
    )
    if cancelled is None:
        # It left UPCOMING/ACTIVE between our read and our write: report what it is now.
        rules.check_can_cancel(current_status(load(event_id)))
        raise Conflict("The event changed while it was being cancelled; try again.", code="event_changed")
    try:
        schedules.remove_event(event_id)
    except Exception:  # a leftover schedule only triggers a no-op transition (CANCELLED is terminal)
        logger.exception("could not remove the event's schedules", extra={"event_id": event_id})
    publish_after_write(
        DomainEvent.EVENT_CANCELLED,
        {"event_id": event_id, "status": cancelled.status, "previous_status": event.status, "reason": request.reason},
        event_id,
    )
    return with_current_status(cancelled)
