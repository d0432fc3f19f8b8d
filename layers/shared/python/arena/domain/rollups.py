"""Analytics rollups: the pre-aggregated counters dashboards read instead of scanning trades.

Per event: one bucket per minute, hour and UTC day of the trades counted for it (participants' trades), with
per-market tallies, distinct participants who traded, distinct traders of the event's markets (participants or
not) and joins; plus the event's running totals. Per trader: one item per UTC day of every valid trade the feed
sends (all markets), the base of participation, retention and lift.

Pure: bucket alignment, a trade's tally, and aggregation of trade rows into per-bucket deltas. No I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import TypeVar

from arena.domain import exact
from arena.domain.sketch import Distinct

K = TypeVar("K", bound=Hashable)


class Resolution(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


STEP = {
    Resolution.MINUTE: timedelta(minutes=1),
    Resolution.HOUR: timedelta(hours=1),
    Resolution.DAY: timedelta(days=1),
}


@dataclass(frozen=True)
class Tally:
    """Additive counters; `Tally()` is zero and `a + b` adds (exactly: Decimals never round)."""

    volume: Decimal = Decimal(0)  # sum of quantity * price, quote currency
    trades: int = 0
    fees: Decimal = Decimal(0)
    buy_volume: Decimal = Decimal(0)
    sell_volume: Decimal = Decimal(0)

    def __add__(self, other: Tally) -> Tally:
        if not isinstance(other, Tally):
            return NotImplemented
        return Tally(
            volume=exact.total([self.volume, other.volume]),
            trades=self.trades + other.trades,
            fees=exact.total([self.fees, other.fees]),
            buy_volume=exact.total([self.buy_volume, other.buy_volume]),
            sell_volume=exact.total([self.sell_volume, other.sell_volume]),
        )


@dataclass(frozen=True)
class EventBucket:
    """One event, one time bucket [start, start + resolution)."""

    event_id: str
    resolution: Resolution
    start: datetime  # UTC, aligned to the resolution
    tally: Tally  # trades counted for the event (participants' trades)
    by_market: Mapping[str, Tally]
    traders: int  # distinct participants who traded in the bucket (exact or sketch estimate)
    market_traders: int  # distinct traders of the event's markets in the bucket, participants or not
    joins: int  # participants who joined in the bucket


@dataclass(frozen=True)
class EventTotals:
    """A whole event so far."""

    event_id: str
    tally: Tally
    by_market: Mapping[str, Tally]
    by_hour_of_day: Mapping[int, Tally]  # 0..23 UTC
    traders: int  # distinct participants who traded during the window
    market_traders: int  # distinct traders of the event's markets during the window (participation's denominator)
    joins: int


@dataclass(frozen=True)
class UserDay:
    """Every trader the feed sends, per UTC day (all markets)."""

    user_id: str
    day: date
    tally: Tally
    markets: frozenset[str]


@dataclass(frozen=True)
class TradeRow:
    """One valid trade as the rollups see it (from a feed record or a (trade, event) record)."""

    trade_id: str
    user_id: str
    market: str
    side: str  # "buy" | "sell"
    volume: Decimal
    fee: Decimal
    executed_at: datetime


def align(at: datetime, resolution: Resolution) -> datetime:
    """The start of the bucket of `resolution` that holds `at` (UTC)."""
    at = at.astimezone(UTC)
    if resolution is Resolution.MINUTE:
        return at.replace(second=0, microsecond=0)
    if resolution is Resolution.HOUR:
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def bucket_starts(start: datetime, end: datetime, resolution: Resolution) -> list[datetime]:
    """Aligned bucket starts in [start, end), ascending."""
    step = STEP[resolution]
    first = align(start, resolution)
    if first < start:
        first += step
    starts = []
    while first < end:
        starts.append(first)
        first += step
    return starts


def tally_of(row: TradeRow) -> Tally:
    return Tally(
        volume=row.volume,
        trades=1,
        fees=row.fee,
        buy_volume=row.volume if row.side == "buy" else Decimal(0),
        sell_volume=row.volume if row.side == "sell" else Decimal(0),
    )


def total(tallies: Iterable[Tally]) -> Tally:
    result = Tally()
    for tally in tallies:
        result = result + tally
    return result


def merge(a: Mapping[K, Tally], b: Mapping[K, Tally]) -> dict[K, Tally]:
    """Key-wise sum of two tally maps."""
    merged = dict(a)
    for key, tally in b.items():
        merged[key] = merged.get(key, Tally()) + tally
    return merged


def bucket_tallies(rows: Iterable[TradeRow], resolution: Resolution) -> dict[datetime, Tally]:
    """Per-bucket deltas of trade rows: bucket start -> Tally."""
    out: dict[datetime, Tally] = defaultdict(Tally)
    for row in rows:
        key = align(row.executed_at, resolution)
        out[key] = out[key] + tally_of(row)
    return dict(out)


def bucket_market_tallies(rows: Iterable[TradeRow], resolution: Resolution) -> dict[datetime, dict[str, Tally]]:
    """Per-bucket, per-market deltas of trade rows."""
    out: dict[datetime, dict[str, Tally]] = defaultdict(dict)
    for row in rows:
        markets = out[align(row.executed_at, resolution)]
        markets[row.market] = markets.get(row.market, Tally()) + tally_of(row)
    return dict(out)


def hour_of_day_tallies(rows: Iterable[TradeRow]) -> dict[int, Tally]:
    out: dict[int, Tally] = defaultdict(Tally)
    for row in rows:
        hour = row.executed_at.astimezone(UTC).hour
        out[hour] = out[hour] + tally_of(row)
    return dict(out)


def user_day_deltas(rows: Iterable[TradeRow]) -> dict[tuple[str, date], UserDay]:
    """Per (trader, UTC day) deltas of trade rows."""
    out: dict[tuple[str, date], UserDay] = {}
    for row in rows:
        day = row.executed_at.astimezone(UTC).date()
        before = out.get((row.user_id, day)) or UserDay(row.user_id, day, Tally(), frozenset())
        out[(row.user_id, day)] = add_user_day(
            before, UserDay(row.user_id, day, tally_of(row), frozenset([row.market]))
        )
    return out


def add_user_day(a: UserDay, b: UserDay) -> UserDay:
    if (a.user_id, a.day) != (b.user_id, b.day):
        raise ValueError("user days of different users or days do not add")
    return UserDay(a.user_id, a.day, a.tally + b.tally, a.markets | b.markets)


@dataclass
class BucketState:
    """What one rollup item holds, and also a batch's delta to it (the same shape adds): an event bucket or totals
    (tally, per market, per hour of day for totals, distinct participants who traded, distinct traders of the
    event's markets, joins) or a user day (tally, markets). Mutable: a batch folds its rows in, then adds itself to
    the stored state."""

    tally: Tally = Tally()
    by_market: dict[str, Tally] = field(default_factory=dict)
    by_hour: dict[int, Tally] = field(default_factory=dict)
    traders: Distinct = field(default_factory=Distinct)
    market_traders: Distinct = field(default_factory=Distinct)
    joins: int = 0
    markets: set[str] = field(default_factory=set)

    def count_trade(self, row: TradeRow, *, hour_of_day: bool = False) -> None:
        """A trade counted for an event (or a trader's day): its tally, its market, its trader."""
        tally = tally_of(row)
        self.tally = self.tally + tally
        self.by_market[row.market] = self.by_market.get(row.market, Tally()) + tally
        if hour_of_day:
            hour = row.executed_at.astimezone(UTC).hour
            self.by_hour[hour] = self.by_hour.get(hour, Tally()) + tally
        self.traders.add_all([row.user_id])

    def count_market_trader(self, user_id: str) -> None:
        self.market_traders.add_all([user_id])

    def count_day(self, row: TradeRow) -> None:
        self.tally = self.tally + tally_of(row)
        self.markets.add(row.market)

    def add(self, other: BucketState) -> None:
        self.tally = self.tally + other.tally
        self.by_market = merge(self.by_market, other.by_market)
        self.by_hour = merge(self.by_hour, other.by_hour)
        self.traders.merge(other.traders)
        self.market_traders.merge(other.market_traders)
        self.joins += other.joins
        self.markets |= other.markets
