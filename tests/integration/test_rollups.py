"""Analytics rollups, differentially: a random trade stream (several traders, markets, events and sides, with
duplicates, reordering and invalid trades) goes through the real ingest handler; the trades and participants
tables' streams, read as the local stack's poller reads them, go to the real RollupTradesFunction handler in
batches, some delivered twice, some failing half-written and redelivered as longer batches with the same first
record; every bucket, total, user day and distinct count is compared to an oracle computed here from the trades.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest
from arena import clock
from arena.domain.rollups import Resolution, Tally, TradeRow, align, tally_of
from arena.services import rollups
from arena.store import analytics

from local.pollers import DynamoDBStreamPoller
from tests.conftest import api_event, sample_event
from tests.integration.conftest import DROP, Arena

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
FIRST_TRADE = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)
MARKETS = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "DOGE-USDT"]
USERS = [f"trader-{i}" for i in range(1, 10)]


@dataclass(frozen=True)
class EventSpec:
    id: str
    start: datetime
    end: datetime
    markets: frozenset[str]  # empty: every market
    joined: frozenset[str]  # who joined before trading; None of them if joining is not required
    join_required: bool

    def covers(self, row: TradeRow) -> bool:
        return self.start <= row.executed_at < self.end and (not self.markets or row.market in self.markets)

    def counts(self, row: TradeRow) -> bool:
        return self.covers(row) and (not self.join_required or row.user_id in self.joined)


def iso(moment: datetime) -> str:
    return clock.to_iso(moment)


@pytest.fixture
def rollup(
    load_handler: Callable[..., ModuleType], lambda_context: Any, archive_names: dict[str, str]
) -> Callable[[list[dict[str, Any]]], Any]:
    rollups.clear_cache()  # events cached by an earlier test's tables must not leak in
    module = load_handler("analytics", "rollup_trades")
    yield lambda records: module.lambda_handler({"Records": records}, lambda_context)
    rollups.clear_cache()


def stream_records(table_name: str) -> list[dict[str, Any]]:
    """Every record of a table's stream in Lambda's event format, as the local stack's poller builds them."""
    delivered: list[dict[str, Any]] = []

    def recording(event: dict[str, Any]) -> dict[str, Any]:
        delivered.extend(event["Records"])
        return {"batchItemFailures": []}

    arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    poller = DynamoDBStreamPoller(
        boto3.client("dynamodbstreams"),
        arn,
        recording,
        batch_size=1000,
        starting_position="TRIM_HORIZON",
        report_batch_item_failures=True,
        retry_backoff=0,
    )
    while poller.poll_once() > 0:
        pass
    return delivered


def random_trade(rng: random.Random, index: int) -> dict[str, Any]:
    executed = FIRST_TRADE + timedelta(seconds=rng.randint(0, int((NOW - FIRST_TRADE).total_seconds()) - 1))
    values: dict[str, Any] = {
        "trade_id": f"T-{index:05d}",
        "user_id": rng.choice(USERS),
        "market": rng.choice(MARKETS),
        "side": rng.choice(["buy", "sell"]),
        "quantity": str(Decimal(rng.randint(1, 50_000)) / 1000),
        "price": str(Decimal(rng.randint(1, 9_000_000)) / 100),
        "executed_at": iso(executed),
    }
    if rng.random() < 0.7:
        values["fee"] = str(Decimal(rng.randint(0, 5_000)) / 10_000)
    return values


def row_of(values: dict[str, Any]) -> TradeRow:
    return TradeRow(
        trade_id=values["trade_id"],
        user_id=values["user_id"],
        market=values["market"],
        side=values["side"],
        volume=Decimal(values["quantity"]) * Decimal(values["price"]),
        fee=Decimal(values.get("fee", "0")),
        executed_at=clock.from_iso(values["executed_at"]),
    )


def batches(records: list[dict[str, Any]], rng: random.Random) -> Iterator[list[dict[str, Any]]]:
    start = 0
    while start < len(records):
        size = rng.randint(1, 60)
        yield records[start : start + size]
        start += size


class FaultyWrites:
    """Makes about half of the rollup item writes fail while on: a batch left half-written, as a crash would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, rng: random.Random) -> None:
        self.on = False
        self.rng = rng
        self.writes: list[tuple[str, str]] = []
        real = analytics.write_state

        def write_state(scope: str, bucket: str, *args: Any) -> bool:
            if self.on and self.rng.random() < 0.5:
                raise RuntimeError("injected write failure")
            self.writes.append((scope, bucket))
            return real(scope, bucket, *args)

        monkeypatch.setattr(analytics, "write_state", write_state)


def deliver(
    rollup: Callable[[list[dict[str, Any]]], Any], faults: FaultyWrites, batch: list[dict[str, Any]], rng: random.Random
) -> None:
    """One batch as Lambda may deliver it: once, twice, or first shorter and failing half-written."""
    mode = rng.choice(["once", "twice", "partial-then-longer", "short-ok-then-longer"])
    if mode == "partial-then-longer":
        faults.on = True
        answer = rollup(batch[: rng.randint(1, len(batch))])
        faults.on = False
        if answer["batchItemFailures"]:
            assert answer["batchItemFailures"] == [{"itemIdentifier": batch[0]["dynamodb"]["SequenceNumber"]}]
    elif mode == "short-ok-then-longer":
        assert rollup(batch[: rng.randint(1, len(batch))]) == {"batchItemFailures": []}
    faults.writes.clear()
    assert rollup(batch) == {"batchItemFailures": []}
    # One write per item per batch: no item written twice by one delivery.
    assert len(faults.writes) == len(set(faults.writes))
    if mode == "twice":
        assert rollup(batch) == {"batchItemFailures": []}


# ------------------------------------------------------------------------------------------------ the oracle


@dataclass
class Expected:
    tally: Tally
    by_market: dict[str, Tally]
    traders: set[str]
    market_traders: set[str]
    joins: int
    by_hour: dict[int, Tally]


def _empty() -> Expected:
    return Expected(Tally(), {}, set(), set(), 0, {})


def oracle(
    events: list[EventSpec], rows: list[TradeRow], joins: dict[str, list[datetime]]
) -> tuple[dict[tuple[str, Resolution, datetime], Expected], dict[str, Expected]]:
    buckets: dict[tuple[str, Resolution, datetime], Expected] = defaultdict(_empty)
    totals: dict[str, Expected] = defaultdict(_empty)
    for event in events:
        for row in rows:
            if not event.covers(row):
                continue
            targets = [buckets[(event.id, r, align(row.executed_at, r))] for r in Resolution] + [totals[event.id]]
            for target in targets:
                target.market_traders.add(row.user_id)
            if event.counts(row):
                for target in targets:
                    target.tally = target.tally + tally_of(row)
                    target.by_market[row.market] = target.by_market.get(row.market, Tally()) + tally_of(row)
                    target.traders.add(row.user_id)
                hour = row.executed_at.hour
                totals[event.id].by_hour[hour] = totals[event.id].by_hour.get(hour, Tally()) + tally_of(row)
        for joined_at in joins[event.id]:
            for r in Resolution:
                buckets[(event.id, r, align(joined_at, r))].joins += 1
            totals[event.id].joins += 1
    return buckets, totals


# ------------------------------------------------------------------------------------------------ the test


@pytest.mark.parametrize("seed", [13])
def test_rollups_match_an_oracle_whatever_the_delivery(
    arena: Arena,
    rollup: Callable[[list[dict[str, Any]]], Any],
    tables: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    """Given three live events: two markets with joining required, every market open to all (joined by trading),
    When the tables' streams reach the rollups, batch by batch, with redeliveries and half-written failures
    Then every bucket, total, user day and distinct count is the oracle's"""
    rng = random.Random(seed)
    arena.clock.set(NOW)

    # and one market from the morning before, with joining required
    a = arena.new_event(start_at="2026-12-01T00:00:00Z", markets=["BTC-USDT", "ETH-USDT"])["id"]
    b = arena.new_event(start_at="2026-12-01T10:00:00Z", markets=[], join_required=False, max_participants=DROP)["id"]
    c = arena.new_event(start_at="2026-12-02T06:30:00Z", markets=["SOL-USDT"])["id"]
    joined_a, joined_c = frozenset(USERS[:4]), frozenset(USERS[3:7])
    for user in joined_a:
        arena.joined(a, user)
    for user in joined_c:
        arena.joined(c, user)
    end = datetime(2026, 12, 15, tzinfo=UTC)
    events = [
        EventSpec(a, datetime(2026, 12, 1, tzinfo=UTC), end, frozenset({"BTC-USDT", "ETH-USDT"}), joined_a, True),
        EventSpec(b, datetime(2026, 12, 1, 10, tzinfo=UTC), end, frozenset(), frozenset(), False),
        EventSpec(c, datetime(2026, 12, 2, 6, 30, tzinfo=UTC), end, frozenset({"SOL-USDT"}), joined_c, True),
    ]

    # And a random trade stream, posted in shuffled batches with repeats (within and across posts) and invalid trades
    unique = [random_trade(rng, i) for i in range(300)]
    posts: list[list[dict[str, Any]]] = []
    pending = list(unique)
    rng.shuffle(pending)
    while pending:
        size = rng.randint(1, 80)
        post, pending = pending[:size], pending[size:]
        post += rng.sample(unique, k=min(len(unique), rng.randint(0, 6)))  # repeats of trades already sent or not
        if rng.random() < 0.3:
            post.append({**random_trade(rng, 99_999), "quantity": "-1"})  # refused: never counted anywhere
        rng.shuffle(post)
        posts.append(post)
    for post in posts:
        reply = arena.ingest(post)
        assert reply.status == 200, reply

    # When
    faults = FaultyWrites(monkeypatch, rng)
    trade_records = stream_records(tables["TradesTable"])
    participant_records = stream_records(tables["ParticipantsTable"])
    deliveries = [("t", b_) for b_ in batches(trade_records, rng)] + [
        ("p", b_) for b_ in batches(participant_records, rng)
    ]
    order = sorted(range(len(deliveries)), key=lambda i: (rng.random(), i))
    # Batches of one stream stay in order (one shard); the two streams interleave freely.
    by_stream: dict[str, list[list[dict[str, Any]]]] = {"t": [], "p": []}
    for _, (stream, batch) in sorted(zip(order, deliveries, strict=True)):
        by_stream[stream].append(batch)
    streams = {name: iter(items) for name, items in by_stream.items()}
    while streams:
        name = rng.choice(sorted(streams))
        batch = next(streams[name], None)
        if batch is None:
            del streams[name]
            continue
        deliver(rollup, faults, batch, rng)

    # Then
    rows = [row_of(t) for t in unique]
    joins: dict[str, list[datetime]] = {a: [NOW] * len(joined_a), c: [NOW] * len(joined_c)}
    joins[b] = [NOW] * len({r.user_id for r in rows if events[1].counts(r)})
    expected_buckets, expected_totals = oracle(events, rows, joins)

    window = (datetime(2026, 11, 29, tzinfo=UTC), datetime(2026, 12, 16, tzinfo=UTC))
    for event in events:
        totals = analytics.event_totals(event.id)
        expected = expected_totals[event.id]
        assert totals is not None
        assert totals.tally == expected.tally and totals.tally.trades > 0
        assert dict(totals.by_market) == expected.by_market
        assert dict(totals.by_hour_of_day) == expected.by_hour
        assert totals.traders == len(expected.traders)
        assert totals.market_traders == len(expected.market_traders)
        assert totals.joins == expected.joins
        assert analytics.market_traders(event.id) == frozenset(expected.market_traders)
        for resolution in Resolution:
            got = {bucket.start: bucket for bucket in analytics.event_buckets(event.id, resolution, *window)}
            want = {start: e for (eid, r, start), e in expected_buckets.items() if eid == event.id and r is resolution}
            assert set(got) == set(want), (event.id, resolution)
            for start, bucket in got.items():
                expected = want[start]
                assert bucket.tally == expected.tally, (event.id, resolution, start)
                assert dict(bucket.by_market) == expected.by_market
                assert bucket.traders == len(expected.traders)
                assert bucket.market_traders == len(expected.market_traders)
                assert bucket.joins == expected.joins

    want_days: dict[str, dict[date, tuple[Tally, set[str]]]] = defaultdict(dict)
    for row in rows:
        tally, markets = want_days[row.user_id].get(row.executed_at.date(), (Tally(), set()))
        want_days[row.user_id][row.executed_at.date()] = (tally + tally_of(row), markets | {row.market})
    got_days = analytics.user_days([*USERS, "nobody"], date(2026, 11, 29), date(2026, 12, 3))
    assert got_days["nobody"] == []
    for user in USERS:
        assert {d.day: (d.tally, set(d.markets)) for d in got_days[user]} == want_days[user]
        assert [d.day for d in got_days[user]] == sorted(want_days[user])


def test_reads_of_an_event_without_rollups(tables: dict[str, str]) -> None:
    """Given no rollup for an event
    When its totals, buckets, market traders and a user's days are read
    Then nothing is invented."""
    # Given no rollup for an event; When read; Then nothing is invented
    start = datetime(2026, 12, 1, tzinfo=UTC)
    assert analytics.event_totals("01JNOTHING0000000000000000") is None
    assert (
        analytics.event_buckets("01JNOTHING0000000000000000", Resolution.HOUR, start, start + timedelta(days=1)) == []
    )
    assert analytics.market_traders("01JNOTHING0000000000000000") == frozenset()
    assert analytics.user_days(["trader-1"], date(2026, 12, 1), date(2026, 12, 2)) == {"trader-1": []}


def test_equity_updates_and_other_changes_are_not_trades(
    arena: Arena, rollup: Callable[[list[dict[str, Any]]], Any], tables: dict[str, str]
) -> None:
    """Given an event joined by one trader, who then sends an equity update (a dedupe record without a market)
    When the streams reach the rollups
    Then only the join shows: no trade was made up from the equity update"""
    arena.clock.set(NOW)
    event_id = arena.new_event(start_at="2026-12-01T00:00:00Z", ranking_metric="roi")["id"]
    arena.joined(event_id, "trader-1")
    update = {
        "update_id": "EQ-1",
        "user_id": "trader-1",
        "kind": "starting_equity",
        "amount": "100",
        "at": iso(NOW - timedelta(hours=1)),
    }
    reply = arena.call("trades/ingest_equity", api_event("trades/ingest_equity.json", body={"updates": [update]}))
    assert reply.status == 200, reply

    # When
    for table in ("TradesTable", "ParticipantsTable"):
        records = stream_records(tables[table])
        if records:
            assert rollup(records) == {"batchItemFailures": []}

    # Then
    totals = analytics.event_totals(event_id)
    assert totals is not None
    assert (totals.joins, totals.tally, totals.market_traders) == (1, Tally(), 0)
    assert analytics.user_days(["trader-1"], date(2026, 12, 1), date(2026, 12, 2)) == {"trader-1": []}


def test_the_sample_batch_rolls_up_once_however_often_it_is_delivered(
    rollup: Callable[[list[dict[str, Any]]], Any], tables: dict[str, str]
) -> None:
    """Given the sample batch: one trade's feed record and its record for the sample event
    When it is delivered three times
    Then the event counts the trade once, and so does the trader's day"""
    records = sample_event("analytics/rollup_trades.json")["Records"]

    # When
    for _ in range(3):
        assert rollup(records) == {"batchItemFailures": []}

    # Then
    totals = analytics.event_totals("01jbsampleevent0000000000")
    assert totals is not None
    volume = Decimal("24062.625")
    assert totals.tally == Tally(volume=volume, trades=1, fees=Decimal("9.625"), buy_volume=volume)
    assert (totals.traders, totals.by_hour_of_day[10].trades) == (1, 1)
    (day,) = analytics.user_days(["trader-1"], date(2026, 12, 2), date(2026, 12, 2))["trader-1"]
    assert (day.tally.trades, day.markets) == (1, frozenset({"BTC-USDT"}))
    # And the archived trades are the batch's two trade records: the feed's and the event's
    archived = rollups.archived_trades(records)
    assert [(a.trade_id, a.event_id, a.volume) for a in archived] == [
        ("T-1000001", None, volume),
        ("T-1000001", "01jbsampleevent0000000000", volume),
    ]
