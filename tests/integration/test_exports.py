"""Analytics exports on moto (functions/analytics/exports_api.py and run_export.py): a job is accepted (202),
its worker writes the files to S3, the status route gives presigned links, and the files hold the right rows in
CSV and in JSON Lines. The worker is idempotent; admins and the event's managers alone see a job.

The asynchronous invoke is recorded here and the worker run by the test (the local stack's own asynchronous
invoke is exercised in tests/local/test_async_invoke.py)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests

from tests.conftest import api_event, sample_event
from tests.integration.conftest import Arena, Reply, manager_claims, trade, user_claims

WORKER_EVENT = "analytics/run_export.json"


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """The asynchronous invocations the export route queues, in order (function, payload)."""
    from arena.adapters import functions

    calls: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(functions, "invoke_async", lambda function, payload: calls.append((function, payload)))
    return calls


def request_export(arena: Arena, body: dict[str, Any], claims: dict[str, Any] | None = None) -> Reply:
    return arena.call("analytics/exports_api", api_event("analytics/request_export.json", body=body, claims=claims))


def get_export(arena: Arena, export_id: str, claims: dict[str, Any] | None = None) -> Reply:
    return arena.call(
        "analytics/exports_api",
        api_event("analytics/get_export.json", path={"exportId": export_id}, claims=claims),
    )


def run_worker(arena: Arena, export_id: str) -> dict[str, Any]:
    event = {**sample_event(WORKER_EVENT), "export_id": export_id}
    handler = arena._load("analytics", "run_export")
    return handler.lambda_handler(event, arena.context)


def traded_event(arena: Arena, claims: dict[str, Any] | None = None) -> str:
    """The sample event (volume ranking) with three traders' trades counted, and one joined trader who did not
    trade; the clock on 2026-12-03."""
    event_id = arena.new_event(claims)["id"]
    for user in ("ana", "ben", "cy", "dee"):
        arena.joined(event_id, user)
    arena.clock.set(datetime(2026, 12, 3, tzinfo=UTC))
    trades = [
        trade("x1", "ana", "2026-12-02T10:00:00.000Z", quantity="2", price="100", fee="0.5"),
        trade("x2", "ben", "2026-12-02T10:05:00.000Z", quantity="5", price="100", fee="1.25"),
        trade("x3", "cy", "2026-12-02T11:00:00.000Z", quantity="1", price="100.5", market="ETH-USDT"),
        trade("x4", "ana", "2026-12-02T12:00:00.000Z", quantity="0.5", price="100", side="sell"),
    ]
    reply = arena.ingest(trades)
    assert reply.status == 200 and reply.body["accepted"] == 4, reply
    return event_id


def fetch(url: str) -> str:
    answer = requests.get(url, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.text


EXPECTED_PARTICIPANTS = [
    # user, volume, trades, rank
    ("ben", "500", "1", "1"),
    ("ana", "250", "2", "2"),
    ("cy", "100.5", "1", "3"),
    ("dee", "0", "0", ""),
]


def test_export_of_participants_in_csv_is_accepted_run_and_downloaded(
    arena: Arena, archive_names: dict[str, str], queued: list[Any]
) -> None:
    """Given an event with traded participants
    When an admin asks for its participants as CSV, and the worker runs
    Then the job is accepted PENDING with its worker queued, then has one downloadable file of the participants by
    rank."""
    event_id = traded_event(arena)
    # When
    reply = request_export(arena, {"event_ids": [event_id], "datasets": ["participants"], "format": "csv"})
    # Then the job is accepted, PENDING, and its worker queued with its id
    assert reply.status == 202, reply
    export_id = reply.body["export_id"]
    assert reply.body["status"] == "PENDING" and reply.body["files"] == []
    assert queued == [("RunExportFunction", {"export_id": export_id})]
    assert get_export(arena, export_id).body["status"] == "PENDING"

    # When the worker runs
    assert run_worker(arena, export_id)["status"] == "SUCCEEDED"
    # Then the job has one file with a working presigned link, and its rows are the participants by rank
    job = get_export(arena, export_id)
    assert job.status == 200 and job.body["status"] == "SUCCEEDED", job
    [file] = job.body["files"]
    assert file["dataset"] == "participants" and file["rows"] == 4
    rows = list(csv.DictReader(io.StringIO(fetch(file["url"]))))
    assert [(r["user_id"], r["volume"], r["trades"], r["rank"]) for r in rows] == EXPECTED_PARTICIPANTS
    assert {r["event_id"] for r in rows} == {event_id}
    assert rows[0]["score"] == "500" and rows[0]["fees"] == "1.25" and rows[0]["qualified"] == "false"
    assert rows[1]["first_trade_at"] == "2026-12-02T10:00:00.000Z"
    assert rows[1]["last_trade_at"] == "2026-12-02T12:00:00.000Z"


def test_export_in_json_lines_holds_the_same_rows(
    arena: Arena, archive_names: dict[str, str], queued: list[Any]
) -> None:
    """Given an event with traded participants
    When its participants are exported as JSON Lines
    Then each line is one participant's object, amounts as decimal strings"""
    event_id = traded_event(arena)
    # When
    reply = request_export(arena, {"event_ids": [event_id], "datasets": ["participants"], "format": "jsonl"})
    export_id = reply.body["export_id"]
    run_worker(arena, export_id)
    # Then
    [file] = get_export(arena, export_id).body["files"]
    lines = [json.loads(line) for line in fetch(file["url"]).splitlines()]
    assert [(r["user_id"], r["volume"], r["trades"], r["rank"]) for r in lines] == EXPECTED_PARTICIPANTS
    assert sum(Decimal(r["volume"]) for r in lines) == Decimal("850.5")
    # and the object is stored where the job says, with its content type
    head = boto3.client("s3").head_object(
        Bucket=archive_names["ArchiveBucket"], Key=f"exports/{export_id}/participants.jsonl"
    )
    assert head["ContentType"] == "application/x-ndjson"


def test_worker_run_twice_finishes_the_job_once(arena: Arena, archive_names: dict[str, str], queued: list[Any]) -> None:
    """Given an accepted export job
    When its worker is delivered twice (Lambda's asynchronous invoke is at least once)
    Then both report the one result; the job ran once, and its one file is there"""
    event_id = traded_event(arena)
    export_id = request_export(arena, {"event_ids": [event_id], "datasets": ["participants"]}).body["export_id"]
    # When
    first = run_worker(arena, export_id)
    updated = get_export(arena, export_id).body["updated_at"]
    second = run_worker(arena, export_id)
    # Then
    from arena.store import exports as export_store

    assert first["status"] == second["status"] == "SUCCEEDED"
    record = export_store.get(export_id)
    assert record is not None and record.attempts == 1
    assert get_export(arena, export_id).body["updated_at"] == updated
    keys = boto3.client("s3").list_objects_v2(Bucket=archive_names["ArchiveBucket"], Prefix=f"exports/{export_id}/")
    assert [o["Key"] for o in keys["Contents"]] == [f"exports/{export_id}/participants.csv"]


def test_a_retried_worker_rewrites_the_same_objects(
    arena: Arena, archive_names: dict[str, str], queued: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an export whose first attempt fails after writing its file (DynamoDB unreachable as it finishes)
    When Lambda retries it
    Then the job finished on its second attempt, with the one object rewritten"""
    from arena.store import exports as export_store

    event_id = traded_event(arena)
    export_id = request_export(arena, {"event_ids": [event_id], "datasets": ["participants"]}).body["export_id"]
    real_succeed = export_store.succeed

    def broken(*_: Any) -> None:
        raise ConnectionError("DynamoDB unreachable")

    monkeypatch.setattr(export_store, "succeed", broken)
    with pytest.raises(ConnectionError):
        run_worker(arena, export_id)
    assert get_export(arena, export_id).body["status"] == "RUNNING"
    # When
    monkeypatch.setattr(export_store, "succeed", real_succeed)
    assert run_worker(arena, export_id)["status"] == "SUCCEEDED"
    # Then
    record = export_store.get(export_id)
    assert record is not None and record.attempts == 2 and len(record.files) == 1
    keys = boto3.client("s3").list_objects_v2(Bucket=archive_names["ArchiveBucket"], Prefix=f"exports/{export_id}/")
    assert len(keys["Contents"]) == 1


def test_the_last_failed_attempt_marks_the_job_failed(
    arena: Arena, archive_names: dict[str, str], queued: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given an export whose every attempt fails
    When Lambda tries it three times
    Then the third attempt records the failure, and the job shows it without links"""
    from arena.services import exports as service

    event_id = traded_event(arena)
    export_id = request_export(arena, {"event_ids": [event_id], "datasets": ["participants"]}).body["export_id"]

    def broken(*_: Any) -> None:
        raise ConnectionError("S3 unreachable")

    monkeypatch.setattr(service.file_store, "put", broken)
    # When
    for _ in range(service.MAX_ATTEMPTS - 1):
        with pytest.raises(RuntimeError):
            run_worker(arena, export_id)
    last = run_worker(arena, export_id)
    # Then
    assert last["status"] == "FAILED"
    job = get_export(arena, export_id).body
    assert job["status"] == "FAILED" and job["files"] == [] and "3 attempts" in job["error"]


def test_a_manager_exports_only_their_own_events(
    arena: Arena, archive_names: dict[str, str], queued: list[Any]
) -> None:
    """Given two events, one created by manager mia
    When mia asks for both, then for hers
    Then the other event is refused (403) and nothing queued for it; hers is accepted"""
    mine = traded_event(arena, manager_claims("mia"))
    other = arena.new_event()["id"]
    # When
    refused = request_export(arena, {"event_ids": [mine, other], "datasets": ["participants"]}, manager_claims("mia"))
    accepted = request_export(arena, {"event_ids": [mine], "datasets": ["participants"]}, manager_claims("mia"))
    # Then
    assert refused.status == 403 and refused.code == "not_event_manager"
    assert accepted.status == 202
    assert len(queued) == 1
    # and her job is hers to read: another manager sees no such job, an admin sees it
    export_id = accepted.body["export_id"]
    assert get_export(arena, export_id, manager_claims("mia")).status == 200
    assert get_export(arena, export_id, manager_claims("noor")).code == "export_not_found"
    assert get_export(arena, export_id).status == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"event_ids": ["01jbunknown00000000000000"], "datasets": ["participants"]}, 404, "event_not_found"),
        ({"event_ids": [], "datasets": ["participants"]}, 422, None),
        ({"event_ids": ["e"], "datasets": ["trades"]}, 422, None),
        ({"event_ids": ["e"], "datasets": ["participants"], "format": "xlsx"}, 422, None),
        ({"event_ids": ["e"] * 1, "datasets": ["timeseries"], "resolution": "second"}, 422, None),
        ({"event_ids": [f"e{i}" for i in range(21)], "datasets": ["participants"]}, 422, "too_many_events"),
    ],
)
def test_bad_export_requests_are_refused_clearly(
    arena: Arena, queued: list[Any], body: dict[str, Any], status: int, code: str | None
) -> None:
    """Given an admin
    When the request names unknown events, datasets, formats or resolutions, or too many events
    Then it is refused with a clear error and nothing is queued"""
    # When
    reply = request_export(arena, body)
    # Then
    assert reply.status == status, reply
    if code:
        assert reply.code == code
    assert queued == []


def test_an_unknown_export_is_404(arena: Arena) -> None:
    """Given no export
    When one is asked for
    Then it is not found"""
    # When
    reply = get_export(arena, "01jbnosuchexport000000000")
    # Then
    assert reply.status == 404 and reply.code == "export_not_found"


def test_users_may_not_export(arena: Arena, queued: list[Any]) -> None:
    """Given a signed-in trader
    When they ask for an export
    Then they are refused before the request is read"""
    # When
    reply = request_export(arena, {"event_ids": ["e"], "datasets": ["participants"]}, user_claims("ana"))
    # Then
    assert reply.status == 403 and queued == []


@pytest.fixture
def rollups(
    tables: dict[str, str], archive_names: dict[str, str], lambda_context: Any, load_handler: Callable[..., ModuleType]
) -> Any:
    """The trades and participants streams wired to the rollup consumer (functions/analytics/rollup_trades.py)."""
    from tests.conftest import StreamPump

    module = load_handler("analytics", "rollup_trades")
    pumps = [
        StreamPump(tables["ParticipantsTable"], module.lambda_handler, lambda_context),
        StreamPump(tables["TradesTable"], module.lambda_handler, lambda_context),
    ]

    class Rollups:
        def drain(self) -> None:
            for pump in pumps:
                pump.drain()

    return Rollups()


def test_export_of_the_timeseries_holds_the_events_rollup_buckets(
    arena: Arena, archive_names: dict[str, str], queued: list[Any], rollups: Any
) -> None:
    """Given an event with traded participants, rolled up
    When its hourly time series is exported, in both formats
    Then the CSV and the JSON Lines hold the same rows: the hours that saw the joins and the trades"""
    event_id = traded_event(arena)
    rollups.drain()
    # When
    jobs = {
        fmt: request_export(
            arena, {"event_ids": [event_id], "datasets": ["timeseries"], "format": fmt, "resolution": "hour"}
        ).body["export_id"]
        for fmt in ("csv", "jsonl")
    }
    for export_id in jobs.values():
        run_worker(arena, export_id)
    # Then
    [csv_file] = get_export(arena, jobs["csv"]).body["files"]
    [jsonl_file] = get_export(arena, jobs["jsonl"]).body["files"]
    csv_rows = list(csv.DictReader(io.StringIO(fetch(csv_file["url"]))))
    jsonl_rows = [json.loads(line) for line in fetch(jsonl_file["url"]).splitlines()]
    assert csv_rows == jsonl_rows
    assert csv_file["rows"] == len(csv_rows)
    summary = [(r["bucket_start"], r["volume"], r["trades"], r["traders"], r["joins"]) for r in csv_rows]
    assert summary == [
        ("2026-12-01T12:00:00.000Z", "0", "0", "0", "4"),
        ("2026-12-02T10:00:00.000Z", "700", "2", "2", "0"),
        ("2026-12-02T11:00:00.000Z", "100.5", "1", "1", "0"),
        ("2026-12-02T12:00:00.000Z", "50", "1", "1", "0"),
    ]
    assert csv_rows[1]["fees"] == "1.75" and csv_rows[3]["sell_volume"] == "50"
    assert {(r["event_id"], r["resolution"]) for r in csv_rows} == {(event_id, "hour")}
