"""The analytics read bench (bench/analytics.py) measures honest work: the rollup items it writes for its trades
are those the trades stream consumer (services/rollups.rollup_stream) writes from the same trades' stream records,
and its naive baseline (a scan of the trade records) answers the same totals as the rollups."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from arena.services import rollups
from arena.store import analytics as rollup_store
from arena.store import dynamo

from bench import analytics as bench
from tests.integration.test_rollups import stream_records

BOOKKEEPING = {"version", "applied"}  # how the items were written (one put vs stream batches), not what they hold


def analytics_items(table: str) -> dict[tuple[str, str], dict[str, Any]]:
    client = boto3.client("dynamodb")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    request: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**request)
        for item in page["Items"]:
            values = dynamo.from_item(item)
            found[(values["scope"], values["bucket"])] = {k: v for k, v in values.items() if k not in BOOKKEEPING}
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def clear(table: str) -> None:
    client = boto3.client("dynamodb")
    for scope, bucket in analytics_items(table):
        client.delete_item(TableName=table, Key=dynamo.to_item({"scope": scope, "bucket": bucket}))


@pytest.fixture
def create_event(load_handler: Callable[..., ModuleType]) -> ModuleType:
    return load_handler("events", "create_event")


@pytest.mark.usefixtures("frozen_clock")
def test_bench_rollup_items_equal_what_the_trades_stream_consumer_writes(
    tables: dict[str, str], create_event: ModuleType
) -> None:
    """Given the bench's two events, their participants joined, and its trades
    When the bench folds its rollup items, and the real consumer reads the same trades from the tables' streams
    Then both write the same items with the same contents."""
    # Given
    trades = bench.make_trades(120, participants=6, seed=7)
    events = bench.join_events(trades, create_event)
    ids = [e.id for e in events]
    # When the bench writes the rollup items it folds from the trades
    bench.write_rollups(bench.rollup_items(trades, ids, bench.JOINED_AT))
    folded = analytics_items(tables["AnalyticsTable"])
    # and, on an empty analytics table, the consumer reads the trade records and joins from the tables' streams
    clear(tables["AnalyticsTable"])
    rollups.clear_cache()
    dynamo.batch_write(tables["TradesTable"], bench.trade_records(trades, events))
    for table in ("TradesTable", "ParticipantsTable"):
        records = stream_records(tables[table])
        for start in range(0, len(records), 100):
            rollups.rollup_stream(records[start : start + 100])
    consumed = analytics_items(tables["AnalyticsTable"])
    # Then both hold the same items with the same contents
    assert set(folded) == set(consumed)
    assert folded == consumed
    totals = rollup_store.event_totals(ids[0])
    assert totals is not None and totals.tally.trades == sum(trades.counted(i) for i in range(len(trades)))


@pytest.mark.usefixtures("frozen_clock")
def test_bench_naive_scan_answers_the_rollups_totals(tables: dict[str, str], create_event: ModuleType) -> None:
    """Given the bench's events prepared as for a run When the naive design scans the trade records Then every
    event's trades, volume, fees, per-market volume and distinct traders equal its rollup totals."""
    # Given the bench's events prepared as for a run: rollups, trade records, one event completed with its snapshot
    trades = bench.make_trades(150, participants=5, seed=11)
    events, _, _ = bench.prepare(trades, create_event, naive_records=True)
    # When the naive design scans the trade records
    sums = bench.naive_totals(boto3.client("dynamodb"), tables["TradesTable"], [e.id for e in events])
    # Then every event's trades, volume, fees, per-market volume and distinct traders equal its rollup totals
    for event in events:
        totals = rollup_store.event_totals(event.id)
        assert totals is not None
        naive = sums[event.id]
        assert naive.trades == totals.tally.trades > 0
        assert naive.volume == totals.tally.volume
        assert naive.fees == totals.tally.fees
        assert naive.by_market == {market: t.volume for market, t in totals.by_market.items()}
        assert len(naive.traders) == totals.traders
