"""Analytics on the local stack: an export job over HTTP run by its worker through Lambda's asynchronous invoke
(local/workflows.py), its file fetched from moto S3 through the presigned link; a failing asynchronous invocation
retried and kept in the on-failure queue; and the archive filled through the stack's Firehose and queried with
`python -m local.athena`."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import ArenaClient, in_process_stack, iso


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with in_process_stack(dynamodb="moto", POWERTOOLS_LOG_LEVEL="WARNING") as local:
        local.workflows.retry_delay_seconds = 0.0
        yield local


def wait_for(check: Any, seconds: float = 60.0) -> Any:
    """Poll `check()` until it returns something truthy (the worker runs on its own thread)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("nothing came in time")


def test_an_export_requested_over_http_is_run_asynchronously_and_downloaded(stack: Any) -> None:
    """Given an event with three participants
    When an admin asks for its participants
    Then the job is accepted at once, and its worker, invoked asynchronously, finishes it"""
    arena = ArenaClient(stack.base_url)
    admin = arena.token("boss", ["admin"])
    start = datetime.now(UTC) + timedelta(days=1)
    body = {
        "name": "Export sprint",
        "start_at": iso(start),
        "end_at": iso(start + timedelta(hours=1)),
        "markets": ["BTC-USDT"],
        "prizes": [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": "10"}],
    }
    created = arena.call("POST", "/api/events", admin, body)
    assert created.status == 201, created.body
    event_id = created.body["id"]
    for user in ("ana", "ben", "cy"):
        joined = arena.call("POST", f"/api/events/{event_id}/join", arena.token(user, ["user"]))
        assert joined.status == 201, joined.body

    # When
    reply = arena.call(
        "POST", "/api/events/analytics/export", admin, {"event_ids": [event_id], "datasets": ["participants"]}
    )
    # Then
    assert reply.status == 202 and reply.body["status"] == "PENDING", reply.body
    export_id = reply.body["export_id"]

    def finished() -> dict[str, Any] | None:
        job = arena.call("GET", f"/api/events/analytics/exports/{export_id}", admin).body
        return job if job["status"] in ("SUCCEEDED", "FAILED") else None

    job = wait_for(finished)
    assert job["status"] == "SUCCEEDED", job
    # and its presigned link fetches the file from moto S3 over HTTP
    [file] = job["files"]
    assert file["url"].startswith(stack.moto_endpoint)
    with urllib.request.urlopen(file["url"], timeout=10) as answer:
        rows = list(csv.DictReader(io.StringIO(answer.read().decode())))
    assert sorted(r["user_id"] for r in rows) == ["ana", "ben", "cy"] and file["rows"] == 3
    assert {(r["event_id"], r["volume"], r["rank"]) for r in rows} == {(event_id, "0", "")}


def test_a_failing_asynchronous_invocation_is_retried_then_kept_in_its_on_failure_queue(stack: Any) -> None:
    """Given the export worker, whose on-failure destination is the AsyncFailureDLQ
    When it is invoked asynchronously with an event it cannot read
    Then Lambda answers 202 at once, and after three attempts the event is in the queue with Lambda's record"""
    sqs = stack.client("sqs")
    queue = stack.queues["AsyncFailureDLQ"]["url"]
    calls_before = stack.functions.get("RunExportFunction").invocations
    # When
    answer = stack.client("lambda").invoke(
        FunctionName="RunExportFunction", InvocationType="Event", Payload=json.dumps({"export": "?"}).encode()
    )
    # Then
    assert answer["StatusCode"] == 202
    messages = wait_for(lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"))
    record = json.loads(messages[0]["Body"])
    assert record["requestPayload"] == {"export": "?"}
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responsePayload"]["errorType"] == "KeyError"
    assert stack.functions.get("RunExportFunction").invocations - calls_before == 3


def test_trades_archived_through_the_stacks_firehose_answer_local_athena(stack: Any, capsys: Any) -> None:
    """Given three trades archived through the stack's delivery stream (two of them counted for an event)
    When `python -m local.athena` asks the running stack for the volume per partition
    Then it finds the archive through /local/health and prints the figures"""
    from arena import factories
    from arena.adapters import archive
    from arena.domain.archive import ArchivedTrade

    from local import athena

    stack.set_environ("ARCHIVE_STREAM", stack.delivery_streams["ArchiveStream"])  # what the archiving function gets
    factories.reset()
    at = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    feed = [ArchivedTrade(f"a{n}", "ana", "BTC-USDT", "buy", Decimal("0.5"), Decimal(100 + n), at) for n in range(3)]
    archive.put_trades([*feed, *(ArchivedTrade(**{**t.__dict__, "event_id": "e1"}) for t in feed[:2])])
    # When
    code = athena.main(
        [
            "SELECT event_id, COUNT(DISTINCT trade_id) AS trades, SUM(volume) AS volume FROM trades "
            "GROUP BY event_id ORDER BY event_id",
            "--arena",
            stack.base_url,
        ]
    )
    # Then
    assert code == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == ["event_id", "trades", "volume"]
    assert [(p, n, Decimal(v)) for p, n, v in lines[1:]] == [
        ("e1", "2", Decimal("100.5")),
        ("feed", "3", Decimal("151.5")),
    ]
