"""Event analytics, pure: every metric Arena reports about an event, defined exactly here (README "Analytics" has
the same definitions). Inputs are the rollups (`arena.domain.rollups`), participant records reduced to
`ParticipantActivity`, and the per-user day activity (`UserDay`); no I/O, no clock (callers pass `today`).

Conventions
-----------
* Money and volumes are exact `Decimal` sums (the `EXACT` context: a sum never rounds).
* A **rate** (a share, a ratio) is a quotient rounded once, ROUND_HALF_EVEN, to `RATE_PLACES` decimal places
  (0.000001); a **unit cost** (prize cost per unit of something) likewise to `COST_PLACES` (1e-8).
* A metric whose denominator is zero, or whose inputs are unknown, is `None` ("not available"), never 0.
* Days are UTC days. The event's **days** are the UTC days from the day of `start_at` to the day of `end_at`
  inclusive (an event of 10:00 to 10:00 the next day has 2 days).

Definitions
-----------
* **Participation rate** = participants who traded the event's markets during its window / distinct traders of
  the event's markets during the window, participants or not (`EventTotals.traders / market_traders`). Capped at 1
  (both counts may be sketch estimates).
* **Retention during the event**: of the participants whose first trade in the event fell in its first quarter
  [start, start + d/4), the share whose last trade fell in its last quarter [end - d/4, end] (d = end - start).
  Exact: from each participant's first and last trade times.
* **Retention after the event (N = 1, 7, 30 days)**: of a cohort, the share who traded (any market) on at least
  one of the N UTC days after the day the event ended (days D+1 .. D+N, D = the UTC day of end_at). Cohorts:
  participants who traded in the event, and non-participants who traded the event's markets during its window
  (unavailable when only a sketch of those traders is kept). `complete` is false while day D+N has not ended.
* **Lift**: the participants' (all who joined) total volume per day during the event (their UserDay volume over the
  event's days / the number of event days) against the same users' total volume per day over the 7 days before
  the start day. `lift = during / before - 1` (0.35 = +35%); unavailable when `before` is 0.
  **Incremental volume** = (during - before) * event days (may be negative).
* **Prize cost** = sum over currencies of the amount awarded in it * the admin's price of one unit of it (quote
  currency). Currency names as the distribution counts them: `points`, `token:<SYMBOL>`, `custom:<description>`.
  A currency without a price is listed in `unpriced` and left out of the cost (the cost is then a lower bound).
* **Prize effectiveness**: prize cost per incremental unit of volume (when incremental volume > 0), per retained
  trader (participants counted as retained during the event, see above), per new trader (participants who traded
  in the event and had no trade in the 30 days before its start day).
* **ROI** = (participants' fee rate * incremental volume - prize cost) / prize cost, where the fee rate is the
  participants' event fees / their event volume. Unavailable when the prize cost is 0 or not fully priced.
* **Top pairs**: the event's markets by counted volume, descending (ties by name), with each one's share of the
  event's volume.
* **Hour of day**: the event's counted volume and trades per UTC hour 0..23, with each hour's share of the volume.
* **Volume deciles**: participants who traded, ordered by their event volume ascending (ties by user id) and cut
  into ten groups by rank: group k (1..10) holds ranks floor((k-1)n/10)+1 .. floor(kn/10); per group its traders,
  smallest and largest volume, total volume and share of the total. With fewer than 10 traders some groups are
  empty.
* **Comparison**: the same summary row for several events; for each metric, the event with the highest value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from arena.domain.exact import EXACT, ROUNDING
from arena.domain.exact import total as exact_total
from arena.domain.rollups import STEP, EventBucket, EventTotals, Resolution, Tally, UserDay, align

RATE_PLACES = Decimal("0.000001")
COST_PLACES = Decimal("0.00000001")
RETENTION_DAYS = (1, 7, 30)
LIFT_BASELINE_DAYS = 7
NEW_TRADER_LOOKBACK_DAYS = 30
DECILES = 10
HOURS = 24


def _quotient(numerator: Decimal, denominator: Decimal, places: Decimal) -> Decimal | None:
    if denominator == 0:
        return None
    return ROUNDING.divide(Decimal(numerator), Decimal(denominator)).quantize(places, rounding=ROUND_HALF_EVEN)


def rate(numerator: Decimal | int, denominator: Decimal | int) -> Decimal | None:
    """numerator / denominator to RATE_PLACES, ROUND_HALF_EVEN; None when the denominator is 0."""
    return _quotient(Decimal(numerator), Decimal(denominator), RATE_PLACES)


def unit_cost(cost: Decimal, units: Decimal | int) -> Decimal | None:
    """cost / units to COST_PLACES, ROUND_HALF_EVEN; None unless units > 0."""
    return _quotient(cost, Decimal(units), COST_PLACES) if Decimal(units) > 0 else None


# ------------------------------------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class ParticipantActivity:
    """What the metrics need of one participant (from the participants table)."""

    user_id: str
    joined_at: datetime
    volume: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    trades: int = 0
    first_trade_at: datetime | None = None
    last_trade_at: datetime | None = None

    @property
    def traded(self) -> bool:
        return self.trades > 0


def event_days(start: datetime, end: datetime) -> list[date]:
    """The event's UTC days: the day of start to the day of end, inclusive."""
    first, last = start.date(), end.date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ------------------------------------------------------------------------------------------------ time series


@dataclass(frozen=True)
class SeriesPoint:
    start: datetime
    tally: Tally
    traders: int
    market_traders: int
    joins: int


def series(buckets: Iterable[EventBucket], resolution: Resolution, start: datetime, end: datetime) -> list[SeriesPoint]:
    """One point per bucket of `resolution` whose start lies in [floor(start), end), ascending, empty buckets as
    zeros (the store omits them)."""
    step = STEP[resolution]
    by_start = {b.start: b for b in buckets}
    points: list[SeriesPoint] = []
    moment = align(start, resolution)
    while moment < end:
        bucket = by_start.get(moment)
        points.append(
            SeriesPoint(moment, bucket.tally, bucket.traders, bucket.market_traders, bucket.joins)
            if bucket
            else SeriesPoint(moment, Tally(), 0, 0, 0)
        )
        moment += step
    return points


# ------------------------------------------------------------------------------------------------ participation


def participation_rate(totals: EventTotals) -> Decimal | None:
    """Participants who traded / distinct traders of the event's markets in its window, capped at 1."""
    value = rate(totals.traders, totals.market_traders)
    return None if value is None else min(value, Decimal(1))


# ------------------------------------------------------------------------------------------------ retention


@dataclass(frozen=True)
class DuringRetention:
    active_first_quarter: int
    retained: int  # of those, active in the last quarter too
    rate: Decimal | None


def retention_during(participants: Iterable[ParticipantActivity], start: datetime, end: datetime) -> DuringRetention:
    """Participants whose first trade fell in [start, start + d/4) and whose last trade fell in [end - d/4, end]."""
    quarter = (end - start) / 4
    first_until, last_from = start + quarter, end - quarter
    early = [p for p in participants if p.first_trade_at is not None and start <= p.first_trade_at < first_until]
    kept = sum(1 for p in early if p.last_trade_at is not None and last_from <= p.last_trade_at <= end)
    return DuringRetention(len(early), kept, rate(kept, len(early)))


@dataclass(frozen=True)
class Retention:
    days: int
    participants: int  # cohort size
    participants_retained: int
    participants_rate: Decimal | None
    non_participants: int | None  # None: only a sketch of the market's traders is kept
    non_participants_retained: int | None
    non_participants_rate: Decimal | None
    complete: bool  # the N days after the end are all over


def _active_between(days: Sequence[UserDay], first: date, last: date) -> bool:
    return any(first <= d.day <= last and d.tally.trades > 0 for d in days)


def retention_after(
    participants: Iterable[str],
    market_traders: frozenset[str] | None,
    activity: Mapping[str, Sequence[UserDay]],
    end: datetime,
    days: int,
    today: date,
) -> Retention:
    """Share of each cohort with a trade on days D+1 .. D+`days` (D: the UTC day of `end`). Non-participants: the
    market's traders in the window minus the participants; None when `market_traders` is None (sketch only)."""
    cohort = set(participants)
    first, last = end.date() + timedelta(days=1), end.date() + timedelta(days=days)
    kept = sum(1 for u in cohort if _active_between(activity.get(u, ()), first, last))
    others: set[str] | None = None if market_traders is None else set(market_traders) - cohort
    others_kept = (
        None if others is None else sum(1 for u in others if _active_between(activity.get(u, ()), first, last))
    )
    return Retention(
        days=days,
        participants=len(cohort),
        participants_retained=kept,
        participants_rate=rate(kept, len(cohort)),
        non_participants=None if others is None else len(others),
        non_participants_retained=others_kept,
        non_participants_rate=None if others is None or others_kept is None else rate(others_kept, len(others)),
        complete=last < today,
    )


# ------------------------------------------------------------------------------------------------ lift


@dataclass(frozen=True)
class Lift:
    event_days: int
    during_daily_volume: Decimal | None  # rounded to COST_PLACES
    before_daily_volume: Decimal | None
    lift: Decimal | None
    incremental_volume: Decimal  # exact: (during total * 7 - before total * days) / 7, rounded to COST_PLACES


def _volume_on(activity: Mapping[str, Sequence[UserDay]], users: Iterable[str], first: date, last: date) -> Decimal:
    return exact_total(d.tally.volume for u in users for d in activity.get(u, ()) if first <= d.day <= last)


def lift(users: Sequence[str], activity: Mapping[str, Sequence[UserDay]], start: datetime, end: datetime) -> Lift:
    """The users' volume per day during the event's days against the 7 days before its start day."""
    days = event_days(start, end)
    during = _volume_on(activity, users, days[0], days[-1])
    before = _volume_on(activity, users, days[0] - timedelta(days=LIFT_BASELINE_DAYS), days[0] - timedelta(days=1))
    during_daily = _quotient(during, Decimal(len(days)), COST_PLACES)
    before_daily = _quotient(before, Decimal(LIFT_BASELINE_DAYS), COST_PLACES)
    # incremental = during - before/7 * days, computed as one quotient so it rounds once
    incremental = _quotient(
        EXACT.subtract(EXACT.multiply(during, Decimal(LIFT_BASELINE_DAYS)), EXACT.multiply(before, Decimal(len(days)))),
        Decimal(LIFT_BASELINE_DAYS),
        COST_PLACES,
    )
    ratio = (
        None
        if before == 0
        else _quotient(
            EXACT.subtract(
                EXACT.multiply(during, Decimal(LIFT_BASELINE_DAYS)), EXACT.multiply(before, Decimal(len(days)))
            ),
            EXACT.multiply(before, Decimal(len(days))),
            RATE_PLACES,
        )
    )
    return Lift(len(days), during_daily, before_daily, ratio, incremental if incremental is not None else Decimal(0))


def new_traders(
    participants: Iterable[ParticipantActivity], activity: Mapping[str, Sequence[UserDay]], start: datetime
) -> int:
    """Participants who traded in the event and had no trade in the 30 UTC days before its start day."""
    first = start.date() - timedelta(days=NEW_TRADER_LOOKBACK_DAYS)
    last = start.date() - timedelta(days=1)
    return sum(1 for p in participants if p.traded and not _active_between(activity.get(p.user_id, ()), first, last))


# ------------------------------------------------------------------------------------------------ prizes


@dataclass(frozen=True)
class PrizeCost:
    amounts: Mapping[str, Decimal]  # per currency name
    values: Mapping[str, Decimal]  # per priced currency: amount * price
    cost: Decimal  # sum of `values`
    unpriced: tuple[str, ...]  # currencies awarded without a price

    @property
    def complete(self) -> bool:
        return not self.unpriced


def prize_cost(amounts: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> PrizeCost:
    """Each currency's amount times its price; currencies without a price are listed, not guessed. Zero amounts are
    ignored (a currency with nothing awarded needs no price)."""
    values: dict[str, Decimal] = {}
    unpriced: list[str] = []
    for currency in sorted(amounts):
        amount = amounts[currency]
        if amount == 0:
            continue
        if currency in prices:
            values[currency] = EXACT.multiply(amount, prices[currency])
        else:
            unpriced.append(currency)
    return PrizeCost(dict(amounts), values, exact_total(values.values()), tuple(unpriced))


@dataclass(frozen=True)
class Effectiveness:
    per_incremental_volume: Decimal | None
    per_retained_trader: Decimal | None
    per_new_trader: Decimal | None


def prize_effectiveness(cost: PrizeCost, incremental_volume: Decimal, retained: int, new: int) -> Effectiveness:
    """Prize cost per incremental unit of volume, per retained trader, per new trader (None when the divisor is not
    positive or the cost is not fully priced)."""
    if not cost.complete:
        return Effectiveness(None, None, None)
    return Effectiveness(
        unit_cost(cost.cost, incremental_volume), unit_cost(cost.cost, retained), unit_cost(cost.cost, new)
    )


@dataclass(frozen=True)
class Roi:
    fee_rate: Decimal | None  # participants' fees / their volume
    incremental_fees: Decimal | None
    roi: Decimal | None


def roi(event: Tally, incremental_volume: Decimal, cost: PrizeCost) -> Roi:
    """(fee rate * incremental volume - prize cost) / prize cost."""
    fee_rate = _quotient(event.fees, event.volume, COST_PLACES) if event.volume > 0 else None
    if event.volume == 0:
        return Roi(None, None, None)
    # fees * incremental / volume, one quotient: rounds once
    incremental_fees = _quotient(EXACT.multiply(event.fees, incremental_volume), event.volume, COST_PLACES)
    if incremental_fees is None or cost.cost == 0 or not cost.complete:
        return Roi(fee_rate, incremental_fees, None)
    return Roi(fee_rate, incremental_fees, rate(EXACT.subtract(incremental_fees, cost.cost), cost.cost))


# ------------------------------------------------------------------------------------------------ distributions


@dataclass(frozen=True)
class Share:
    key: str
    tally: Tally
    share: Decimal | None  # of the event's volume


def top_pairs(by_market: Mapping[str, Tally], limit: int) -> list[Share]:
    """Markets by volume descending, ties by name; each with its share of the total volume."""
    whole = exact_total(t.volume for t in by_market.values())
    ordered = sorted(by_market.items(), key=lambda item: (-item[1].volume, item[0]))[:limit]
    return [Share(market, tally, rate(tally.volume, whole)) for market, tally in ordered]


def hour_of_day(by_hour: Mapping[int, Tally]) -> list[Share]:
    """24 entries, hour 0..23 UTC, zeros where nothing traded; each hour's share of the volume."""
    whole = exact_total(t.volume for t in by_hour.values())
    return [
        Share(str(hour), by_hour.get(hour, Tally()), rate(by_hour.get(hour, Tally()).volume, whole))
        for hour in range(HOURS)
    ]


@dataclass(frozen=True)
class Decile:
    decile: int  # 1 (smallest traders) .. 10 (largest)
    traders: int
    min_volume: Decimal | None
    max_volume: Decimal | None
    volume: Decimal
    share: Decimal | None


def volume_deciles(participants: Iterable[ParticipantActivity]) -> list[Decile]:
    """Traders by volume ascending (ties by user id), cut by rank into ten groups of (nearly) equal size."""
    ranked = sorted((p for p in participants if p.traded), key=lambda p: (p.volume, p.user_id))
    n = len(ranked)
    whole = exact_total(p.volume for p in ranked)
    deciles = []
    for k in range(1, DECILES + 1):
        group = ranked[(k - 1) * n // DECILES : k * n // DECILES]
        volume = exact_total(p.volume for p in group)
        deciles.append(
            Decile(
                decile=k,
                traders=len(group),
                min_volume=group[0].volume if group else None,
                max_volume=group[-1].volume if group else None,
                volume=volume,
                share=rate(volume, whole),
            )
        )
    return deciles


# ------------------------------------------------------------------------------------------------ comparison


@dataclass(frozen=True)
class Summary:
    """One event's headline figures, as the comparison and the dashboard show them."""

    event_id: str
    volume: Decimal
    trades: int
    fees: Decimal
    participants: int  # joined
    traders: int
    market_traders: int
    participation_rate: Decimal | None
    retention_during: Decimal | None
    lift: Decimal | None = None
    prize_cost: Decimal | None = None
    roi: Decimal | None = None


def summary(
    event_id: str,
    totals: EventTotals | None,
    participants: int,
    during: DuringRetention | None,
    lifted: Lift | None = None,
    cost: PrizeCost | None = None,
    returned: Roi | None = None,
) -> Summary:
    tally = totals.tally if totals else Tally()
    return Summary(
        event_id=event_id,
        volume=tally.volume,
        trades=tally.trades,
        fees=tally.fees,
        participants=participants,
        traders=totals.traders if totals else 0,
        market_traders=totals.market_traders if totals else 0,
        participation_rate=participation_rate(totals) if totals else None,
        retention_during=during.rate if during else None,
        lift=lifted.lift if lifted else None,
        prize_cost=cost.cost if cost and cost.complete else None,
        roi=returned.roi if returned else None,
    )


COMPARED = (
    "volume",
    "trades",
    "fees",
    "participants",
    "traders",
    "participation_rate",
    "retention_during",
    "lift",
    "roi",
)


@dataclass(frozen=True)
class Comparison:
    rows: list[Summary]
    best: dict[str, str | None] = field(default_factory=dict)  # metric -> event id with the highest value


def compare(rows: Sequence[Summary]) -> Comparison:
    """The rows as given and, per metric, the event with the highest value (ties: the first in `rows`; None
    when no row has the metric)."""
    best: dict[str, str | None] = {}
    for metric in COMPARED:
        winner: tuple[Decimal, str] | None = None
        for row in rows:
            value = getattr(row, metric)
            if value is not None and (winner is None or Decimal(value) > winner[0]):
                winner = (Decimal(value), row.event_id)
        best[metric] = winner[1] if winner else None
    return Comparison(list(rows), best)


def merge_by_key(maps: Iterable[Mapping[str, Tally]]) -> dict[str, Tally]:
    merged: dict[str, Tally] = {}
    for m in maps:
        for key, tally in m.items():
            merged[key] = merged.get(key, Tally()) + tally
    return merged
