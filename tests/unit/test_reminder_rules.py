"""When an event's reminders are due (arena/domain/lifecycle.reminder_moments): 24 h and 1 h before the start, 1 h
before the end; none whose moment has passed, and no end reminder that would come before the start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from arena.domain.lifecycle import REMINDER_NAMES, reminder_moments

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_an_event_days_away_gets_all_three_reminders() -> None:
    """Given an event starting in two days and lasting one
    When its reminder moments are asked
    Then they are 24 h and 1 h before the start and 1 h before the end."""
    start, end = NOW + timedelta(days=2), NOW + timedelta(days=3)
    assert reminder_moments(start, end, NOW) == {
        "start_24h": start - timedelta(hours=24),
        "start_1h": start - timedelta(hours=1),
        "end_1h": end - timedelta(hours=1),
    }
    assert tuple(reminder_moments(start, end, NOW)) == REMINDER_NAMES


def test_moments_already_passed_and_end_reminders_before_the_start_are_not_sent() -> None:
    """Given an event starting in 90 minutes and lasting 30, and the clock exactly on a reminder's moment
    When the reminder moments are asked
    Then the 24 h reminder has passed, the end reminder would precede the start (none), and a moment equal to now
    is past (it would fire at once, after the event it announces may have been changed)."""
    start = NOW + timedelta(minutes=90)
    assert reminder_moments(start, start + timedelta(minutes=30), NOW) == {
        "start_24h": None,
        "start_1h": NOW + timedelta(minutes=30),
        "end_1h": None,
    }
    assert reminder_moments(NOW + timedelta(hours=1), NOW + timedelta(hours=5), NOW)["start_1h"] is None
