"""End to end on an in-process local stack: a short event is started and ended by its one-shot schedules (served
by local/schedules.py, since moto's Scheduler never fires), completed by the safety-net sweep after a 2 s grace
period, its results frozen equal to the leaderboard, and its prizes distributed by the Step Functions workflow
(statemachine/distribution.asl.json on moto's interpreter) that the hourly processCompletedEvents starts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import ArenaClient, in_process_stack, iso

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack() -> Iterator[Any]:
    with in_process_stack(
        ARENA_LOCAL_SAFETY_NET_SECONDS="1", INGEST_GRACE_SECONDS="2", POWERTOOLS_LOG_LEVEL="WARNING"
    ) as local:
        yield local


def _wait(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_short_event_runs_its_whole_lifecycle_on_schedules(stack: Any) -> None:
    """Given a short volume event with a points prize, created on the running stack and joined by two traders
    When its start schedule fires, the trades are posted, and its end schedule and the sweeps run
    Then it starts once, ends, completes, and the distribution workflow credits the winner's points."""
    from arena.adapters import schedules
    from arena.store import events as event_store
    from arena.store import results

    client = ArenaClient(stack.base_url)
    admin = client.token("lc-admin", ["admin"])
    feed = client.token("lc-feed", ["service"])
    now = datetime.now(UTC)
    # Creating sets the schedules, reminders included, and publishes EventPublished: on a busy machine that takes a
    # few seconds of the local stack, so the start is far enough ahead for the start schedule to be seen unfired.
    start, end = now + timedelta(seconds=6), now + timedelta(seconds=12)
    created = client.call(
        "POST",
        "/api/events",
        admin,
        {
            "name": "Lifecycle sprint",
            "start_at": iso(start),
            "end_at": iso(end),
            "ranking_metric": "volume",
            "prizes": [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": "100"}],
        },
    )
    assert created.status == 201, created.body
    event_id = created.body["id"]
    assert schedules.get_schedule(event_id, "start") is not None
    for user in ("ann", "bob"):
        assert client.call("POST", f"/api/events/{event_id}/join", client.token(user, ["user"])).status == 201

    # The start schedule fires and is deleted after it ran (the 1 s sweep may move the status first: either way
    # the event is started once)
    _wait(lambda: schedules.get_schedule(event_id, "start") is None, 15, "the start schedule")
    _wait(lambda: event_store.get(event_id).status == "ACTIVE", 5, "the start")
    executed = iso(datetime.now(UTC))
    trades = [
        {"trade_id": f"{event_id}-1", "user_id": "ann", "market": "BTC-USDT", "side": "buy", "quantity": "1",
         "price": "100", "executed_at": executed},
        {"trade_id": f"{event_id}-2", "user_id": "bob", "market": "BTC-USDT", "side": "buy", "quantity": "3",
         "price": "100", "executed_at": executed},
    ]  # fmt: skip
    posted = client.call("POST", "/api/trades", feed, {"trades": trades})
    assert posted.status == 200 and posted.body["accepted"] == 2, posted.body

    # The end schedule, then the minute sweep (every second locally) after the 2 s grace period
    _wait(lambda: event_store.get(event_id).status == "COMPLETED", 30, "completion")
    _wait(lambda: schedules.get_schedule(event_id, "end") is None, 5, "the end schedule")
    frozen = [(r["rank"], r["user_id"], str(r["score"])) for r in results.read(event_id)]
    board = client.call("GET", f"/api/events/{event_id}/leaderboard", admin)
    assert frozen == [(e["rank"], e["user_id"], e["score"]) for e in board.body["entries"]]
    assert [user for _, user, _ in frozen] == ["bob", "ann"]
    service = next(s for s in stack.services if s.name == "schedules")
    fired = [name for fid, name in service.fired if fid == "RunTransitionFunction"]
    assert fired == [f"arena-{event_id}-start", f"arena-{event_id}-end"]

    # processCompletedEvents (every second here) starts the distribution workflow; it runs to COMPLETED and the
    # winner's points appear in her balance.
    def distribution() -> dict[str, Any]:
        return client.call("GET", f"/api/events/{event_id}/prizes/distribution", admin).body

    _wait(lambda: distribution().get("run", {}).get("status") == "COMPLETED", 30, "the distribution workflow")
    assert distribution()["prizes_by_status"] == {"CREDITED": 1}
    points = client.call("GET", "/api/users/me/points", client.token("bob", ["user"]))
    assert points.status == 200 and points.body["balance"] == "100", points.body
    executions = stack.client("stepfunctions").list_executions(
        stateMachineArn=stack.workflows.state_machines["DistributionStateMachine"]
    )["executions"]
    assert [e["status"] for e in executions] == ["SUCCEEDED"]
