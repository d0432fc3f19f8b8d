"""The trade archive's record and the Firehose adapter's batching and retries (no AWS: a recording client)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from arena.adapters import archive
from arena.domain.archive import COLUMNS, FEED_PARTITION, PARTITION_KEYS, ArchivedTrade, record

from local.athena import glue_columns


def trade(n: int = 1, event_id: str | None = "01jbevent", **changes: Any) -> ArchivedTrade:
    values: dict[str, Any] = {
        "trade_id": f"t-{n}",
        "user_id": "alice",
        "market": "BTC-USDT",
        "side": "buy",
        "quantity": Decimal("0.5"),
        "price": Decimal("64000.10"),
        "executed_at": datetime(2026, 11, 30, 23, 59, 59, 123000, tzinfo=UTC),
        "event_id": event_id,
        "fee": Decimal("0.25"),
        **changes,
    }
    return ArchivedTrade(**values)


def test_record_carries_the_glue_tables_columns_and_its_partition_keys() -> None:
    """Given a trade of an event
    When it becomes an archive record
    Then it has exactly the Glue table's columns and partition keys, as template.yaml defines them"""
    # When
    fields = record(trade())
    # Then
    assert glue_columns() == {**COLUMNS, **PARTITION_KEYS}
    assert set(fields) == set(glue_columns())
    # and exact decimal strings, the UTC date of execution and the event as its partition
    assert fields["volume"] == "32000.05"
    assert fields["quantity"] == "0.5"
    assert fields["realized_pnl"] is None
    assert fields["executed_at"] == "2026-11-30T23:59:59.123Z"
    assert fields["trade_date"] == "2026-11-30"
    assert fields["event_id"] == "01jbevent"


def test_a_trade_of_no_event_is_filed_under_the_feed_partition() -> None:
    """Given a trade as the feed sent it, for no event
    When it becomes an archive record
    Then its partition is the feed's"""
    # When
    fields = record(trade(event_id=None))
    # Then
    assert fields["event_id"] == FEED_PARTITION


def test_records_are_json_lines() -> None:
    """Given a trade
    When it is encoded for Firehose
    Then it is one JSON object ending in a newline (objects of concatenated records read as JSON lines)"""
    # When
    data = archive.encode(trade())
    # Then
    assert data.endswith(b"\n") and data.count(b"\n") == 1
    assert json.loads(data)["trade_id"] == "t-1"


def test_calls_hold_at_most_500_records() -> None:
    """Given 1,201 small records
    When they are split into calls
    Then each call holds at most 500"""
    records = [b"x" * 10] * 1_201
    # When
    sizes = [len(chunk) for chunk in archive.chunks(records)]
    # Then
    assert sizes == [500, 500, 201]


def test_calls_hold_at_most_4_mib() -> None:
    """Given 10 records of 900 KiB (each under Firehose's 1,000 KiB)
    When they are split into calls
    Then no call exceeds 4 MiB, and every record is sent once"""
    records = [b"x" * (900 * 1024)] * 10
    # When
    chunks = list(archive.chunks(records))
    # Then
    assert all(sum(map(len, chunk)) <= archive.MAX_BYTES_PER_CALL for chunk in chunks)
    assert [len(chunk) for chunk in chunks] == [4, 4, 2]


def test_a_record_over_firehoses_limit_is_refused() -> None:
    """Given a record over 1,000 KiB
    When it is split into calls
    Then it is refused before any call"""
    # When
    # Then
    with pytest.raises(ValueError, match="exceeds"):
        list(archive.chunks([b"x" * (archive.MAX_RECORD_BYTES + 1)]))


class RecordingFirehose:
    """Refuses the records whose trade id is in `refuse` for the first `times` calls that carry them."""

    def __init__(self, refuse: set[str], times: int) -> None:
        self.refuse = refuse
        self.times = times
        self.calls: list[list[str]] = []

    def put_record_batch(self, DeliveryStreamName: str, Records: list[dict[str, bytes]]) -> dict[str, Any]:
        ids = [json.loads(r["Data"])["trade_id"] for r in Records]
        self.calls.append(ids)
        failing = len(self.calls) <= self.times
        responses = [
            {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "slow down"}
            if failing and i in self.refuse
            else {"RecordId": f"r-{i}"}
            for i in ids
        ]
        return {"FailedPutCount": sum("ErrorCode" in r for r in responses), "RequestResponses": responses}


def test_failed_records_alone_are_sent_again_with_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a stream that refuses two of five records twice
    When the five trades are archived
    Then the refused records alone were sent again, after growing waits, until accepted"""
    firehose = RecordingFirehose(refuse={"t-2", "t-4"}, times=2)
    monkeypatch.setattr(archive, "client", lambda: firehose)
    waits: list[float] = []
    # When
    sent = archive.put_trades([trade(n) for n in range(1, 6)], stream="s", sleep=waits.append)
    # Then
    assert sent == 5
    assert firehose.calls == [["t-1", "t-2", "t-3", "t-4", "t-5"], ["t-2", "t-4"], ["t-2", "t-4"]]
    assert waits == [archive.BASE_DELAY_SECONDS, archive.BASE_DELAY_SECONDS * 2]


def test_records_still_refused_after_every_attempt_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a stream that keeps refusing one record
    When the trades are archived
    Then the caller is told (its stream batch is then delivered again), after every attempt was made"""
    firehose = RecordingFirehose(refuse={"t-3"}, times=100)
    monkeypatch.setattr(archive, "client", lambda: firehose)
    # When
    # Then
    with pytest.raises(archive.ArchiveDeliveryFailed, match="1 record"):
        archive.put_trades([trade(n) for n in range(1, 4)], stream="s", sleep=lambda _: None)
    assert len(firehose.calls) == archive.ATTEMPTS
