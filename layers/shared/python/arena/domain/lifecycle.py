"""Lifecycle rules, no I/O: which transition the clock allows next, what admins may do, when a ranking is fresh.

UPCOMING -> ACTIVE at start_at; ACTIVE -> FINALIZING at end_at; FINALIZING -> COMPLETED once end_at + grace has
passed AND the ranking is fresh (see `stale_users`); any live status -> CANCELLED by a manager. Each step is one
conditional write in the store, so a late or repeated trigger changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from arena.domain.events import EventStatus
from arena.domain.statuses import DomainEvent
from arena.errors import Conflict, InvalidInput

# The rule that orders the frozen results (stored with every result so a rank can be explained later).
RANKING_RULE = "score desc, earliest reached, earliest joined"

# Domain-event names per transition target.
EVENT_NAMES = {
    EventStatus.ACTIVE: DomainEvent.EVENT_STARTED,
    EventStatus.FINALIZING: DomainEvent.EVENT_ENDED,
    EventStatus.COMPLETED: DomainEvent.RESULTS_FROZEN,
    EventStatus.CANCELLED: DomainEvent.EVENT_CANCELLED,
}
EXTENDED = DomainEvent.EVENT_EXTENDED

# Where each target may be reached from (the condition of its conditional write).
ALLOWED_FROM: dict[EventStatus, tuple[EventStatus, ...]] = {
    EventStatus.ACTIVE: (EventStatus.UPCOMING,),
    EventStatus.FINALIZING: (EventStatus.ACTIVE,),
    EventStatus.COMPLETED: (EventStatus.FINALIZING,),
}
# Statuses the minute sweep looks at.
SWEPT = (EventStatus.UPCOMING, EventStatus.ACTIVE, EventStatus.FINALIZING)

# Reminders (EventReminderDue's `reminder`): (name, "start" or "end", how long before it).
REMINDERS: tuple[tuple[str, str, timedelta], ...] = (
    ("start_24h", "start", timedelta(hours=24)),
    ("start_1h", "start", timedelta(hours=1)),
    ("end_1h", "end", timedelta(hours=1)),
)
REMINDER_NAMES = tuple(name for name, _, _ in REMINDERS)


def reminder_moments(start_at: datetime, end_at: datetime, now: datetime) -> dict[str, datetime | None]:
    """When each reminder is due; None for one that is not to be sent: its moment has passed, or (an end reminder
    of an event shorter than its lead) it would come before the start."""
    moments: dict[str, datetime | None] = {}
    for name, anchor, lead in REMINDERS:
        moment = (start_at if anchor == "start" else end_at) - lead
        too_early = anchor == "end" and moment <= start_at
        moments[name] = moment if moment > now and not too_early else None
    return moments


def next_status(
    stored: EventStatus, start_at: datetime, end_at: datetime, now: datetime, grace: timedelta
) -> EventStatus | None:
    """The next stored status the clock allows, or None. One step at a time: callers loop until None, so a late
    trigger still walks UPCOMING -> ACTIVE -> FINALIZING and every step's domain event is published."""
    if stored == EventStatus.UPCOMING:
        return EventStatus.ACTIVE if now >= start_at else None
    if stored == EventStatus.ACTIVE:
        return EventStatus.FINALIZING if now >= end_at else None
    if stored == EventStatus.FINALIZING:
        return EventStatus.COMPLETED if now >= end_at + grace else None
    return None


def is_due(stored: EventStatus, start_at: datetime, end_at: datetime, now: datetime, grace: timedelta) -> bool:
    return next_status(stored, start_at, end_at, now, grace) is not None


def check_start_now(current: EventStatus) -> None:
    if current != EventStatus.UPCOMING:
        raise Conflict(f"The event is {current.value}; only an upcoming event can be started.", code="not_upcoming")


def check_end_now(current: EventStatus) -> None:
    if current != EventStatus.ACTIVE:
        raise Conflict(f"The event is {current.value}; only an active event can be ended.", code="not_active")


def check_extend(current: EventStatus, end_at: datetime, new_end_at: datetime, now: datetime) -> None:
    if current not in (EventStatus.UPCOMING, EventStatus.ACTIVE) or now >= end_at:
        raise Conflict(f"The event is {current.value}; it can be extended only before it ends.", code="event_ended")
    if new_end_at <= end_at:
        raise InvalidInput("The new end_at must be later than the current one.", code="invalid_extension")


@dataclass(frozen=True)
class ParticipantState:
    """What the ranking must reflect of one participant: on the board or not (no counted trade yet, or
    disqualified), and the version of the participant item."""

    user_id: str
    on_board: bool
    version: int


def stale_users(participants: Iterable[ParticipantState], board_versions: Mapping[str, int]) -> list[str]:
    """Users whose latest change the snapshot has not applied yet (empty: the ranking is fresh).

    The rule: the snapshot applies each participant item's changes in version order and stores the version with
    the entry (see services/snapshots.py). So the snapshot has caught up with the participants exactly when every
    participant that belongs on the board is on it with at least its item's version, and no participant that does
    not belong (never traded, disqualified) is on it. A trade counted but not yet streamed, or a disqualification
    not yet applied, shows up here; a trade still in a queue (not yet counted) cannot, which is what the ingest
    grace period is for.
    """
    stale = []
    seen: set[str] = set()
    for p in participants:
        seen.add(p.user_id)
        on_board_version = board_versions.get(p.user_id)
        if p.on_board:
            if on_board_version is None or on_board_version < p.version:
                stale.append(p.user_id)
        elif on_board_version is not None:
            stale.append(p.user_id)
    stale.extend(sorted(u for u in board_versions if u not in seen))  # on the board without a participant item
    return stale
