"""Event rules: status from the clock, trade windows, who may join, what may change after the start."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum

from arena.errors import Conflict, Forbidden, InvalidInput


class EventStatus(StrEnum):
    DRAFT = "DRAFT"
    UPCOMING = "UPCOMING"
    ACTIVE = "ACTIVE"
    FINALIZING = "FINALIZING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class RankingMetric(StrEnum):
    VOLUME = "volume"
    PNL = "pnl"
    ROI = "roi"
    TRADE_COUNT = "trade_count"


# Statuses an event is stored with while the clock may still move it on.
LIVE_STATUSES = (EventStatus.UPCOMING, EventStatus.ACTIVE)
# Fields that decide who wins: frozen once the event has started.
SCORING_FIELDS = frozenset(
    {"start_at", "end_at", "ranking_metric", "prizes", "prize_settings", "markets", "qualification"}
)
MAX_EVENT_DAYS = 366


def effective_status(
    stored: EventStatus, start_at: datetime, end_at: datetime, now: datetime, grace: timedelta
) -> EventStatus:
    """The status the clock implies. Stored terminal and admin-set statuses always win.

    Between end_at and end_at + grace the event is FINALIZING: late trades executed before end_at still count.
    """
    if stored not in LIVE_STATUSES:
        return stored
    if now < start_at:
        return EventStatus.UPCOMING
    if now < end_at:
        return EventStatus.ACTIVE
    if now < end_at + grace:
        return EventStatus.FINALIZING
    return EventStatus.COMPLETED


def validate_schedule(start_at: datetime, end_at: datetime, now: datetime) -> None:
    if end_at <= start_at:
        raise InvalidInput("end_at must be after start_at.", code="invalid_schedule")
    if end_at <= now:
        raise InvalidInput("end_at must be in the future.", code="invalid_schedule")
    if end_at - start_at > timedelta(days=MAX_EVENT_DAYS):
        raise InvalidInput(f"An event lasts at most {MAX_EVENT_DAYS} days.", code="invalid_schedule")


def validate_capacity(join_required: bool, max_participants: int | None) -> None:
    if max_participants is not None and not join_required:
        # Without joining there is no moment to refuse the n+1st participant.
        raise InvalidInput("max_participants needs join_required = true.", code="invalid_capacity")


def check_changes_allowed(status: EventStatus, changed: Iterable[str]) -> None:
    changed = set(changed)
    if status in (EventStatus.COMPLETED, EventStatus.CANCELLED, EventStatus.FINALIZING):
        raise Conflict(f"The event is {status.value}; it can no longer be changed.", code="event_closed")
    if status == EventStatus.ACTIVE:
        locked = sorted(changed & SCORING_FIELDS)
        if locked:
            raise Conflict(
                "The event has started: its timing, metric, markets, qualification and prizes are frozen.",
                code="event_started",
                details={"fields": locked},
            )


def check_can_cancel(status: EventStatus) -> None:
    if status in (EventStatus.COMPLETED, EventStatus.CANCELLED, EventStatus.FINALIZING):
        raise Conflict(f"The event is {status.value}; it cannot be cancelled.", code="event_closed")


def check_can_join(
    status: EventStatus,
    *,
    participant_count: int,
    max_participants: int | None,
    min_kyc_level: int,
    excluded_account_types: Iterable[str],
    kyc_level: int,
    account_type: str | None,
) -> None:
    if status not in (EventStatus.UPCOMING, EventStatus.ACTIVE):
        raise Conflict(f"The event is {status.value}; it can no longer be joined.", code="event_not_open")
    if max_participants is not None and participant_count >= max_participants:
        raise Conflict("The event is full.", code="event_full")
    if kyc_level < min_kyc_level:
        raise Forbidden(
            f"This event needs KYC level {min_kyc_level}; your account has level {kyc_level}.",
            code="not_eligible",
            details={"rule": "min_kyc_level", "required": min_kyc_level, "actual": kyc_level},
        )
    if account_type and account_type in set(excluded_account_types):
        raise Forbidden(
            f"Accounts of type {account_type} cannot take part in this event.",
            code="not_eligible",
            details={"rule": "excluded_account_types", "account_type": account_type},
        )


def counts_market(markets: Iterable[str], market: str) -> bool:
    allowed = list(markets)
    return not allowed or market in allowed


def in_window(start_at: datetime, end_at: datetime, executed_at: datetime) -> bool:
    return start_at <= executed_at < end_at
