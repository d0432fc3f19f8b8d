"""The event lifecycle on moto: schedules set with the event, transitions by schedule and by the minute sweep,
results frozen after the grace period (never from a stale ranking), admin start/end/extend with audit.

Published domain events are read the way a consumer would: a rule on the Arena bus sends them to an SQS queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from tests.conftest import api_event
from tests.integration.conftest import ADMIN, Arena, Reply, board_rows, manager_claims, trade, user_claims

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
GRACE = timedelta(seconds=300)  # config default ingest_grace_seconds
OPEN = {"qualification": {"min_volume": "0", "min_trades": 0}}


class Bus:
    """An SQS queue subscribed to what Arena publishes on its bus: everything, or everything but `ignore`."""

    def __init__(self, ignore: tuple[str, ...] = (), name: str = "arena-domain-events") -> None:
        import os

        self.sqs = boto3.client("sqs")
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events")
        bus = os.environ["EVENT_BUS_NAME"]
        pattern: dict[str, Any] = {"source": ["arena"]}
        if ignore:
            pattern["detail-type"] = [{"anything-but": list(ignore)}]
        events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "queue", "Arn": arn}])

    def drain(self) -> list[tuple[str, dict[str, Any]]]:
        """(detail-type, detail) of everything published since the last drain."""
        found = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                envelope = json.loads(message["Body"])
                found.append((envelope["detail-type"], envelope["detail"]))
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def names(self) -> list[str]:
        return [name for name, _ in self.drain()]


@pytest.fixture
def bus(tables: dict[str, str]) -> Bus:
    """The lifecycle's own events: EventPublished, which every event created here also publishes, is tested with
    the other notification sources (tests/integration/test_notification_sources.py)."""
    return Bus(ignore=("EventPublished",))


def _schedule(event_id: str, transition: str) -> dict[str, Any] | None:
    from arena.adapters import schedules

    return schedules.get_schedule(event_id, transition)  # type: ignore[arg-type]


def _stored(event_id: str) -> Any:
    from arena.store import events as event_store

    return event_store.get(event_id)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _event(arena: Arena, start: datetime, end: datetime, claims: dict[str, Any] | None = None) -> str:
    return arena.new_event(claims, start_at=_iso(start), end_at=_iso(end), **OPEN)["id"]


def _handler(arena: Arena, name: str) -> Callable[..., Any]:
    return arena._load("lifecycle", name).lambda_handler


def _transition(arena: Arena, event_id: str, transition: str) -> dict[str, Any]:
    return _handler(arena, "run_transition")({"event_id": event_id, "transition": transition}, arena.context)


def _sweep(arena: Arena) -> dict[str, Any]:
    from tests.conftest import sample_event

    return _handler(arena, "check_event_status_transitions")(
        sample_event("lifecycle/check_event_status_transitions.json"), arena.context
    )


def _admin(
    arena: Arena, action: str, event_id: str, body: dict[str, Any], claims: dict[str, Any] | None = None
) -> Reply:
    return arena.call(
        f"lifecycle/{action}_event",
        api_event(f"lifecycle/{action}_event.json", path={"eventId": event_id}, body=body, claims=claims),
    )


# ------------------------------------------------------------------------------------------- schedules


def test_creating_an_event_schedules_its_start_and_end(arena: Arena) -> None:
    """Given an event created to start in an hour and end in three (and a quarter second)
    When its schedules are read
    Then one-shot UTC schedules invoke the lifecycle function at its start and its end (rounded up), then delete
    themselves."""
    from arena.config import settings

    event_id = _event(arena, NOON + timedelta(hours=1), NOON + timedelta(hours=3, milliseconds=250))

    start, end = _schedule(event_id, "start"), _schedule(event_id, "end")
    assert start is not None and end is not None
    assert start["Name"] == f"arena-{event_id}-start"
    assert start["GroupName"] == settings().schedule_group
    assert start["ScheduleExpression"] == "at(2026-12-01T13:00:00)"
    assert end["ScheduleExpression"] == "at(2026-12-01T15:00:01)"  # rounded up: never fires before end_at
    assert start["ScheduleExpressionTimezone"] == "UTC"
    assert start["ActionAfterCompletion"] == "DELETE"
    assert start["Target"]["Arn"] == settings().lifecycle_function_arn
    assert start["Target"]["RoleArn"] == settings().scheduler_role_arn
    assert json.loads(end["Target"]["Input"]) == {"event_id": event_id, "transition": "end"}


def test_a_schedule_sends_what_it_cannot_deliver_to_the_dead_letter_queue(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a deployment that names a dead-letter queue for schedules
    When an event is created
    Then both of its schedules name it"""
    from arena.config import settings

    dead_letters = "arn:aws:sqs:us-east-1:123456789012:arena-delivery-dlq"
    monkeypatch.setenv("SCHEDULE_DEAD_LETTER_ARN", dead_letters)
    settings.cache_clear()
    # When
    event_id = _event(arena, NOON + timedelta(hours=1), NOON + timedelta(hours=3))
    # Then
    for transition in ("start", "end"):
        schedule = _schedule(event_id, transition)
        assert schedule is not None and schedule["Target"]["DeadLetterConfig"] == {"Arn": dead_letters}
    settings.cache_clear()


def test_an_event_that_has_started_gets_only_its_end_schedule(arena: Arena) -> None:
    """Given an event created with its start already past
    When its schedules are read
    Then there is an end schedule and no start schedule."""
    event_id = _event(arena, NOON - timedelta(hours=1), NOON + timedelta(hours=1))
    assert _schedule(event_id, "start") is None
    assert _schedule(event_id, "end") is not None


def test_changing_the_times_moves_the_schedules(arena: Arena) -> None:
    """Given an upcoming event with its schedules
    When its start and then its end are changed
    Then each schedule moves to the new time."""
    event_id = _event(arena, NOON + timedelta(hours=1), NOON + timedelta(hours=3))
    reply = arena.update_event(event_id, {"version": 1, "start_at": "2026-12-01T13:30:00Z"})
    assert reply.status == 200, reply
    assert _schedule(event_id, "start")["ScheduleExpression"] == "at(2026-12-01T13:30:00)"  # type: ignore[index]
    assert _schedule(event_id, "end")["ScheduleExpression"] == "at(2026-12-01T15:00:00)"  # type: ignore[index]

    reply = arena.update_event(event_id, {"version": 2, "end_at": "2026-12-02T09:00:00Z"})
    assert reply.status == 200, reply
    assert _schedule(event_id, "end")["ScheduleExpression"] == "at(2026-12-02T09:00:00)"  # type: ignore[index]


def test_cancelling_removes_the_schedules_and_publishes(arena: Arena, bus: Bus) -> None:
    """Given an upcoming event with its schedules
    When it is cancelled, and a schedule fires anyway
    Then the schedules are gone, EventCancelled is published with the reason, and the late trigger changes nothing."""
    event_id = _event(arena, NOON + timedelta(hours=1), NOON + timedelta(hours=3))
    assert arena.cancel_event(event_id, "Market halted").status == 200
    assert _schedule(event_id, "start") is None and _schedule(event_id, "end") is None
    published = bus.drain()
    assert [name for name, _ in published] == ["EventCancelled"]
    assert published[0][1]["event_id"] == event_id and published[0][1]["reason"] == "Market halted"
    # A schedule that fired anyway changes nothing: CANCELLED is terminal.
    arena.clock.set(NOON + timedelta(hours=4))
    assert _transition(arena, event_id, "end")["transitions"] == []
    assert bus.drain() == []


# ------------------------------------------------------------------------------------------- transitions


def test_scheduled_transitions_are_idempotent_and_publish_once(arena: Arena, bus: Bus) -> None:
    """Given an upcoming event
    When its start and end triggers fire early, on time and again
    Then it moves only on time, once each, publishing EventStarted and EventEnded once."""
    start, end = NOON + timedelta(hours=1), NOON + timedelta(hours=3)
    event_id = _event(arena, start, end)

    arena.clock.set(start - timedelta(seconds=1))  # early: nothing yet
    assert _transition(arena, event_id, "start")["transitions"] == []
    arena.clock.set(start + timedelta(seconds=20))
    assert _transition(arena, event_id, "start")["transitions"] == ["UPCOMING->ACTIVE"]
    assert _transition(arena, event_id, "start")["transitions"] == []  # repeated delivery
    assert _stored(event_id).status == "ACTIVE"
    published = bus.drain()
    assert [name for name, _ in published] == ["EventStarted"]
    assert published[0][1] == {
        "event_id": event_id,
        "status": "ACTIVE",
        "previous_status": "UPCOMING",
        "start_at": "2026-12-01T13:00:00.000Z",
        "end_at": "2026-12-01T15:00:00.000Z",
        "version": 2,
    }

    arena.clock.set(end + timedelta(seconds=30))
    assert _transition(arena, event_id, "end")["transitions"] == ["ACTIVE->FINALIZING"]
    assert _transition(arena, event_id, "end")["transitions"] == []
    assert _stored(event_id).status == "FINALIZING"
    assert bus.names() == ["EventEnded"]


def test_a_late_trigger_walks_every_step(arena: Arena, bus: Bus) -> None:
    """Given an upcoming event
    When its start trigger comes after its end
    Then it walks to FINALIZING through ACTIVE, publishing both events."""
    event_id = _event(arena, NOON + timedelta(hours=1), NOON + timedelta(hours=2))
    arena.clock.set(NOON + timedelta(hours=2, minutes=1))  # the start trigger comes after the end
    assert _transition(arena, event_id, "start")["transitions"] == ["UPCOMING->ACTIVE", "ACTIVE->FINALIZING"]
    assert bus.names() == ["EventStarted", "EventEnded"]


def _traded_event(arena: Arena) -> str:
    """An event from 11:00 to 13:00 with four traders at noon (volumes 400, 300, 200, 100) and a joined user
    who never traded."""
    event_id = _event(arena, NOON - timedelta(hours=1), NOON + timedelta(hours=1))
    crowd = [("ann", "4"), ("bob", "3"), ("cid", "2"), ("dan", "1")]
    for user, _ in crowd:
        arena.joined(event_id, user)
    arena.joined(event_id, "idle")
    trades = [trade(f"T-{user}", user, "2026-12-01T12:00:00Z", quantity=q) for user, q in crowd]
    assert arena.ingest(trades).body["accepted"] == len(crowd)
    arena.stream.drain()
    return event_id


def test_the_sweep_completes_after_the_grace_period_with_results_frozen(arena: Arena, bus: Bus) -> None:
    """Given a traded event that has ended
    When the sweep runs just before and at the end of the grace period, and again
    Then it completes once, publishing ResultsFrozen, with the frozen results equal to the leaderboard."""
    from arena.store import results

    event_id = _traded_event(arena)
    end = NOON + timedelta(hours=1)
    arena.clock.set(end + GRACE - timedelta(seconds=1))
    swept = _sweep(arena)
    assert swept["moved"] == {event_id: ["UPCOMING->ACTIVE", "ACTIVE->FINALIZING"]}
    assert _stored(event_id).status == "FINALIZING"

    arena.clock.set(end + GRACE)
    assert _sweep(arena)["moved"] == {event_id: ["FINALIZING->COMPLETED"]}
    assert _sweep(arena)["moved"] == {}  # the next minute: nothing left to do
    assert _stored(event_id).status == "COMPLETED"
    published = bus.drain()
    assert [name for name, _ in published] == ["EventStarted", "EventEnded", "ResultsFrozen"]
    assert published[-1][1]["ranked"] == 4

    frozen = results.read(event_id)
    board = board_rows(arena.leaderboard(event_id))
    assert [(r["rank"], r["user_id"], r["score"]) for r in frozen] == board
    assert [r["prize_rank"] for r in frozen] == [1, 2, 3, 4]
    assert {r["rule"] for r in frozen} == {"score desc, earliest reached, earliest joined"}
    assert all(r["qualified"] for r in frozen)


def test_completion_waits_for_a_stale_ranking(arena: Arena, bus: Bus) -> None:
    """Given a finalizing event and a late trade counted during the grace period that the stream has not yet ranked
    When the sweep runs after the grace period, and again once the stream is drained
    Then it first blocks as ranking_stale, then completes with the late trade ranked; later trades are refused."""
    from arena.store import results

    event_id = _traded_event(arena)
    end = NOON + timedelta(hours=1)
    arena.clock.set(end + timedelta(minutes=1))
    _sweep(arena)
    assert _stored(event_id).status == "FINALIZING"

    # A late trade, executed before the end, counted during the grace period: dan overtakes everyone
    arena.clock.set(end + timedelta(minutes=2))
    late = arena.ingest([trade("T-late", "dan", "2026-12-01T12:59:59Z", quantity="10")])
    assert late.body["accepted"] == 1, late
    # ...but the stream has not reached the snapshot yet when the grace period is over
    arena.clock.set(end + GRACE + timedelta(minutes=1))
    outcome = _sweep(arena)
    assert outcome == {"moved": {}, "blocked": {event_id: "ranking_stale"}}
    assert _stored(event_id).status == "FINALIZING"
    assert results.read(event_id) == []
    assert "ResultsFrozen" not in bus.names()

    arena.stream.drain()
    assert _sweep(arena)["moved"] == {event_id: ["FINALIZING->COMPLETED"]}
    frozen = results.read(event_id)
    assert [(r["rank"], r["user_id"]) for r in frozen][:2] == [(1, "dan"), (2, "ann")]
    assert frozen[0]["score"] == Decimal(1100)
    # After completion the late feed is refused: the event no longer takes trades
    refused = arena.ingest([trade("T-later", "ann", "2026-12-01T12:59:59Z", quantity="50")])
    assert refused.body["accepted"] == 0


def test_process_completed_refreezes_missing_results_and_starts_the_distribution(arena: Arena) -> None:
    """Given a COMPLETED event with a prize table, one of its frozen results lost
    When processCompletedEvents runs (twice)
    Then the missing result is re-frozen and the event's one prize distribution is started (here, with no state
    machine configured, run to COMPLETED in the call); the second run changes nothing."""
    from arena.config import settings
    from arena.store import results

    event_id = _traded_event(arena)
    arena.clock.set(NOON + timedelta(hours=1) + GRACE)
    _sweep(arena)
    assert results.count(event_id) == 4
    boto3.client("dynamodb").delete_item(
        TableName=settings().results_table, Key={"event_id": {"S": event_id}, "rank": {"S": results.rank_key(3)}}
    )
    from tests.conftest import sample_event

    report = _handler(arena, "process_completed_events")(
        sample_event("lifecycle/process_completed_events.json"), arena.context
    )
    assert report == {"events": [{"event_id": event_id, "results": 4, "refrozen": True, "distribution": "COMPLETED"}]}
    assert [r["rank"] for r in results.read(event_id)] == [1, 2, 3, 4]
    again = _handler(arena, "process_completed_events")({}, arena.context)
    assert again["events"][0]["refrozen"] is False and again["events"][0]["distribution"] is None


# ------------------------------------------------------------------------------------------- admin actions


def _audit(event_id: str) -> list[dict[str, Any]]:
    from arena.services import lifecycle

    return lifecycle.history(event_id)


def test_a_manager_starts_an_event_early(arena: Arena, bus: Bus) -> None:
    """Given an upcoming event of a manager's
    When another manager, a user, a request without reason, and its manager start it now
    Then only its manager with a reason may: it is ACTIVE, audited, published once, and later triggers change
    nothing."""
    manager = manager_claims("mgr-1")
    event_id = _event(arena, NOON + timedelta(hours=1), NOON + timedelta(hours=3), claims=manager)

    assert _admin(arena, "start", event_id, {"reason": "x"}, claims=manager_claims("mgr-2")).status == 403
    assert _admin(arena, "start", event_id, {"reason": "x"}, claims=user_claims("u1")).status == 403
    assert _admin(arena, "start", event_id, {}, claims=manager).status == 422

    reply = _admin(arena, "start", event_id, {"reason": "Market opened early"}, claims=manager)
    assert reply.status == 200, reply
    assert reply.body["status"] == "ACTIVE"
    assert reply.body["start_at"].startswith("2026-12-01T12:00:00")
    assert _schedule(event_id, "start") is None and _schedule(event_id, "end") is not None
    assert bus.names() == ["EventStarted"]
    [entry] = _audit(event_id)
    assert (entry["actor"], entry["action"], entry["reason"]) == ("mgr-1", "event.start_now", "Market opened early")
    assert entry["scheduled_start_at"] == "2026-12-01T13:00:00.000Z"

    again = _admin(arena, "start", event_id, {"reason": "again"}, claims=manager)
    assert (again.status, again.code) == (409, "not_upcoming")
    # The schedule firing later changes nothing
    arena.clock.set(NOON + timedelta(hours=1))
    assert _transition(arena, event_id, "start")["transitions"] == []
    assert bus.drain() == []


def test_an_admin_ends_an_event_early(arena: Arena, bus: Bus) -> None:
    """Given a running event and an upcoming one
    When an admin ends each now
    Then the upcoming one is refused, the running one finalizes (start recorded first), is audited, and completes
    after the grace period."""
    event_id = _event(arena, NOON - timedelta(hours=1), NOON + timedelta(hours=3))
    upcoming = _event(arena, NOON + timedelta(hours=1), NOON + timedelta(hours=3))
    assert _admin(arena, "end", upcoming, {"reason": "x"}).code == "not_active"

    reply = _admin(arena, "end", event_id, {"reason": "Market halted by the exchange"}, claims=ADMIN)
    assert reply.status == 200, reply
    assert reply.body["status"] == "FINALIZING"
    assert reply.body["end_at"].startswith("2026-12-01T12:00:00")
    assert _schedule(event_id, "end") is None
    # Stored UPCOMING (no trigger yet): the start is recorded before the end
    assert bus.names() == ["EventStarted", "EventEnded"]
    assert [e["action"] for e in _audit(event_id)] == ["event.end_now"]
    assert _admin(arena, "end", event_id, {"reason": "again"}).status == 409

    # Trades executed after the early end no longer count; the sweep completes after the grace period
    arena.clock.set(NOON + GRACE)
    assert _sweep(arena)["moved"] == {event_id: ["FINALIZING->COMPLETED"]}


def test_extending_an_event(arena: Arena, bus: Bus) -> None:
    """Given a running event
    When it is extended to an earlier end, without a reason, properly, and after its new end
    Then only the proper extension moves the end schedule, is audited and published; the others are refused."""
    event_id = _event(arena, NOON - timedelta(hours=1), NOON + timedelta(hours=3))

    earlier = _admin(arena, "extend", event_id, {"end_at": "2026-12-01T14:00:00Z", "reason": "x"})
    assert (earlier.status, earlier.code) == (422, "invalid_extension")
    no_reason = _admin(arena, "extend", event_id, {"end_at": "2026-12-01T18:00:00Z"})
    assert no_reason.status == 422

    reply = _admin(arena, "extend", event_id, {"end_at": "2026-12-01T18:00:00Z", "reason": "Exchange outage"})
    assert reply.status == 200, reply
    assert reply.body["end_at"].startswith("2026-12-01T18:00:00")
    assert _schedule(event_id, "end")["ScheduleExpression"] == "at(2026-12-01T18:00:00)"  # type: ignore[index]
    [entry] = _audit(event_id)
    assert entry["action"] == "event.extend" and entry["previous_end_at"] == "2026-12-01T15:00:00.000Z"
    published = bus.drain()
    assert [name for name, _ in published] == ["EventExtended"]
    assert published[0][1]["end_at"] == "2026-12-01T18:00:00.000Z"

    # The old end passes: still ACTIVE; after the new end it can no longer be extended
    arena.clock.set(NOON + timedelta(hours=4))
    assert _sweep(arena)["moved"] == {event_id: ["UPCOMING->ACTIVE"]}
    arena.clock.set(NOON + timedelta(hours=6, seconds=1))
    late = _admin(arena, "extend", event_id, {"end_at": "2026-12-02T18:00:00Z", "reason": "too late"})
    assert (late.status, late.code) == (409, "event_ended")
