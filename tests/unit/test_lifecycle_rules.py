"""Lifecycle rules without I/O: the next transition the clock allows, admin action guards, ranking freshness,
and the wire formats of the schedule and domain-event adapters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from arena.adapters.domain_events import detail_json
from arena.adapters.schedules import at_expression, schedule_name
from arena.domain.events import EventStatus
from arena.domain.lifecycle import (
    ParticipantState,
    check_end_now,
    check_extend,
    check_start_now,
    next_status,
    stale_users,
)
from arena.errors import Conflict, InvalidInput

from local.schedules import at_time, rate_seconds

START = datetime(2026, 12, 1, 12, tzinfo=UTC)
END = START + timedelta(hours=2)
GRACE = timedelta(minutes=5)
S = EventStatus


@pytest.mark.parametrize(
    ("stored", "now", "expected"),
    [
        (S.UPCOMING, START - timedelta(seconds=1), None),
        (S.UPCOMING, START, S.ACTIVE),
        (S.UPCOMING, END + timedelta(days=1), S.ACTIVE),  # one step at a time, even when late
        (S.ACTIVE, END - timedelta(milliseconds=1), None),
        (S.ACTIVE, END, S.FINALIZING),
        (S.FINALIZING, END + GRACE - timedelta(milliseconds=1), None),
        (S.FINALIZING, END + GRACE, S.COMPLETED),
        (S.COMPLETED, END + timedelta(days=9), None),
        (S.CANCELLED, END + timedelta(days=9), None),
        (S.DRAFT, END + timedelta(days=9), None),
    ],
)
def test_next_status_follows_the_clock(stored: EventStatus, now: datetime, expected: EventStatus | None) -> None:
    """Given a stored status and a moment relative to the start, the end and the grace period
    When the next status is asked
    Then it is the expected one (None when nothing moves)."""
    assert next_status(stored, START, END, now, GRACE) == expected


def test_admin_guards() -> None:
    """Given each event status
    When an admin starts or ends an event now
    Then only an upcoming event may start and an active one end; the rest are conflicts."""
    check_start_now(S.UPCOMING)
    check_end_now(S.ACTIVE)
    for status in (S.ACTIVE, S.FINALIZING, S.COMPLETED, S.CANCELLED):
        with pytest.raises(Conflict):
            check_start_now(status)
    for status in (S.UPCOMING, S.FINALIZING, S.COMPLETED, S.CANCELLED):
        with pytest.raises(Conflict):
            check_end_now(status)


def test_extend_only_later_and_only_before_the_end() -> None:
    """Given running and upcoming events
    When they are extended to a later end, to the same end, after their end, or once finalizing
    Then only a later end before the end is accepted."""
    check_extend(S.ACTIVE, END, END + timedelta(hours=1), START)
    check_extend(S.UPCOMING, END, END + timedelta(hours=1), START - timedelta(hours=1))
    with pytest.raises(InvalidInput):
        check_extend(S.ACTIVE, END, END, START)
    with pytest.raises(Conflict):
        check_extend(S.ACTIVE, END, END + timedelta(hours=1), END)  # the clock says it has ended
    with pytest.raises(Conflict):
        check_extend(S.FINALIZING, END, END + timedelta(hours=1), START)


def test_a_ranking_is_fresh_when_every_participant_change_is_on_the_board() -> None:
    """Given participants' versions and what the board has applied
    When the stale users are listed
    Then they are those whose latest change (a trade or a removal) is not on the board yet."""
    people = [
        ParticipantState("ann", on_board=True, version=3),
        ParticipantState("bob", on_board=True, version=2),
        ParticipantState("idle", on_board=False, version=1),
    ]
    assert stale_users(people, {"ann": 3, "bob": 5}) == []
    assert stale_users(people, {"ann": 2, "bob": 2}) == ["ann"]  # ann's latest trade not applied yet
    assert stale_users(people, {"bob": 2}) == ["ann"]  # ann's first trade not applied yet
    assert stale_users(people, {"ann": 3, "bob": 2, "idle": 1}) == ["idle"]  # removal (disqualified) pending
    assert stale_users(people, {"ann": 3, "bob": 2, "ghost": 1}) == ["ghost"]


def test_schedule_wire_formats() -> None:
    """Given schedule names, times and expressions
    When they are written and read back
    Then at() is rounded up to the second, read in its time zone, and rates give seconds."""
    assert schedule_name("01abc", "end") == "arena-01abc-end"
    assert at_expression(datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)) == "at(2026-12-01T12:00:00)"
    assert at_expression(datetime(2026, 12, 1, 23, 59, 59, 1, tzinfo=UTC)) == "at(2026-12-02T00:00:00)"
    assert at_time("at(2026-12-01T12:00:00)") == datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert at_time("at(2026-12-01T12:00:00)", "Europe/Paris") == datetime(2026, 12, 1, 11, tzinfo=UTC)
    assert at_time("rate(1 minute)") is None
    assert rate_seconds("rate(1 minute)") == 60 and rate_seconds("rate(2 hours)") == 7200
    assert rate_seconds("cron(0 * * * ? *)") is None


def test_domain_event_detail_keeps_decimals_exact() -> None:
    """Given a domain event detail with a Decimal, a time and a status
    When it is written as JSON
    Then the decimal is an exact string, the time ISO-8601 UTC, the status its name."""
    detail = json.loads(detail_json({"score": Decimal("0.1000000001"), "at": START, "status": S.ACTIVE}))
    assert detail == {"score": "0.1000000001", "at": "2026-12-01T12:00:00.000Z", "status": "ACTIVE"}
