"""`python -m bench analytics [--sizes 10000,1000000] [--samples 10] [--naive-max 10000]`: the read cost of
`performance` and `dashboard` against the number of trades, and a naive design that scans the trades.

Per size N (trades counted for each event), on a DynamoDB Local of its own with the template's tables:

1. two events created through POST /api/events over the same markets, both starting at S: one running (ends a
   week later, ACTIVE) and one that ended at S + 1 day and is COMPLETED with its post-event snapshot; the same
   `participants` users joined to both (participants.join, their totals set to their trades);
2. N participants' trades inside [S, S + 1 day), each counted for both events, plus N / 4 trades of traders of
   the markets who did not join (feed only);
3. the rollup items the trades stream consumer would have written for them. Pushing a million trades through the
   consumer takes this machine about 8 minutes of Python alone (0.45 ms per trade, before any write), so the
   trades are folded per item here (per minute, market and side; per trader and day) and the items are built
   with the rollups' own types (BucketState, Tally, Distinct; hours, days and totals by BucketState.add of the
   minutes) and written with the rollups' writer (store/analytics.write_state).
   tests/integration/test_bench_analytics.py checks that this gives the same items as
   services/rollups.rollup_stream fed the trades' stream records;
4. up to `--naive-max` trades, the trade records themselves (one per trade and event counted, one feed record per
   trade, as ingest writes them) for the naive design;
5. GET /api/events/{id}/performance (running: computed now; completed: its snapshot) and GET
   /api/events/analytics/dashboard through the real handler, then the naive design: one Scan of the trades table
   (it has no index by event) summing the events' totals, per market and per day, with distinct traders.

Counted with botocore hooks (bench/counters.py plus the items each read returns). Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import report
from bench.counters import DynamoCounters, Tally
from bench.harness import (
    ADMIN_CLAIMS,
    CONTEXT,
    ROOT,
    Console,
    ReadFigures,
    answer,
    load_handler,
    log,
    prepare_environment,
    table_variables,
    use_tables,
)
from local.samples import api_event

START, END = "<!-- analytics-reads:start -->", "<!-- analytics-reads:end -->"
# After the wall clock: DynamoDB Local deletes items whose TTL (expires_at) has passed, even during a run.
EVENT_START = datetime(2027, 3, 1, tzinfo=UTC)
EVENT_DAY = timedelta(days=1)
JOINED_AT = EVENT_START - timedelta(hours=1)
NOW = EVENT_START + EVENT_DAY + timedelta(hours=2)  # the completed event ended 2 hours ago
MARKETS = ("BTC-USDT", "ETH-USDT", "SOL-USDT")
OUTSIDERS_PER_PARTICIPANT = 2  # traders of the markets who did not join
OUTSIDER_TRADES = 0.25  # their trades, as a fraction of N


# ---------------------------------------------------------------------------------------------- the trades


@dataclass(frozen=True)
class Trades:
    """N trades as columns (a million trade dicts would not fit the time budget): millisecond offset from the
    event's start, trader index, market index, side (0 buy, 1 sell), notional in cents."""

    users: list[str]  # the first `participants` joined the events
    participants: int
    at_ms: list[int]
    trader: list[int]
    market: list[int]
    sell: list[int]
    cents: list[int]

    def __len__(self) -> int:
        return len(self.at_ms)

    def counted(self, i: int) -> bool:
        return self.trader[i] < self.participants


def make_trades(n: int, participants: int, seed: int) -> Trades:
    """`n` participants' trades (Pareto activity) and n * OUTSIDER_TRADES trades of the markets' other traders."""
    rng = random.Random(seed)
    outsiders = participants * OUTSIDERS_PER_PARTICIPANT
    users = [f"trader-{i:05d}" for i in range(participants + outsiders)]
    weights = [rng.paretovariate(1.2) for _ in range(participants)]
    traders = rng.choices(range(participants), weights=weights, k=n)
    traders += rng.choices(range(participants, participants + outsiders), k=int(n * OUTSIDER_TRADES))
    total = len(traders)
    span = int(EVENT_DAY.total_seconds() * 1000)
    return Trades(
        users=users,
        participants=participants,
        at_ms=[rng.randrange(span) for _ in range(total)],
        trader=traders,
        market=rng.choices(range(len(MARKETS)), k=total),
        sell=rng.choices((0, 1), k=total),
        cents=[rng.randrange(5_000, 2_500_000) for _ in range(total)],
    )


def volume_of(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def fee_of(cents: int) -> Decimal:
    return Decimal(cents * 4).scaleb(-6)  # 4 bp of the volume, exactly


def executed_at(trades: Trades, i: int) -> datetime:
    return EVENT_START + timedelta(milliseconds=trades.at_ms[i])


def trade_values(trades: Trades, i: int) -> dict[str, Any]:
    """One trade as ingest stores it (services/ingest._trade_values): price 1, so the quantity is the volume."""
    from arena import clock

    volume = volume_of(trades.cents[i])
    return {
        "trade_id": f"T{i:09d}",
        "user_id": trades.users[trades.trader[i]],
        "market": MARKETS[trades.market[i]],
        "side": "sell" if trades.sell[i] else "buy",
        "quantity": volume,
        "price": Decimal(1),
        "volume": volume,
        "realized_pnl": Decimal(0),
        "fee": fee_of(trades.cents[i]),
        "executed_at": clock.to_iso(executed_at(trades, i)),
    }


def trade_records(trades: Trades, events: Sequence[Any]) -> list[dict[str, Any]]:
    """What ingest writes to the trades table: per participant's trade one record per event it counts for, per
    valid trade one feed record."""
    from arena.store import trades as trade_store

    items = []
    for i in range(len(trades)):
        values = trade_values(trades, i)
        if trades.counted(i):
            items += [trade_store.trade_item(e.id, e.end_at, values, NOW) for e in events]
        items.append(trade_store.feed_item(values, executed_at(trades, i)))
    return items


# ---------------------------------------------------------------------------------------------- the rollups


def _tallies(sums: dict[tuple[int, int], list[int]]) -> dict[str, Any]:
    """{market: Tally} from {(market, sell): [cents, trades]}."""
    from arena.domain.rollups import Tally as Sum

    by_market: dict[str, Sum] = {}
    for (market, sell), (cents, count) in sorted(sums.items()):
        volume = volume_of(cents)
        part = Sum(
            volume=volume,
            trades=count,
            fees=fee_of(cents),
            buy_volume=Decimal(0) if sell else volume,
            sell_volume=volume if sell else Decimal(0),
        )
        name = MARKETS[market]
        by_market[name] = by_market[name] + part if name in by_market else part
    return by_market


def rollup_items(trades: Trades, event_ids: Sequence[str], joined_at: datetime) -> dict[tuple[str, str], Any]:
    """{(scope, bucket): BucketState} the rollups hold once the trades and the joins are consumed (see the module)."""
    from arena.domain import rollups as domain
    from arena.domain.rollups import BucketState, Resolution
    from arena.store import analytics as store

    minute_sums: dict[int, dict[tuple[int, int], list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    minute_traders: dict[int, set[int]] = defaultdict(set)
    minute_market_traders: dict[int, set[int]] = defaultdict(set)
    day_sums: dict[tuple[int, date], dict[tuple[int, int], list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0])
    )
    for i in range(len(trades)):
        minute, user = trades.at_ms[i] // 60_000, trades.trader[i]
        key = (trades.market[i], trades.sell[i])
        cents = trades.cents[i]
        minute_market_traders[minute].add(user)
        day = day_sums[(user, executed_at(trades, i).date())][key]
        day[0] += cents
        day[1] += 1
        if user < trades.participants:
            sums = minute_sums[minute][key]
            sums[0] += cents
            sums[1] += 1
            minute_traders[minute].add(user)

    def minute_state(minute: int) -> BucketState:
        by_market = _tallies(minute_sums.get(minute, {}))
        state = BucketState(tally=domain.total(by_market.values()), by_market=by_market)
        state.traders.add_all([trades.users[u] for u in minute_traders.get(minute, ())])
        state.market_traders.add_all([trades.users[u] for u in minute_market_traders[minute]])
        return state

    items: dict[tuple[str, str], Any] = {}
    hour_states: dict[datetime, BucketState] = defaultdict(BucketState)
    minutes = {m: minute_state(m) for m in sorted(minute_market_traders)}
    for minute, state in minutes.items():
        start = EVENT_START + timedelta(minutes=minute)
        hour_states[domain.align(start, Resolution.HOUR)].add(state)
    day_states: dict[datetime, BucketState] = defaultdict(BucketState)
    for start, state in hour_states.items():
        day_states[domain.align(start, Resolution.DAY)].add(state)
    joins = {r: domain.align(joined_at, r) for r in Resolution}
    for event_id in event_ids:
        scope = store.event_scope(event_id)
        totals = BucketState()
        for resolution, states in (
            (Resolution.MINUTE, {EVENT_START + timedelta(minutes=m): s for m, s in minutes.items()}),
            (Resolution.HOUR, hour_states),
            (Resolution.DAY, day_states),
        ):
            for start, state in states.items():
                copy = BucketState()
                copy.add(state)
                items[(scope, store.bucket_key(resolution, start))] = copy
            join_key = (scope, store.bucket_key(resolution, joins[resolution]))
            items.setdefault(join_key, BucketState()).joins += trades.participants
        for state in day_states.values():
            totals.add(state)
        for start, state in hour_states.items():  # the hour of day, 0..23 UTC, summed over the days
            totals.by_hour[start.hour] = totals.by_hour.get(start.hour, domain.Tally()) + state.tally
        totals.joins = trades.participants
        items[(scope, store.TOTALS)] = totals
    for (user, day), sums in day_sums.items():
        by_market = _tallies(sums)
        items[(store.user_scope(trades.users[user]), store.day_key(day))] = BucketState(
            tally=domain.total(by_market.values()), markets=set(by_market)
        )
    return items


def write_rollups(items: dict[tuple[str, str], Any]) -> None:
    from arena.services import rollups
    from arena.store import analytics as store

    def write(key: tuple[str, str]) -> None:
        written = store.write_state(*key, store.StoredState(state=items[key], version=1), 0, rollups._expires_at(key))
        if not written:
            raise RuntimeError(f"rollup item {key} exists already")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(write, list(items)))


# ---------------------------------------------------------------------------------------------- set-up


def participants_of(trades: Trades, event_id: str, joined_at: datetime) -> list[Any]:
    """Each participant with the totals ingest would have folded from its trades."""
    from arena.domain.ranking import Totals
    from arena.store.participants import ParticipantRecord

    per_user: dict[int, list[int]] = defaultdict(list)
    for i in range(len(trades)):
        if trades.counted(i):
            per_user[trades.trader[i]].append(i)
    records = []
    for user in range(trades.participants):
        mine = per_user.get(user, [])
        cents = sum(trades.cents[i] for i in mine)
        times = [executed_at(trades, i) for i in mine]
        records.append(
            ParticipantRecord(
                event_id=event_id,
                user_id=trades.users[user],
                joined_at=joined_at,
                totals=Totals(
                    volume=volume_of(cents),
                    fees=fee_of(cents),
                    trade_count=len(mine),
                    first_trade_at=min(times) if times else None,
                    last_trade_at=max(times) if times else None,
                ),
                score=volume_of(cents),
                board_key=None,
                version=1,
            )
        )
    return records


def create_events(create: Any) -> list[Any]:
    """[running, completed], created through the API before they start."""
    from arena import clock
    from arena.store import events as event_store

    clock.set_source(lambda: EVENT_START - timedelta(hours=2))
    created = []
    for name, end in (("Analytics bench running", EVENT_START + timedelta(days=7)), ("Analytics bench done", None)):
        body = json.loads(api_event("events/create_event.json")["body"])
        body.update(
            name=name,
            start_at=clock.to_iso(EVENT_START),
            end_at=clock.to_iso(end or EVENT_START + EVENT_DAY),
            markets=list(MARKETS),
            qualification={"min_volume": "0", "min_trades": 1},
        )
        event = api_event("events/create_event.json", body=body, claims=ADMIN_CLAIMS)
        created.append(answer(create.lambda_handler(event, CONTEXT), 201)["id"])
    return [event_store.get(event_id) for event_id in created]


def join_events(trades: Trades, create: Any) -> list[Any]:
    """[running, completed] created, their participants joined with their trades' totals."""
    from arena.store import participants as participant_store

    events = create_events(create)
    for event in events:
        for record in participants_of(trades, event.id, JOINED_AT):
            participant_store.join(record, None)
    return events


def prepare(trades: Trades, create: Any, naive_records: bool) -> tuple[list[Any], int, float]:
    """The two events, their participants, the rollups (and the trade records); returns the events as of NOW, the
    number of rollup items and the seconds they took to build and write."""
    from arena import clock
    from arena.domain.events import EventStatus
    from arena.services.analytics import snapshot
    from arena.store import dynamo, results
    from arena.store import events as event_store

    running, done = join_events(trades, create)
    joined_at = JOINED_AT
    started = time.perf_counter()
    items = rollup_items(trades, [running.id, done.id], joined_at)
    write_rollups(items)
    rollup_seconds = time.perf_counter() - started
    if naive_records:
        from arena.config import settings

        records = trade_records(trades, [running, done])
        chunks = [records[i : i + 2_500] for i in range(0, len(records), 2_500)]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda chunk: dynamo.batch_write(settings().trades_table, chunk), chunks))
    clock.set_source(lambda: NOW)
    event_store.set_status(running.id, (EventStatus.UPCOMING,), EventStatus.ACTIVE, EVENT_START)
    ended = done.end_at + timedelta(minutes=5)
    event_store.set_status(done.id, (EventStatus.UPCOMING,), EventStatus.COMPLETED, ended)
    results.write(done.id, [])
    done = event_store.get(done.id)
    if not snapshot.write_for(done, ended):
        raise RuntimeError("the completed event's snapshot was not written")
    return [event_store.get(running.id), done], len(items), rollup_seconds


# ---------------------------------------------------------------------------------------------- naive


@dataclass
class NaiveTotals:
    """What the naive design sums per event from the trade records."""

    volume: Decimal = Decimal(0)
    trades: int = 0
    fees: Decimal = Decimal(0)
    by_market: dict[str, Decimal] = field(default_factory=dict)
    daily: dict[str, Decimal] = field(default_factory=dict)
    traders: set[str] = field(default_factory=set)


def naive_totals(client: Any, table: str, event_ids: Sequence[str]) -> dict[str, NaiveTotals]:
    """One Scan of the whole trades table (no index by event), the events' records summed."""
    names = {f":e{i}": {"S": e} for i, e in enumerate(event_ids)}
    totals = {e: NaiveTotals() for e in event_ids}
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": f"event_id IN ({', '.join(names)})",
        "ProjectionExpression": "event_id, user_id, market, volume, fee, executed_at",
        "ExpressionAttributeValues": names,
    }
    while True:
        page = client.scan(**request)
        for item in page.get("Items", []):
            t = totals[item["event_id"]["S"]]
            volume = Decimal(item["volume"]["N"])
            t.volume += volume
            t.trades += 1
            t.fees += Decimal(item["fee"]["N"]) if "fee" in item else Decimal(0)
            market = item["market"]["S"]
            t.by_market[market] = t.by_market.get(market, Decimal(0)) + volume
            day = item["executed_at"]["S"][:10]
            t.daily[day] = t.daily.get(day, Decimal(0)) + volume
            t.traders.add(item["user_id"]["S"])
        if "LastEvaluatedKey" not in page:
            return totals
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# ---------------------------------------------------------------------------------------------- measuring


class ItemCounter:
    """Items the reads read (a Scan's or Query's ScannedCount, an Item, a BatchGetItem's Responses), per client."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.items = 0

    def attach(self, client: Any) -> ItemCounter:
        client.meta.events.register("after-call.dynamodb", self._after, unique_id=f"bench-items-{id(self)}")
        return self

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        # A Scan or Query reads ScannedCount items, whatever its filter returns.
        found = int(parsed.get("ScannedCount", len(parsed.get("Items") or []))) + (1 if parsed.get("Item") else 0)
        found += sum(len(v) for v in (parsed.get("Responses") or {}).values() if isinstance(v, list))
        with self._lock:
            self.items += found


@dataclass
class Measured:
    figures: ReadFigures
    items: float  # per call (mean)


def measure(
    name: str, call: Any, counters: DynamoCounters, items: ItemCounter, samples: int, warm: bool = True
) -> tuple[Measured, Any]:
    """`samples` timed calls (after one untimed call when `warm`) and the last call's answer."""
    if warm:
        call()  # imports, connections, the handler's first-call work
    latencies: list[float] = []
    last = None
    tallies: list[Tally] = []
    before_items = items.items
    for _ in range(samples):
        before = counters.snapshot()
        started = time.perf_counter()
        last = call()
        latencies.append((time.perf_counter() - started) * 1000)
        tallies.append(counters.snapshot() - before)
    return Measured(ReadFigures.of(name, latencies, tallies), (items.items - before_items) / max(1, samples)), last


@dataclass
class SizeResult:
    trades: int  # participants' trades counted for each event
    feed: int  # every valid trade (participants' and outsiders')
    participants: int
    rollup_items: int
    rollup_seconds: float
    ours: dict[str, Measured] = field(default_factory=dict)
    naive: Measured | None = None
    naive_records: int = 0
    agree: bool | None = None


def run_size(n: int, participants: int, samples: int, naive_max: int, naive_samples: int, seed: int) -> SizeResult:
    from arena.config import settings
    from arena.store import analytics as rollup_store
    from arena.store import dynamo

    from local.template import create_tables, load_template

    template = load_template(ROOT / "template.yaml")
    dynamo.client.cache_clear()
    client = dynamo.client()
    counters, items = DynamoCounters().attach(client), ItemCounter().attach(client)
    names = create_tables(client, template)
    use_tables(table_variables(template), names)
    create = load_handler("functions/events/create_event.py", f"bench_analytics_create_{n}")
    api = load_handler("functions/analytics/analytics_api.py", f"bench_analytics_api_{n}")

    log(f"N={n:,}: trades, rollups, events ...")
    trades = make_trades(n, participants, seed + n)
    with_records = n <= naive_max
    (running, done), rollup_count, rollup_seconds = prepare(trades, create, with_records)
    result = SizeResult(
        trades=n,
        feed=len(trades),
        participants=participants,
        rollup_items=rollup_count,
        rollup_seconds=rollup_seconds,
    )
    log(f"N={n:,}: {result.rollup_items:,} rollup items in {rollup_seconds:.1f} s; measuring ...")

    def performance_of(event_id: str) -> Any:
        request = api_event(
            "analytics/get_performance.json",
            path={"eventId": event_id},
            query={"resolution": "hour"},
            claims=ADMIN_CLAIMS,
        )
        return answer(api.lambda_handler(request, CONTEXT))

    def dashboard() -> Any:
        request = api_event("analytics/get_dashboard.json", query={"days": "7", "limit": "20"}, claims=ADMIN_CLAIMS)
        return answer(api.lambda_handler(request, CONTEXT))

    live = performance_of(running.id)
    frozen = performance_of(done.id)
    if live["source"] != "live" or frozen["source"] != "snapshot":
        raise RuntimeError(f"performance sources {live['source']}, {frozen['source']}")
    reads = {
        "performance (running)": lambda: performance_of(running.id),
        "performance (completed)": lambda: performance_of(done.id),
        "dashboard": dashboard,
    }
    for name, call in reads.items():
        result.ours[name], _ = measure(name, call, counters, items, samples)

    if with_records:
        table = settings().trades_table
        # A scan reads the same pages every time: no warm-up call, its figures are all cold and all alike.
        result.naive, sums = measure(
            "naive scan",
            lambda: naive_totals(client, table, [running.id, done.id]),
            counters,
            items,
            naive_samples,
            warm=False,
        )
        result.naive_records = round(result.naive.items)  # every record of the table, scanned once a call
        rolled = rollup_store.event_totals(running.id)
        assert rolled is not None
        result.agree = (
            sums[running.id].trades == rolled.tally.trades == int(live["metrics"]["totals"]["trades"])
            and sums[running.id].volume == rolled.tally.volume
            and sums[running.id].fees == rolled.tally.fees
            and len(sums[running.id].traders) == rolled.traders
        )
    return result


# ---------------------------------------------------------------------------------------------- report


def _row(size: SizeResult, name: str, m: Measured) -> list[str]:
    f = m.figures
    return [
        f"{size.trades:,}",
        str(size.participants),
        name,
        f"{f.requests:.1f}",
        f"{m.items:,.0f}",
        f"{f.read_units:,.1f}",
        f"{f.p50_ms:,.1f}",
        f"{f.p95_ms:,.1f}",
    ]


def section(results: list[SizeResult], naive_max: int, samples: int) -> str:
    header = ["trades / event", "participants", "read", "DynamoDB requests", "items read", "RCU", "p50 ms", "p95 ms"]
    rows = [_row(s, name, m) for s in results for name, m in s.ours.items()]
    measured = [s for s in results if s.naive is not None]
    base = measured[-1] if measured else None
    for s in results:
        if s.naive is not None:
            rows.append(_row(s, f"naive scan ({s.naive_records:,} trade records, measured)", s.naive))
        elif base is not None and base.naive is not None:
            scale = s.feed / base.feed
            f = base.naive.figures
            rows.append(
                [
                    f"{s.trades:,}",
                    str(s.participants),
                    f"naive scan (~{int(base.naive_records * scale):,} records, extrapolated x{scale:,.0f})",
                    f"{f.requests * scale:,.0f}",
                    f"{base.naive.items * scale:,.0f}",
                    f"{f.read_units * scale:,.0f}",
                    f"{f.p50_ms * scale:,.0f}",
                    f"{f.p95_ms * scale:,.0f}",
                ]
            )
    ratios = []
    for s in results:
        if base is None or base.naive is None:
            continue
        scale = s.feed / base.feed
        naive_ms = (s.naive or base.naive).figures.p95_ms * (1 if s.naive else scale)
        naive_ru = (s.naive or base.naive).figures.read_units * (1 if s.naive else scale)
        for name in ("performance (running)", "dashboard"):
            ours = s.ours[name].figures
            ratios.append(
                f"- {s.trades:,} trades, {name}: the naive scan reads {naive_ru / max(ours.read_units, 0.5):,.0f}x "
                f"the RCU and takes {naive_ms / max(ours.p95_ms, 0.001):,.1f}x the p95"
                + ("" if s.naive else " (naive extrapolated)")
            )
    agree = [f"{s.trades:,} trades: {'yes' if s.agree else 'NO'}" for s in measured]
    lines = [
        START,
        "## Analytics reads: performance and dashboard against the number of trades",
        "",
        "`python -m bench analytics` (DynamoDB Local, real handlers in-process, per read "
        f"{samples} calls after one warm-up). Two events over the same 3 markets and day, the same participants "
        "joined to both, every participant's trade counted for both, plus a quarter as many trades by traders of "
        "the markets who did not join: one running (performance computed now: participants, their day activity "
        "for lift, the rollups), one completed (performance from its snapshot, plus retention on read). The "
        "dashboard shows both. The rollup items are those the trades stream consumer writes, built by folding "
        "the trades per item with the rollups' own types and written by the rollups' writer (pushing 1M trades "
        "through the consumer would take this machine ~8 min of Python alone; a test checks both give the same items). "
        "The naive design scans the trades table (no index by event) and sums the events' records; it is "
        f"measured up to {naive_max:,} trades per event and extrapolated linearly beyond (a Scan reads every "
        "record: requests, items and RCU are linear in the table's size; latency assumed so). Aim: our reads "
        "independent of the number of trades; they grow with participants (performance of a running event "
        "reads every participant and their day activity 30 days back; a completed one its snapshot, then "
        "retention after the end: the days after it of every participant who traded and every market trader, "
        "one query each).",
        "",
        f"Load average at the end of the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (other jobs "
        "share the machine): latencies are inflated by it and p95 of so few calls is near the worst; requests, "
        "items and RCU are not.",
        "",
        report.table(header, rows),
        "",
        *ratios,
        f"- naive totals (trades, volume, fees, distinct traders) equal the rollups': {', '.join(agree) or 'n/a'}",
        END,
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    report.write_section(text, path, START, END)


def main(argv: list[str]) -> int:
    from local.dynamodb_local import DynamoDBLocal

    parser = argparse.ArgumentParser(prog="python -m bench analytics", description=__doc__)
    parser.add_argument("--sizes", default="10000,1000000", help="participants' trades per event (%(default)s)")
    parser.add_argument("--participants", type=int, default=100, help="participants per event (%(default)s)")
    parser.add_argument("--samples", type=int, default=10, help="calls per read figure (%(default)s)")
    parser.add_argument("--naive-max", type=int, default=10_000, help="largest size the naive scan runs at")
    parser.add_argument("--naive-samples", type=int, default=3, help="naive scans per size (%(default)s)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    results = []
    for n in sizes:
        engine = DynamoDBLocal()
        engine.start()
        try:
            prepare_environment(engine.endpoint)
            with redirect_stdout(Console()):
                results.append(
                    run_size(n, args.participants, args.samples, args.naive_max, args.naive_samples, 20_261_130)
                )
        finally:
            engine.stop()
    text = section(results, args.naive_max, args.samples)
    print(text)
    write_section(text, args.output)
    log(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
