"""The prize-distribution workflow end to end on the local stack: statemachine/distribution.asl.json run by moto's
ASL interpreter, its Lambda tasks routed to functions/prizes/distribution_workflow.py, driven over HTTP.

Each event is seeded COMPLETED with frozen results (written through the same arena package the stack runs), so
these tests exercise the workflow alone: a clean run, one run for two requests, a batch retried after a transient
failure, and a failed verification caught, rolled back and failed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import ArenaClient, completed_event, in_process_stack

pytestmark = pytest.mark.e2e

PRIZES = [
    {"rank_from": 1, "rank_to": 1, "type": "points", "amount": "500"},
    {"rank_from": 2, "rank_to": 40, "type": "points", "amount": "10"},
    {"rank_from": 41, "rank_to": 41, "type": "token", "amount": "25", "token": "USDT"},
]
RANKED = 45  # 40 points prizes + 1 token prize: 2 batches of 30


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    # The hourly safety net stays out of the way: these tests start their distributions themselves.
    with in_process_stack(POWERTOOLS_LOG_LEVEL="WARNING", ARENA_LOCAL_SAFETY_NET_SECONDS="3600") as local:
        yield local


@pytest.fixture
def client(stack: Any) -> ArenaClient:
    return ArenaClient(stack.base_url)


def _completed_event(client: ArenaClient, admin: str, tag: str) -> str:
    """An event COMPLETED with 45 qualified traders' results frozen: <tag>01 first, <tag>45 last."""
    ranked = [f"{tag}{i:02d}" for i in range(1, RANKED + 1)]
    return completed_event(client, admin, PRIZES, ranked, name="Workflow cup", claim={"mode": "auto"})


def _wait_run(client: ArenaClient, admin: str, event_id: str, status: str, seconds: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.call("GET", f"/api/events/{event_id}/prizes/distribution", admin).body
        if body.get("run", {}).get("status") == status:
            return body
        time.sleep(0.2)
    raise AssertionError(f"the run never reached {status}: {body}")


def _executions(stack: Any, event_id: str) -> list[dict[str, Any]]:
    from arena.store import distribution as store

    run = store.get_run(event_id)
    sfn = stack.client("stepfunctions")
    arn = stack.workflows.state_machines["DistributionStateMachine"]
    return [
        e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if run and e["name"].startswith(run["run_id"])
    ]


def _visited(stack: Any, execution_arn: str) -> list[str]:
    history = stack.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return [e["stateEnteredEventDetails"]["name"] for e in history["events"] if "stateEnteredEventDetails" in e]


def _balance(account: str) -> Decimal:
    from arena.services import ledger

    return ledger.balance(account)


def test_two_requests_start_one_workflow_that_pays_the_plan(stack: Any, client: ArenaClient) -> None:
    """Given a COMPLETED event with 41 prizes (2 batches)
    When its admin requests the distribution twice
    Then one run and one execution: Validate, FreezeResults, Calculate, the Map of batches, Verify and Complete
    run, the run is COMPLETED with both batches done, and every winner holds exactly her prize."""
    admin = client.token("wf-admin", ["admin"])
    event_id = _completed_event(client, admin, "a")

    first = client.call("POST", f"/api/events/{event_id}/prizes/distribute", admin)
    second = client.call("POST", f"/api/events/{event_id}/prizes/distribute", admin)
    assert first.status == 201 and second.status == 200, (first.body, second.body)
    assert first.body["run_id"] == second.body["run_id"]

    body = _wait_run(client, admin, event_id, "COMPLETED")
    assert (body["run"]["batch_count"], body["run"]["batches_done"]) == (2, 2)
    assert body["prizes_by_status"] == {"CREDITED": 40, "PAYOUT_REQUESTED": 1}
    assert _balance("user:a01") == 500 and _balance("user:a40") == 10 and _balance("user:a41") == 0
    assert _balance(f"event-pool:{event_id}") == 0
    executions = _executions(stack, event_id)
    assert [e["status"] for e in executions] == ["SUCCEEDED"]
    visited = _visited(stack, executions[0]["executionArn"])
    assert [s for s in visited if s != "DistributeBatch"] == [
        "Validate",
        "FreezeResults",
        "Calculate",
        "Distribute",
        "Verify",
        "Complete",
        "Distributed",
    ]
    assert visited.count("DistributeBatch") == 2


def test_a_batch_that_fails_once_is_retried(stack: Any, client: ArenaClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a batch task that fails on its first attempt (DynamoDB throttled, say)
    When the workflow runs
    Then the Map's retry runs it again and the distribution completes, paying each prize once."""
    from arena.services.distribution import workflow as distribution

    admin = client.token("wf-admin", ["admin"])
    event_id = _completed_event(client, admin, "b")
    original = distribution.distribute_batch
    failures: list[int] = []

    def flaky(event: str, batch_index: int) -> dict[str, Any]:
        if event == event_id and not failures:
            failures.append(batch_index)
            raise RuntimeError("throttled")
        return original(event, batch_index)

    monkeypatch.setattr(distribution, "distribute_batch", flaky)
    assert client.call("POST", f"/api/events/{event_id}/prizes/distribute", admin).status == 201
    body = _wait_run(client, admin, event_id, "COMPLETED")
    assert len(failures) == 1 and body["run"]["batches_done"] == 2
    assert _balance("user:b02") == 10
    assert [e["status"] for e in _executions(stack, event_id)] == ["SUCCEEDED"]


def test_a_failed_verification_is_caught_and_rolled_back(
    stack: Any, client: ArenaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a distribution whose verification finds a mismatch
    When the workflow runs
    Then Verify fails without retries, the Catch runs Rollback, the execution ends in Failed (DistributionFailed),
    the run is ROLLED_BACK and every points balance it touched is back to zero."""
    from arena.services.distribution import workflow as distribution

    admin = client.token("wf-admin", ["admin"])
    event_id = _completed_event(client, admin, "c")
    original = distribution.verify
    monkeypatch.setattr(
        distribution, "verify", lambda e, *more: ["injected mismatch"] if e == event_id else original(e, *more)
    )
    assert client.call("POST", f"/api/events/{event_id}/prizes/distribute", admin).status == 201

    deadline = time.monotonic() + 180  # a hang, not a slow machine
    while not (executions := _executions(stack, event_id)) or executions[0]["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.2)
    body = _wait_run(client, admin, event_id, "ROLLED_BACK", seconds=1)
    assert body["prizes_by_status"] == {"ROLLED_BACK": 40, "PAYOUT_REQUESTED": 1}
    assert _balance("user:c01") == 0 and _balance(f"event-pool:{event_id}") == 0
    assert [e["status"] for e in executions] == ["FAILED"]
    visited = _visited(stack, executions[0]["executionArn"])
    assert visited[-3:] == ["Verify", "Rollback", "Failed"]
    assert visited.count("Verify") == 1
