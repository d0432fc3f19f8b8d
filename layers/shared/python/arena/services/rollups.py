"""Analytics rollups: stream batches of the trades and participants tables -> pre-aggregated items.

What a batch adds (arena/store/analytics.py has the item layout):
- a trade counted for an event (its (trade, event) record inserted by ingest): the event's minute, hour and day
  buckets and its totals (tally, per market, per hour of day for totals, the participant among its traders);
- a feed record (one per valid trade, counted for an event or not): the trader's UTC day, and the trader among the
  market traders of every event whose window covers executed_at and whose markets include the trade's market
  (participation's denominator);
- a participant inserted (a join, or enrolment by a first trade where joining is not required): one join in the
  event's buckets of joined_at and its totals.

One write per item per batch: the batch's rows are folded per item first, then each item is read, added to and
written back once (a conditional put on the version read; a concurrent writer of another shard makes it re-read
and re-apply). Never one write per trade.

Idempotent per stream position. Records of one shard arrive in order; a batch that fails is retried from its first
record (the handler reports that record as the failure, and the mappings do not bisect), possibly with more records
behind it. Each item keeps `applied`: for each recent batch id (the stream's table and the batch's first sequence
number) the last sequence number of that batch already folded into the item. A redelivered batch skips, item by
item, the records at or before that number and applies only the rest: a batch retried after some of its items were
written counts nothing twice, and a redelivery that is a longer batch with the same first record adds only what is
new. A record inserted again (the same feed record written twice) is no stream INSERT, so a trade the exchange sends
twice counts once. Items remember the newest APPLIED_KEPT batches (arena/store/analytics.py).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from arena import clock
from arena.adapters import archive
from arena.cache import LambdaCache
from arena.config import settings
from arena.domain import events as event_rules
from arena.domain.archive import ArchivedTrade
from arena.domain.rollups import BucketState, Resolution, TradeRow, align
from arena.models.events import Event
from arena.store import analytics as analytics_store
from arena.store import events as event_store
from arena.store import participant_stream
from arena.store import trades as trade_store
from arena.store.analytics import StoredState
from arena.store.participant_stream import Join
from arena.store.trades import StreamTrade

RESOLUTIONS = (Resolution.MINUTE, Resolution.HOUR, Resolution.DAY)
# Conditional writes lost to a concurrent writer of the same item before the batch is failed and retried.
MAX_ATTEMPTS = 10
WORKERS = 8
# Which events a feed trade belongs to changes when an event is created, starts or is extended: re-read this often.
EVENTS_TTL_SECONDS = 10.0
_events = LambdaCache(max_items=4)

Key = tuple[str, str]
Touch = Callable[[BucketState], None]


@dataclass(frozen=True)
class RollupOutcome:
    records: int
    trades: int  # trade records (feed and counted) inserted in the batch
    joins: int
    writes: int  # rollup items written (one per item the batch changed)


def _live_events(latest_trade: datetime) -> list[Event]:
    """Live events, cached briefly; read again when a trade was executed after the cached list was read (an event
    created or extended just before it would otherwise be missed)."""
    cached = _events.get("live")
    if isinstance(cached, tuple) and latest_trade < cached[0]:
        return list(cached[1])
    read_at = clock.now()
    events = event_store.live_events()
    _events.put("live", (read_at, tuple(events)), ttl=EVENTS_TTL_SECONDS)
    return events


def clear_cache() -> None:
    _events.clear()


def _event_keys(event_id: str, at: datetime) -> list[tuple[Key, bool]]:
    """(key, is_totals) of every item an event's occurrence at `at` adds to."""
    scope = analytics_store.event_scope(event_id)
    keys = [((scope, analytics_store.bucket_key(r, align(at, r))), False) for r in RESOLUTIONS]
    return [*keys, ((scope, analytics_store.TOTALS), True)]


def _events_of(events: Sequence[Event], trade: StreamTrade) -> list[str]:
    """Events whose window covers the trade and whose markets include its market."""
    return [
        e.id
        for e in events
        if event_rules.in_window(e.start_at, e.end_at, trade.row.executed_at)
        and event_rules.counts_market(e.markets, trade.row.market)
    ]


def _counted(row: TradeRow, totals: bool) -> Touch:
    return lambda state: state.count_trade(row, hour_of_day=totals)


def _day(row: TradeRow) -> Touch:
    return lambda state: state.count_day(row)


def _market_trader(user_id: str) -> Touch:
    return lambda state: state.count_market_trader(user_id)


def _touches(trades: Sequence[StreamTrade], joins: Sequence[Join]) -> dict[Key, list[tuple[int, Touch]]]:
    """Per item, what each record of the batch adds to it, with the record's sequence number."""
    touches: dict[Key, list[tuple[int, Touch]]] = defaultdict(list)
    feed = [t.row.executed_at for t in trades if t.event_id is None]
    events = _live_events(max(feed)) if feed else []
    for trade in trades:
        row = trade.row
        if trade.event_id is not None:
            for key, totals in _event_keys(trade.event_id, row.executed_at):
                touches[key].append((trade.sequence, _counted(row, totals)))
            continue
        day = analytics_store.day_key(row.executed_at.date())
        touches[(analytics_store.user_scope(row.user_id), day)].append((trade.sequence, _day(row)))
        for event_id in _events_of(events, trade):
            for key, _ in _event_keys(event_id, row.executed_at):
                touches[key].append((trade.sequence, _market_trader(row.user_id)))
    for join in joins:
        for key, _ in _event_keys(join.event_id, join.joined_at):
            touches[key].append((join.sequence, _count_join))
    return touches


def _count_join(state: BucketState) -> None:
    state.joins += 1


def _expires_at(key: Key) -> int | None:
    """Minute buckets expire (live charts, recent performance); hours, days, totals and user days are kept."""
    scope, bucket = key
    prefix = f"{Resolution.MINUTE.value}#"
    if scope.startswith("EVENT#") and bucket.startswith(prefix):
        start = clock.from_iso(bucket.removeprefix(prefix))
        return int((start + timedelta(days=settings().analytics_minute_retention_days)).timestamp())
    return None


def _apply(key: Key, touches: list[tuple[int, Touch]], batch_id: str, last: int, stored: StoredState) -> bool:
    """Fold the batch's not yet applied records into one item and write it once. True when written."""
    scope, bucket = key
    for _ in range(MAX_ATTEMPTS):
        done = stored.last_applied(batch_id)
        pending = [touch for sequence, touch in touches if done is None or sequence > done]
        if not pending:
            return False  # a redelivery whose records this item already holds
        delta = BucketState()
        for touch in pending:
            touch(delta)
        state = stored.state
        state.add(delta)
        applied = [entry for entry in stored.applied if entry[0] != batch_id] + [(batch_id, last)]
        written = StoredState(state=state, version=stored.version + 1, applied=applied)
        if analytics_store.write_state(scope, bucket, written, stored.version, _expires_at(key)):
            return True
        stored = analytics_store.read_state(scope, bucket)  # another shard's batch wrote it: re-read, re-apply
    raise RuntimeError(f"could not write rollup {scope}/{bucket} after {MAX_ATTEMPTS} attempts")


def batch_id(records: Sequence[Mapping[str, Any]]) -> str:
    """A batch's identity: its stream (a short hash of the stream's table: two streams may reuse sequence numbers)
    and its first record's sequence number. Short, because every rollup item keeps the newest few."""
    first = records[0]
    arn = str(first.get("eventSourceARN") or "")
    table = arn.split(":table/", 1)[-1].split("/stream/", 1)[0] if ":table/" in arn else ""
    tag = hashlib.blake2b(table.encode(), digest_size=3).hexdigest()
    return f"{tag}:{first['dynamodb']['SequenceNumber']}"


def rollup_stream(records: Sequence[Mapping[str, Any]]) -> RollupOutcome:
    """Apply one stream batch (trades or participants table) to the rollups. Idempotent per stream position (see
    the module's docstring); raises when an item cannot be written, and the batch is then retried whole."""
    if not records:
        return RollupOutcome(0, 0, 0, 0)
    trades = trade_store.inserted_trades(records)
    joins = participant_stream.joins(records)
    touches = _touches(trades, joins)
    if not touches:
        return RollupOutcome(len(records), len(trades), len(joins), 0)
    this_batch = batch_id(records)
    last = max(int(r["dynamodb"]["SequenceNumber"]) for r in records)
    keys = list(touches)
    stored = analytics_store.read_states(keys)
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(keys))) as pool:
        written = list(pool.map(lambda k: _apply(k, touches[k], this_batch, last, stored[k]), keys))
    return RollupOutcome(len(records), len(trades), len(joins), sum(written))


def archived_trades(records: Sequence[Mapping[str, Any]]) -> list[ArchivedTrade]:
    """The trades of one stream batch for the S3 archive: one per trade record the batch inserted (`event_id` None
    for a feed record, every valid trade once; the event's id for a trade counted for that event)."""
    return [
        ArchivedTrade(
            trade_id=trade.row.trade_id,
            user_id=trade.row.user_id,
            market=trade.row.market,
            side="sell" if trade.row.side == "sell" else "buy",
            quantity=trade.quantity,
            price=trade.price,
            executed_at=trade.row.executed_at,
            event_id=trade.event_id,
            fee=trade.row.fee,
            realized_pnl=trade.realized_pnl,
        )
        for trade in trade_store.inserted_trades(records)
    ]


def rollup_and_archive(records: Sequence[Mapping[str, Any]]) -> RollupOutcome:
    """The trades stream consumer's work: the rollups, then the batch's trades to the archive (Firehose).

    Idempotent for the rollups (per stream position); at least once for the archive: a batch retried because the
    archive refused records archives its trades again, and the archive's queries take DISTINCT trade ids."""
    outcome = rollup_stream(records)
    trades = archived_trades(records)
    if trades:
        archive.put_trades(trades)
    return outcome
