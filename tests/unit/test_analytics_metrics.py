"""arena.domain.analytics: every metric checked against an oracle computed here, independently, from a random
trade stream (exact fractions, plain loops over the trades; the metrics see only the rollups built from them)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from arena.domain import analytics as metrics
from arena.domain.analytics import ParticipantActivity
from arena.domain.rollups import STEP, EventBucket, EventTotals, Resolution, Tally, UserDay, align

MARKETS = ("BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT", "DOGE-USDT")
SEEDS = range(12)


@dataclass(frozen=True)
class Trade:
    user_id: str
    market: str
    at: datetime
    volume: Decimal
    fee: Decimal
    side: str


@dataclass
class World:
    start: datetime
    end: datetime
    markets: frozenset[str]
    joined: dict[str, datetime]
    trades: list[Trade]

    def counted(self) -> list[Trade]:
        """The trades the event counts: participants, its markets, inside its window."""
        return [
            t
            for t in self.trades
            if t.user_id in self.joined and t.market in self.markets and self.start <= t.at < self.end
        ]

    def market_trades(self) -> list[Trade]:
        return [t for t in self.trades if t.market in self.markets and self.start <= t.at < self.end]


def world(seed: int) -> World:
    rng = random.Random(seed)
    start = datetime(2026, 11, 10, rng.randrange(24), rng.choice((0, 15, 30)), tzinfo=UTC)
    end = start + timedelta(hours=rng.randrange(3, 100), minutes=rng.randrange(60))
    users = [f"u{i:03d}" for i in range(rng.randrange(5, 80))]
    joined = {u: start - timedelta(hours=rng.randrange(0, 48)) for u in users if rng.random() < 0.45}
    markets = frozenset(rng.sample(MARKETS, rng.randrange(1, 4)))
    span = int((end + timedelta(days=35) - (start - timedelta(days=40))).total_seconds())
    trades = []
    for _ in range(rng.randrange(0, 900)):
        user = rng.choice(users)
        # a third of the trades inside the window, so every metric has material
        at = (
            start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
            if rng.random() < 0.35
            else start - timedelta(days=40) + timedelta(seconds=rng.randrange(span))
        )
        volume = Decimal(rng.randrange(1, 10_000_000)) / Decimal(1000)
        trades.append(
            Trade(user, rng.choice(MARKETS), at, volume, volume * Decimal("0.001"), rng.choice(("buy", "sell")))
        )
    return World(start, end, markets, joined, trades)


def tally_of(trades: list[Trade]) -> Tally:
    result = Tally()
    for t in trades:
        result = result + Tally(
            volume=t.volume,
            trades=1,
            fees=t.fee,
            buy_volume=t.volume if t.side == "buy" else Decimal(0),
            sell_volume=t.volume if t.side == "sell" else Decimal(0),
        )
    return result


def rollups(w: World) -> tuple[EventTotals, dict[str, list[UserDay]], list[ParticipantActivity]]:
    """What the rollups would hold for this stream: the event's totals, every trader's days, the participants."""
    counted = w.counted()
    per_market: dict[str, list[Trade]] = defaultdict(list)
    per_hour: dict[int, list[Trade]] = defaultdict(list)
    for t in counted:
        per_market[t.market].append(t)
        per_hour[t.at.hour].append(t)
    totals = EventTotals(
        event_id="ev",
        tally=tally_of(counted),
        by_market={m: tally_of(ts) for m, ts in per_market.items()},
        by_hour_of_day={h: tally_of(ts) for h, ts in per_hour.items()},
        traders=len({t.user_id for t in counted}),
        market_traders=len({t.user_id for t in w.market_trades()}),
        joins=len(w.joined),
    )
    per_day: dict[tuple[str, date], list[Trade]] = defaultdict(list)
    for t in w.trades:
        per_day[(t.user_id, t.at.date())].append(t)
    days: dict[str, list[UserDay]] = defaultdict(list)
    for (user, day), ts in sorted(per_day.items()):
        days[user].append(UserDay(user, day, tally_of(ts), frozenset(t.market for t in ts)))
    people = []
    for user, at in w.joined.items():
        mine = [t for t in counted if t.user_id == user]
        people.append(
            ParticipantActivity(
                user_id=user,
                joined_at=at,
                volume=sum((t.volume for t in mine), Decimal(0)),
                fees=sum((t.fee for t in mine), Decimal(0)),
                trades=len(mine),
                first_trade_at=min((t.at for t in mine), default=None),
                last_trade_at=max((t.at for t in mine), default=None),
            )
        )
    return totals, dict(days), people


def rounded(value: Fraction, places: int = 6) -> Decimal:
    """Round half to even at `places` decimals (Python's round on a Fraction), as an exact Decimal."""
    scaled = round(value * 10**places)
    return Decimal(scaled).scaleb(-places)


def F(value: Decimal | int) -> Fraction:
    return Fraction(value)


# ------------------------------------------------------------------------------------------------ participation


@pytest.mark.parametrize("seed", SEEDS)
def test_participation_rate_is_participant_traders_over_market_traders(seed: int) -> None:
    """Given a random stream and the event's rollup
    When the participation rate is computed
    Then it is the share of the markets' traders in the window who are participants."""
    w = world(seed)
    totals, _, _ = rollups(w)
    # When
    got = metrics.participation_rate(totals)
    # Then
    market_traders = {t.user_id for t in w.market_trades()}
    participating = {t.user_id for t in w.market_trades() if t.user_id in w.joined}
    expected = None if not market_traders else min(rounded(Fraction(len(participating), len(market_traders))), 1)
    assert got == expected


def test_participation_rate_is_capped_at_one_when_sketches_disagree() -> None:
    """Given sketch estimates where the participants outnumber the market's traders
    When the participation rate is computed
    Then it is capped at 1."""
    totals = EventTotals("ev", Tally(), {}, {}, traders=103, market_traders=100, joins=0)
    # When / Then
    assert metrics.participation_rate(totals) == Decimal(1)


# ------------------------------------------------------------------------------------------------ retention


@pytest.mark.parametrize("seed", SEEDS)
def test_retention_during_is_first_quarter_traders_seen_in_the_last(seed: int) -> None:
    """Given a random stream and its rollups
    When the retention during the event is computed
    Then it counts the first quarter's traders and those of them seen in the last quarter, as an oracle does."""
    # Given
    w = world(seed)
    _, _, people = rollups(w)
    # When
    got = metrics.retention_during(people, w.start, w.end)
    # Then: the oracle looks at every counted trade
    quarter = (w.end - w.start) / 4
    counted = w.counted()
    early = {t.user_id for t in counted if t.at < w.start + quarter}
    late = {t.user_id for t in counted if t.at >= w.end - quarter}
    assert got.active_first_quarter == len(early)
    assert got.retained == len(early & late)
    assert got.rate == (rounded(Fraction(len(early & late), len(early))) if early else None)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("days", metrics.RETENTION_DAYS)
def test_retention_after_compares_participants_with_the_markets_other_traders(seed: int, days: int) -> None:
    """Given a random stream, its traded participants and the market's traders
    When the retention some days after the end is computed
    Then participants and the market's other traders who came back are counted and rated as an oracle does."""
    # Given
    w = world(seed)
    _, activity, people = rollups(w)
    cohort = [p.user_id for p in people if p.traded]
    market_traders = frozenset(t.user_id for t in w.market_trades())
    today = w.end.date() + timedelta(days=20)
    # When
    got = metrics.retention_after(cohort, market_traders, activity, w.end, days, today)
    # Then
    first, last = w.end.date() + timedelta(days=1), w.end.date() + timedelta(days=days)
    came_back = {t.user_id for t in w.trades if first <= t.at.date() <= last}
    others = market_traders - set(cohort)
    assert got.participants == len(cohort)
    assert got.participants_retained == len(came_back & set(cohort))
    assert got.participants_rate == (rounded(Fraction(len(came_back & set(cohort)), len(cohort))) if cohort else None)
    assert got.non_participants == len(others)
    assert got.non_participants_retained == len(came_back & others)
    assert got.non_participants_rate == (rounded(Fraction(len(came_back & others), len(others))) if others else None)
    assert got.complete is (last < today)


def test_retention_after_without_exact_market_traders_reports_non_participants_unavailable() -> None:
    """Given only a sketch of the market's traders (None) and one participant back the day after
    When the retention after the end is computed
    Then the participants' rate is given and the non-participants' figures are unavailable."""
    end = datetime(2026, 11, 12, 18, tzinfo=UTC)
    activity = {"a": [UserDay("a", date(2026, 11, 13), Tally(Decimal(5), 1), frozenset({"BTC-USDT"}))]}
    # When
    got = metrics.retention_after(["a", "b"], None, activity, end, 1, date(2026, 12, 1))
    # Then
    assert (got.participants_rate, got.non_participants, got.non_participants_rate) == (Decimal("0.5"), None, None)
    assert got.complete


# ------------------------------------------------------------------------------------------------ lift


@pytest.mark.parametrize("seed", SEEDS)
def test_lift_compares_volume_per_day_during_with_the_week_before(seed: int) -> None:
    """Given a random stream and its rollups
    When the lift is computed
    Then the daily volumes during and in the week before, the incremental volume and the lift match an oracle."""
    # Given
    w = world(seed)
    _, activity, people = rollups(w)
    users = [p.user_id for p in people]
    # When
    got = metrics.lift(users, activity, w.start, w.end)
    # Then
    n_days = (w.end.date() - w.start.date()).days + 1
    during = sum(
        (F(t.volume) for t in w.trades if t.user_id in w.joined and w.start.date() <= t.at.date() <= w.end.date()),
        Fraction(0),
    )
    week = w.start.date() - timedelta(days=7), w.start.date() - timedelta(days=1)
    before = sum(
        (F(t.volume) for t in w.trades if t.user_id in w.joined and week[0] <= t.at.date() <= week[1]), Fraction(0)
    )
    assert got.event_days == n_days
    assert got.during_daily_volume == rounded(during / n_days, 8)
    assert got.before_daily_volume == rounded(before / 7, 8)
    assert got.incremental_volume == rounded(during - before / 7 * n_days, 8)
    assert got.lift == (rounded((during / n_days) / (before / 7) - 1) if before else None)


@pytest.mark.parametrize("seed", SEEDS)
def test_new_traders_had_no_trade_in_the_thirty_days_before(seed: int) -> None:
    """Given a random stream and its rollups
    When the new traders are counted
    Then they are the event's traders without a trade in the thirty days before it."""
    # Given
    w = world(seed)
    _, activity, people = rollups(w)
    # When
    got = metrics.new_traders(people, activity, w.start)
    # Then
    window = w.start.date() - timedelta(days=30), w.start.date() - timedelta(days=1)
    seen_before = {t.user_id for t in w.trades if window[0] <= t.at.date() <= window[1]}
    traded = {t.user_id for t in w.counted()}
    assert got == len(traded - seen_before)


# ------------------------------------------------------------------------------------------------ prizes and ROI


def random_prizes(rng: random.Random) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    currencies = ["points", "token:USDT", "token:BTC", "custom:VIP trip"]
    amounts = {c: Decimal(rng.randrange(0, 10**7)) / 100 for c in rng.sample(currencies, rng.randrange(1, 5))}
    prices = {c: Decimal(rng.randrange(1, 10**6)) / 10**4 for c in currencies if rng.random() < 0.8}
    return amounts, prices


@pytest.mark.parametrize("seed", SEEDS)
def test_prize_cost_values_each_currency_at_its_price(seed: int) -> None:
    """Given random prize amounts and prices
    When the prize cost is computed
    Then it sums each priced currency at its price and names the unpriced ones."""
    # Given
    amounts, prices = random_prizes(random.Random(seed))
    # When
    got = metrics.prize_cost(amounts, prices)
    # Then
    priced = [c for c in amounts if c in prices and amounts[c] != 0]
    assert F(got.cost) == sum((F(amounts[c]) * F(prices[c]) for c in priced), Fraction(0))
    assert set(got.unpriced) == {c for c in amounts if c not in prices and amounts[c] != 0}
    assert got.complete is (not got.unpriced)


@pytest.mark.parametrize("seed", SEEDS)
def test_effectiveness_and_roi_follow_their_definitions(seed: int) -> None:
    """Given an event's rollups and a fully priced prize table
    When the prize effectiveness and ROI are computed
    Then they follow their definitions, checked against exact fractions."""
    rng = random.Random(seed)
    w = world(seed)
    totals, activity, people = rollups(w)
    lifted = metrics.lift([p.user_id for p in people], activity, w.start, w.end)
    during = metrics.retention_during(people, w.start, w.end)
    new = metrics.new_traders(people, activity, w.start)
    amounts = {"points": Decimal(rng.randrange(1, 10**6)), "token:USDT": Decimal(rng.randrange(0, 10**4))}
    cost = metrics.prize_cost(amounts, {"points": Decimal("0.01"), "token:USDT": Decimal(1)})
    # When
    effect = metrics.prize_effectiveness(cost, lifted.incremental_volume, during.retained, new)
    returned = metrics.roi(totals.tally, lifted.incremental_volume, cost)
    # Then
    c = F(amounts["points"]) / 100 + F(amounts["token:USDT"])
    inc = F(lifted.incremental_volume)
    assert effect.per_incremental_volume == (rounded(c / inc, 8) if inc > 0 else None)
    assert effect.per_retained_trader == (rounded(c / during.retained, 8) if during.retained else None)
    assert effect.per_new_trader == (rounded(c / new, 8) if new else None)
    counted = w.counted()
    volume = sum((F(t.volume) for t in counted), Fraction(0))
    fees = sum((F(t.fee) for t in counted), Fraction(0))
    if volume == 0:
        assert returned.roi is None
    else:
        incremental_fees = rounded(fees * inc / volume, 8)
        assert returned.incremental_fees == incremental_fees
        assert returned.roi == rounded((F(incremental_fees) - c) / c)


def test_roi_is_unavailable_when_a_prize_currency_has_no_price() -> None:
    """Given a token prize nobody priced
    When ROI and effectiveness are computed
    Then the cost names the unpriced currency and both are unavailable."""
    cost = metrics.prize_cost({"points": Decimal(100), "token:XYZ": Decimal(5)}, {"points": Decimal("0.1")})
    # When
    returned = metrics.roi(Tally(Decimal(1000), 3, Decimal(1)), Decimal(500), cost)
    effect = metrics.prize_effectiveness(cost, Decimal(500), 2, 1)
    # Then
    assert (cost.cost, cost.unpriced, returned.roi) == (Decimal(10), ("token:XYZ",), None)
    assert effect == metrics.Effectiveness(None, None, None)


# ------------------------------------------------------------------------------------------------ distributions


@pytest.mark.parametrize("seed", SEEDS)
def test_top_pairs_and_hours_come_from_the_counted_trades(seed: int) -> None:
    """Given a random stream and its rollups
    When the top pairs and the hour-of-day figures are computed
    Then they match the counted trades' volumes, shares and counts."""
    # Given
    w = world(seed)
    totals, _, _ = rollups(w)
    counted = w.counted()
    whole = sum((F(t.volume) for t in counted), Fraction(0))
    # When
    pairs = metrics.top_pairs(totals.by_market, 3)
    hours = metrics.hour_of_day(totals.by_hour_of_day)
    # Then
    per_market: dict[str, Fraction] = defaultdict(Fraction)
    for t in counted:
        per_market[t.market] += F(t.volume)
    expected = sorted(per_market.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert [(s.key, F(s.tally.volume)) for s in pairs] == expected
    assert [s.share for s in pairs] == [rounded(v / whole) if whole else None for _, v in expected]
    assert [s.key for s in hours] == [str(h) for h in range(24)]
    for hour in range(24):
        in_hour = [t for t in counted if t.at.hour == hour]
        assert hours[hour].tally.trades == len(in_hour)
        assert F(hours[hour].tally.volume) == sum((F(t.volume) for t in in_hour), Fraction(0))


@pytest.mark.parametrize("seed", SEEDS)
def test_volume_deciles_cut_traders_by_rank(seed: int) -> None:
    """Given a random stream and its rollups
    When the volume deciles are computed
    Then each trader is in the decile an oracle places them by rank, with its counts, bounds and shares."""
    # Given
    w = world(seed)
    _, _, people = rollups(w)
    # When
    got = metrics.volume_deciles(people)
    # Then: the oracle places each trader of rank r (ascending) in the first decile k with r <= floor(k*n/10)
    traders = sorted(((p.volume, p.user_id) for p in people if p.trades), key=lambda vu: vu)
    n = len(traders)
    groups: dict[int, list[Decimal]] = defaultdict(list)
    for r, (volume, _) in enumerate(traders, start=1):
        k = next(k for k in range(1, 11) if r <= k * n // 10)
        groups[k].append(volume)
    whole = sum((F(v) for v, _ in traders), Fraction(0))
    assert [d.decile for d in got] == list(range(1, 11))
    for d in got:
        members = groups.get(d.decile, [])
        assert d.traders == len(members)
        assert d.min_volume == (min(members) if members else None)
        assert d.max_volume == (max(members) if members else None)
        assert F(d.volume) == sum((F(v) for v in members), Fraction(0))
        assert d.share == (rounded(sum((F(v) for v in members), Fraction(0)) / whole) if whole else None)
    assert sum(d.traders for d in got) == n


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("resolution", list(Resolution))
def test_series_fills_every_bucket_of_the_range(seed: int, resolution: Resolution) -> None:
    """Given the event's buckets at this resolution, as the store returns them (empty ones omitted)
    When the series is built
    Then every step of the range is there once, ascending, and the volumes add up to the counted trades."""
    w = world(seed)
    counted = w.counted()
    grouped: dict[datetime, list[Trade]] = defaultdict(list)
    for t in counted:
        grouped[align(t.at, resolution)].append(t)
    buckets = [
        EventBucket("ev", resolution, at, tally_of(ts), {}, len({t.user_id for t in ts}), 0, 0)
        for at, ts in sorted(grouped.items())
    ]
    # When
    points = metrics.series(buckets, resolution, w.start, w.end)
    # Then
    step = STEP[resolution]
    expected_starts = []
    moment = align(w.start, resolution)
    while moment < w.end:
        expected_starts.append(moment)
        moment += step
    assert [p.start for p in points] == expected_starts
    assert sum((F(p.tally.volume) for p in points), Fraction(0)) == sum((F(t.volume) for t in counted), Fraction(0))
    assert sum(p.tally.trades for p in points) == len(counted)


def test_compare_names_the_best_event_per_metric() -> None:
    """Given two events' summaries
    When they are compared
    Then the rows are both and the best event is named per metric, none where neither has the figure."""
    a = metrics.Summary("a", Decimal(100), 5, Decimal(1), 10, 4, 20, Decimal("0.2"), None, Decimal("0.1"))
    b = metrics.Summary("b", Decimal(50), 9, Decimal(2), 3, 3, 5, Decimal("0.6"), Decimal("0.5"), None)
    # When
    got = metrics.compare([a, b])
    # Then
    assert got.rows == [a, b]
    assert got.best == {
        "volume": "a",
        "trades": "b",
        "fees": "b",
        "participants": "a",
        "traders": "a",
        "participation_rate": "b",
        "retention_during": "b",
        "lift": "a",
        "roi": None,
    }
