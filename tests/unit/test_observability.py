"""Observability rules (arena/observability.py): the correlation id each kind of trigger gives its log lines, the
workflow's execution id in every task's input, and the @connections post metrics the operators alarm on."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from arena import factories, observability
from arena.adapters import connections
from arena.observability import (
    EVENTBRIDGE,
    HTTP,
    WEBSOCKET,
    correlation_id,
    lifecycle_schedule_name,
    sqs_batch_id,
    stream_batch_id,
    workflow_execution_id,
)
from botocore.exceptions import ClientError

from tests.conftest import sample_event

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = SimpleNamespace(aws_request_id="lambda-request-1")


def stream_records(*sequences: str) -> dict[str, Any]:
    return {"Records": [{"eventID": f"id-{s}", "dynamodb": {"SequenceNumber": s}} for s in sequences]}


# ---------------------------------------------------------------------------------------- correlation ids


@pytest.mark.parametrize(
    ("correlation", "event", "expected"),
    [
        (HTTP, sample_event("events/get_event.json"), "sample-request"),
        (WEBSOCKET, sample_event("realtime/subscribe.json"), "Rf8sQFzXoAMFyRg="),
        (WEBSOCKET, sample_event("realtime/connect.json"), "Rf8sQFzXoAMFyRg="),
        (sqs_batch_id, sample_event("trades/consume_trade_queue.json"), "5f2c6d3e-0000-4000-8000-000000000001"),
        (stream_batch_id, stream_records("100", "250", "300"), "100..300"),
        (stream_batch_id, stream_records("42"), "42..42"),
        (EVENTBRIDGE, sample_event("realtime/push_domain_event.json"), "7bf73129-1428-4cd3-a780-95db273d1602"),
        (
            EVENTBRIDGE,
            sample_event("lifecycle/check_event_status_transitions.json"),
            "5f8b1c2e-0000-4000-8000-000000000001",
        ),
        (
            lifecycle_schedule_name,
            sample_event("lifecycle/run_transition.json"),
            "arena-01jbsampleevent0000000000-start",
        ),
        (
            workflow_execution_id,
            {"step": "verify", "event_id": "ev-1", "execution_id": "arn:aws:states:us-east-1:1:execution:D:run-1"},
            "arn:aws:states:us-east-1:1:execution:D:run-1",
        ),
    ],
    ids=["http", "websocket", "websocket-connect", "sqs", "stream", "stream-one", "eventbridge", "schedule-net",
         "schedule-one-shot", "workflow"],
)  # fmt: skip
def test_each_kind_of_trigger_names_its_correlation_id(correlation: Any, event: dict[str, Any], expected: str) -> None:
    """Given a trigger of each kind (the sample payloads of events/)
    When its correlation id is taken
    Then it is the id an operator finds that trigger by (request id, first message, sequence range, event id...)."""
    assert correlation_id(correlation, event, CONTEXT) == expected


@pytest.mark.parametrize(
    ("correlation", "event"),
    [
        (HTTP, {}),
        (WEBSOCKET, {"requestContext": {}}),
        (sqs_batch_id, {"Records": []}),
        (stream_batch_id, {"Records": [{"dynamodb": {}}]}),
        (EVENTBRIDGE, {"detail": {}}),
        (lifecycle_schedule_name, {"event_id": "ev-1"}),
        (workflow_execution_id, {"step": "verify", "event_id": "ev-1"}),
        (sqs_batch_id, ["not", "a", "mapping"]),
        (HTTP, "not a mapping"),
    ],
)
def test_a_trigger_without_its_id_falls_back_to_the_lambda_request_id(correlation: Any, event: Any) -> None:
    """Given a trigger that lacks the id its kind carries (an empty batch, a hand-made event)
    When its correlation id is taken
    Then it is the Lambda request id, so no log line goes without one, and nothing raises."""
    assert correlation_id(correlation, event, CONTEXT) == "lambda-request-1"


# ------------------------------------------------------------------------------- the workflow's execution id


def _task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state.get("Type") == "Task":
            yield name, state
        for inner in (state.get("ItemProcessor") or state.get("Iterator") or {},):
            yield from _task_states(inner.get("States") or {})
        for branch in state.get("Branches") or []:
            yield from _task_states(branch.get("States") or {})


def test_every_distribution_task_receives_its_execution_id() -> None:
    """Given the distribution workflow's definition
    When each of its tasks (those inside the Map of batches too) is looked at
    Then its payload carries the execution's id as `execution_id`, the workflow handler's correlation id."""
    definition = json.loads((ROOT / "statemachine" / "distribution.asl.json").read_text())
    tasks = dict(_task_states(definition["States"]))
    assert set(tasks) >= {"Validate", "FreezeResults", "Calculate", "DistributeBatch", "Verify", "Complete", "Rollback"}
    for name, state in tasks.items():
        payload = state["Parameters"]["Payload"]
        assert payload.get("execution_id.$") == "$$.Execution.Id", name


# ----------------------------------------------------------------------------------- @connections metrics


class FakeManagementApi:
    """post_to_connection answers 410 for 'gone-*' ids, 429 for 'throttled-*', a timeout for 'slow-*'."""

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> None:
        if ConnectionId.startswith("gone-"):
            raise ClientError(
                {"Error": {"Code": "GoneException"}, "ResponseMetadata": {"HTTPStatusCode": 410}}, "PostToConnection"
            )
        if ConnectionId.startswith("throttled-"):
            raise ClientError(
                {"Error": {"Code": "LimitExceededException"}, "ResponseMetadata": {"HTTPStatusCode": 429}},
                "PostToConnection",
            )
        if ConnectionId.startswith("slow-"):
            raise TimeoutError("read timeout")


@pytest.fixture
def management_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The adapter's client and thread pool, without sockets; settings as a function has them (the posting
    threads' count is one)."""
    for name in ("EVENTS", "PARTICIPANTS", "TRADES", "LEADERBOARD", "AUDIT", "LEDGER"):
        monkeypatch.setenv(f"{name}_TABLE", f"arena-{name.lower()}")
    factories.reset()
    pool = ThreadPoolExecutor(max_workers=4)
    monkeypatch.setattr(connections, "client", lambda: FakeManagementApi())
    monkeypatch.setattr(connections, "_pool", lambda: pool)
    observability.metrics.clear_metrics()
    yield
    observability.metrics.clear_metrics()
    pool.shutdown()
    factories.reset()


def counted() -> dict[str, float]:
    return {name: sum(metric["Value"]) for name, metric in observability.metrics.metric_set.items()}


def test_post_failures_and_gone_connections_are_counted(management_api: None) -> None:
    """Given connections that take the post, one that is gone (410), one throttled (429) and one timing out
    When a message is posted to all of them
    Then ConnectionPostSent counts the posts delivered, ConnectionGone the 410s and ConnectionPostFailed the
    other failures: the figures the fan-out's alarms watch."""
    ids = ["ok-1", "ok-2", "gone-1", "throttled-1", "slow-1"]

    outcome = connections.post(ids, b'{"type":"x"}')

    assert (outcome.sent, outcome.gone, outcome.failed) == (2, ["gone-1"], 2)
    assert counted() == {"ConnectionPostSent": 2, "ConnectionGone": 1, "ConnectionPostFailed": 2}


def test_a_clean_fan_out_counts_no_failures(management_api: None) -> None:
    """Given connections that all take the post
    When a message is posted to them
    Then only ConnectionPostSent is counted (no zero-valued failure metrics to blur an alarm's statistics)."""
    connections.post(["ok-1", "ok-2", "ok-3"], b"{}")

    assert counted() == {"ConnectionPostSent": 3}
