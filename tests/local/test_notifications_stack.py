"""The notifications stack (stacks/notifications.yaml, nested) on the local stack: the planner's rule in the child
stack hears the parent's bus, the child's queues are polled (PlanQueue, InAppQueue), and its minute sweep runs on
its schedule."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ArenaClient, in_process_stack, iso


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with in_process_stack(dynamodb="moto", POWERTOOLS_LOG_LEVEL="WARNING", ARENA_LOCAL_SAFETY_NET_SECONDS="2") as local:
        yield local


def wait_for(check: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("nothing came in time")


def test_a_domain_event_on_the_parents_bus_reaches_the_inboxes_through_the_childs_queues(stack: Any) -> None:
    """Given an event with three participants on the local stack
    When EventStarted is put on the parent's bus
    Then the notification planner (a rule of the nested stack) plans it, its PlanQueue page and the InAppQueue are
    polled, and each participant finds one "has started" item in the inbox."""
    from arena import factories
    from arena.adapters import domain_events
    from arena.domain.statuses import DomainEvent
    from arena.store import notifications as store

    arena = ArenaClient(stack.base_url)
    admin = arena.token("boss", ["admin"])
    start = datetime.now(UTC) + timedelta(days=1)
    body = {
        "name": "Notified sprint",
        "start_at": iso(start),
        "end_at": iso(start + timedelta(hours=1)),
        "markets": ["BTC-USDT"],
        "prizes": [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": "10"}],
    }
    created = arena.call("POST", "/api/events", admin, body)
    assert created.status == 201, created.body
    event_id = created.body["id"]
    users = ["nia", "ole", "pam"]
    for user in users:
        assert arena.call("POST", f"/api/events/{event_id}/join", arena.token(user, ["user"])).status == 201

    factories.reset()
    domain_events.publish(DomainEvent.EVENT_STARTED, {"event_id": event_id, "status": "ACTIVE"})

    def delivered() -> bool:
        return all(len(store.inbox_page(u, None, 10)[0]) == 1 for u in users)

    wait_for(delivered)
    items = [store.inbox_page(u, None, 10)[0][0] for u in users]
    assert {i.title for i in items} == {"Notified sprint has started"}
    calls = arena.call("GET", "/local/functions", None).body
    assert calls["NotificationPlannerFunction"]["invocations"] >= 2  # the rule, then the plan page
    assert calls["InAppDispatchFunction"]["invocations"] >= 1
    assert calls["NotificationPlannerFunction"]["errors"] == calls["InAppDispatchFunction"]["errors"] == 0


def test_the_minute_sweep_runs_on_its_schedule(stack: Any) -> None:
    """Given the local stack with its safety nets every 2 seconds
    When a few seconds pass
    Then the notification sweep has run, without errors, and marked the minute it swept."""
    from arena import factories
    from arena.store import notifications as store

    arena = ArenaClient(stack.base_url)
    calls = wait_for(
        lambda: (
            (c := arena.call("GET", "/local/functions", None).body)["NotificationSweepFunction"]["invocations"] and c
        )
    )
    assert calls["NotificationSweepFunction"]["errors"] == 0
    factories.reset()
    assert store.swept_until() is not None
