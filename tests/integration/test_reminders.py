"""Event reminders on moto: one-shot Scheduler schedules that put EventReminderDue on the Arena bus 24 h and 1 h
before the start and 1 h before the end, set with the event, moved with its times, removed when it is cancelled or
ended early, and skipped when their moment has passed."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from tests.integration.conftest import Arena
from tests.integration.test_lifecycle import NOON, Bus, _admin, _event, _schedule

REMINDERS = ("start_24h", "start_1h", "end_1h")


def _at(event_id: str, kind: str) -> str | None:
    schedule = _schedule(event_id, kind)
    return None if schedule is None else schedule["ScheduleExpression"]


def _reminders(event_id: str) -> dict[str, str | None]:
    return {kind: _at(event_id, kind) for kind in REMINDERS}


def test_creating_an_event_sets_its_three_reminders_on_the_bus(arena: Arena) -> None:
    """Given an event created at noon to start in two days and last a day
    When its reminder schedules are read
    Then each is a one-shot UTC schedule at 24 h / 1 h before the start and 1 h before the end, whose target is the
    Arena bus (EventBridge target: DetailType EventReminderDue, Source arena) with the detail {event_id, reminder},
    assumed through the scheduler role, deleted after it fires."""
    from arena.config import settings

    event_id = _event(arena, NOON + timedelta(days=2), NOON + timedelta(days=3))

    assert _reminders(event_id) == {
        "start_24h": "at(2026-12-02T12:00:00)",
        "start_1h": "at(2026-12-03T11:00:00)",
        "end_1h": "at(2026-12-04T11:00:00)",
    }
    for kind in REMINDERS:
        schedule: Any = _schedule(event_id, kind)
        assert schedule["Name"] == f"arena-{event_id}-{kind}"
        assert schedule["ScheduleExpressionTimezone"] == "UTC"
        assert schedule["ActionAfterCompletion"] == "DELETE"
        target = schedule["Target"]
        assert target["Arn"] == settings().event_bus_arn
        assert target["RoleArn"] == settings().scheduler_role_arn
        assert target["EventBridgeParameters"] == {"DetailType": "EventReminderDue", "Source": "arena"}
        assert json.loads(target["Input"]) == {"event_id": event_id, "reminder": kind}


def test_reminders_whose_moment_has_passed_are_skipped(arena: Arena) -> None:
    """Given events created at noon: one starting in 30 minutes, one that started an hour ago and ends in 30 minutes,
    one lasting 45 minutes that starts in two hours
    When their reminders are read
    Then only the reminders still ahead are set (1 h before the end of the 45-minute event would come before its
    start: not set)."""
    soon = _event(arena, NOON + timedelta(minutes=30), NOON + timedelta(hours=5))
    assert _reminders(soon) == {"start_24h": None, "start_1h": None, "end_1h": "at(2026-12-01T16:00:00)"}

    running = _event(arena, NOON - timedelta(hours=1), NOON + timedelta(minutes=30))
    assert _reminders(running) == {"start_24h": None, "start_1h": None, "end_1h": None}

    short = _event(arena, NOON + timedelta(hours=2), NOON + timedelta(hours=2, minutes=45))
    assert _reminders(short) == {"start_24h": None, "start_1h": "at(2026-12-01T13:00:00)", "end_1h": None}


def test_changing_the_times_moves_the_reminders(arena: Arena) -> None:
    """Given an upcoming event with its reminders
    When its start is moved a day later, then its start is brought to within the hour
    Then the reminders follow; those whose moment is now past are removed."""
    event_id = _event(arena, NOON + timedelta(days=2), NOON + timedelta(days=3))

    reply = arena.update_event(
        event_id, {"version": 1, "start_at": "2026-12-03T18:00:00Z", "end_at": "2026-12-05T06:00:00Z"}
    )
    assert reply.status == 200, reply
    assert _reminders(event_id) == {
        "start_24h": "at(2026-12-02T18:00:00)",
        "start_1h": "at(2026-12-03T17:00:00)",
        "end_1h": "at(2026-12-05T05:00:00)",
    }

    reply = arena.update_event(event_id, {"version": 2, "start_at": "2026-12-01T12:30:00Z"})
    assert reply.status == 200, reply
    assert _reminders(event_id) == {"start_24h": None, "start_1h": None, "end_1h": "at(2026-12-05T05:00:00)"}


def test_extending_moves_the_end_reminder(arena: Arena) -> None:
    """Given a running event ending in three hours
    When a manager extends it by a day
    Then its end reminder moves to an hour before the new end."""
    event_id = _event(arena, NOON - timedelta(hours=1), NOON + timedelta(hours=3))
    assert _at(event_id, "end_1h") == "at(2026-12-01T14:00:00)"

    reply = _admin(arena, "extend", event_id, {"end_at": "2026-12-02T15:00:00Z", "reason": "More time"})

    assert reply.status == 200, reply
    assert _at(event_id, "end_1h") == "at(2026-12-02T14:00:00)"


def test_cancelling_removes_every_reminder(arena: Arena, bus: Bus) -> None:
    """Given an upcoming event with its three reminders
    When it is cancelled
    Then no reminder (and no transition) schedule is left."""
    event_id = _event(arena, NOON + timedelta(days=2), NOON + timedelta(days=3))
    assert all(_reminders(event_id).values())

    assert arena.cancel_event(event_id, "Market halted").status == 200

    assert _reminders(event_id) == dict.fromkeys(REMINDERS)
    assert _schedule(event_id, "start") is None and _schedule(event_id, "end") is None


def test_starting_early_removes_the_start_reminders_and_ending_early_the_rest(arena: Arena) -> None:
    """Given an upcoming event with its three reminders
    When a manager starts it now, then ends it now
    Then the start reminders go with the start, and the end reminder with the end."""
    event_id = _event(arena, NOON + timedelta(days=2), NOON + timedelta(days=3))

    assert _admin(arena, "start", event_id, {"reason": "Go early"}).status == 200
    assert _reminders(event_id) == {"start_24h": None, "start_1h": None, "end_1h": "at(2026-12-04T11:00:00)"}

    assert _admin(arena, "end", event_id, {"reason": "Stop early"}).status == 200
    assert _reminders(event_id) == dict.fromkeys(REMINDERS)
