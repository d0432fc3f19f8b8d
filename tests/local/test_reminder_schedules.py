"""The local stack fires an event's reminder schedules: a one-shot schedule whose target is the bus puts its
EventReminderDue on that bus when the injectable clock reaches its moment, and the local EventBridge rules deliver it
to the function whose rule matches - as Scheduler and EventBridge do in AWS."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from local import template as tpl
from local.eventbridge import EventBridgeRules
from local.schedules import ScheduleService, bus_name, create_lifecycle_resources

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
START, END = NOW + timedelta(days=2), NOW + timedelta(days=3)
TEMPLATE: dict[str, Any] = {
    "Resources": {
        "ArenaEventBus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "arena-reminders"}},
        "LifecycleScheduleGroup": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": "arena-reminders"}},
        "PlannerFunction": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": "functions/notifications/",
                "Handler": "plan.lambda_handler",
                "Events": {
                    "Reminders": {
                        "Type": "EventBridgeRule",
                        "Properties": {
                            "EventBusName": {"Ref": "ArenaEventBus"},
                            "Pattern": {"source": ["arena"], "detail-type": ["EventReminderDue"]},
                        },
                    }
                },
            },
        },
    }
}


class _Stack:
    """What ScheduleService and EventBridgeRules use of the stack: the template, AWS clients, and an `invoke` that
    records what the functions receive (the planner itself is not what is tested here)."""

    region, account_id = "us-east-1", "123456789012"
    functions: list[Any] = []

    def __init__(self) -> None:
        self.template = TEMPLATE
        self.context = tpl.LocalContext(template=TEMPLATE)
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def client(self, service_name: str) -> Any:
        return boto3.client(service_name, region_name=self.region)

    def invoke(self, logical_id: str, event: Any) -> None:
        with self.lock:
            self.received.append((logical_id, event))


@pytest.fixture
def clock() -> Iterator[list[datetime]]:
    """Given the injectable clock, read from a list the test sets."""
    from arena import clock as arena_clock

    now = [NOW]
    arena_clock.set_source(lambda: now[0])
    yield now
    arena_clock.set_source(lambda: datetime.now(UTC))


@pytest.fixture
def stack(aws: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Stack]:
    """Given moto with the template's bus and schedule group, the functions' settings naming them, and the local
    EventBridge rules and schedule service running (the service ticked by the test)."""
    from arena import factories

    fake = _Stack()
    create_lifecycle_resources(TEMPLATE, fake.client("events"), fake.client("scheduler"), fake.context)
    for name in ("EVENTS", "PARTICIPANTS", "TRADES", "LEADERBOARD", "AUDIT", "LEDGER"):
        monkeypatch.setenv(f"{name}_TABLE", f"arena-{name.lower()}")
    monkeypatch.setenv("EVENT_BUS_NAME", "arena-reminders")
    monkeypatch.setenv("EVENT_BUS_ARN", fake.context.attributes[("ArenaEventBus", "Arn")])
    monkeypatch.setenv("SCHEDULE_GROUP", "arena-reminders")
    factories.reset()
    rules = EventBridgeRules(wait_seconds=1)
    rules.start(fake)
    yield fake
    rules.stop()
    factories.reset()


def _delivered(stack: _Stack, count: int, timeout: float = 15.0) -> list[str]:
    """The reminders delivered so far, once `count` have arrived (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with stack.lock:
            if len(stack.received) >= count:
                break
        time.sleep(0.05)
    with stack.lock:
        return [event["detail"]["reminder"] for _, event in stack.received]


def test_bus_targets_are_recognised_by_their_arn() -> None:
    """Given target ARNs of a bus, a function and a queue
    When the schedule service asks which bus each names
    Then only the event-bus ARN names one."""
    assert bus_name("arn:aws:events:us-east-1:123456789012:event-bus/arena-dev") == "arena-dev"
    assert bus_name("arn:aws:lambda:us-east-1:123456789012:function:RunTransitionFunction") is None
    assert bus_name("arn:aws:sqs:us-east-1:123456789012:event-bus/x") is None


def test_reminders_fire_on_the_bus_at_their_moments(stack: _Stack, clock: list[datetime]) -> None:
    """Given an event's three reminder schedules set at noon for an event starting in two days and lasting one
    When the clock is moved to one second before, then onto, each reminder's moment, and the schedules are ticked
    Then nothing fires early; each reminder fires once at its moment, as an EventReminderDue from source arena with
    the detail {event_id, reminder}, delivered through the bus's rule to the matching function; each schedule is
    deleted after it fired."""
    from arena.adapters import schedules

    schedules.sync_reminders("01EVENT", START, END, NOW)
    service = ScheduleService(safety_net_seconds=None, tick_seconds=3600)
    service.start(stack)  # type: ignore[arg-type]
    try:
        moments = [
            ("start_24h", START - timedelta(hours=24)),
            ("start_1h", START - timedelta(hours=1)),
            ("end_1h", END - timedelta(hours=1)),
        ]
        for fired, (reminder, moment) in enumerate(moments):
            clock[0] = moment - timedelta(seconds=1)
            assert service.tick() == 0, f"{reminder} fired early"
            clock[0] = moment
            assert service.tick() == 1
            assert _delivered(stack, fired + 1) == [name for name, _ in moments[: fired + 1]]
            assert schedules.get_schedule("01EVENT", reminder) is None
            assert service.tick() == 0
    finally:
        service.stop()

    [(function, event), *_] = stack.received
    assert function == "PlannerFunction"
    assert (event["source"], event["detail-type"]) == ("arena", "EventReminderDue")
    assert event["detail"] == {"event_id": "01EVENT", "reminder": "start_24h"}
    time.sleep(1.5)  # a second delivery would have come by now
    assert len(stack.received) == 3
