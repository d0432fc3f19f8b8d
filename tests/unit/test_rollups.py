"""arena.domain.rollups: bucket alignment, tallies and the aggregation of trade rows into per-bucket deltas."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

from arena.domain.rollups import (
    Resolution,
    Tally,
    TradeRow,
    UserDay,
    add_user_day,
    align,
    bucket_market_tallies,
    bucket_starts,
    bucket_tallies,
    hour_of_day_tallies,
    merge,
    tally_of,
    total,
    user_day_deltas,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

D = Decimal
AT = datetime(2026, 3, 14, 15, 9, 26, 535897, tzinfo=UTC)


def row(trade_id: str, user: str, market: str, side: str, volume: str, fee: str, at: datetime) -> TradeRow:
    return TradeRow(trade_id, user, market, side, D(volume), D(fee), at)


def test_alignment_per_resolution() -> None:
    """Given a moment, in UTC and at another offset
    When it is aligned to the minute, hour and day
    Then it is truncated in UTC."""
    assert align(AT, Resolution.MINUTE) == datetime(2026, 3, 14, 15, 9, tzinfo=UTC)
    assert align(AT, Resolution.HOUR) == datetime(2026, 3, 14, 15, tzinfo=UTC)
    assert align(AT, Resolution.DAY) == datetime(2026, 3, 14, tzinfo=UTC)
    # Another offset is read in UTC: 01:30 at +02:00 is 23:30 UTC the day before.
    east = datetime(2026, 3, 15, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    assert align(east, Resolution.DAY) == datetime(2026, 3, 14, tzinfo=UTC)


def test_bucket_starts_cover_the_half_open_range() -> None:
    """Given a range from 10:30 to 13:00
    When its hour and minute bucket starts are listed
    Then they are the whole buckets inside it: 11:00 and 12:00, and 150 minutes."""
    start = datetime(2026, 3, 14, 10, 30, tzinfo=UTC)
    end = datetime(2026, 3, 14, 13, 0, tzinfo=UTC)
    assert bucket_starts(start, end, Resolution.HOUR) == [
        datetime(2026, 3, 14, 11, tzinfo=UTC),
        datetime(2026, 3, 14, 12, tzinfo=UTC),
    ]
    assert len(bucket_starts(start, end, Resolution.MINUTE)) == 150


def test_tally_adds_exactly_and_zero_is_neutral() -> None:
    """Given two tallies whose sums need more than float precision
    When added, and added to an empty tally
    Then every counter is the exact sum, and the empty tally changes nothing."""
    a = Tally(volume=D("0.1"), trades=1, fees=D("0.0000000000000000001"), buy_volume=D("0.1"))
    b = Tally(volume=D("12345678901234567890.2"), trades=2, fees=D("1"), sell_volume=D("12345678901234567890.2"))

    # When / Then
    assert a + b == Tally(
        volume=D("12345678901234567890.3"),
        trades=3,
        fees=D("1.0000000000000000001"),
        buy_volume=D("0.1"),
        sell_volume=D("12345678901234567890.2"),
    )
    assert a + Tally() == a


def test_a_trade_tally_splits_volume_by_side() -> None:
    """Given a buy and a sell trade
    When each is tallied
    Then the volume goes to its side."""
    buy = tally_of(row("t1", "u1", "BTC-USD", "buy", "100.5", "0.1", AT))
    sell = tally_of(row("t2", "u1", "BTC-USD", "sell", "7", "0", AT))
    assert (buy.buy_volume, buy.sell_volume, buy.trades) == (D("100.5"), 0, 1)
    assert (sell.buy_volume, sell.sell_volume, sell.fees) == (0, D("7"), 0)


def test_rows_aggregate_into_per_bucket_and_per_market_deltas() -> None:
    """Given three trades: two in one minute, one in the next hour
    When aggregated
    Then each bucket holds its trades"""
    rows = [
        row("t1", "u1", "BTC-USD", "buy", "10", "1", AT),
        row("t2", "u2", "ETH-USD", "sell", "5", "0.5", AT + timedelta(seconds=20)),
        row("t3", "u1", "BTC-USD", "sell", "2", "0", AT + timedelta(hours=1)),
    ]

    # When
    minutes = bucket_tallies(rows, Resolution.MINUTE)
    days = bucket_tallies(rows, Resolution.DAY)
    markets = bucket_market_tallies(rows, Resolution.HOUR)
    hours = hour_of_day_tallies(rows)

    # Then
    assert minutes[align(AT, Resolution.MINUTE)] == Tally(D("15"), 2, D("1.5"), D("10"), D("5"))
    assert days == {align(AT, Resolution.DAY): Tally(D("17"), 3, D("1.5"), D("10"), D("7"))}
    assert markets[align(AT, Resolution.HOUR)]["ETH-USD"] == Tally(D("5"), 1, D("0.5"), D(0), D("5"))
    assert set(hours) == {15, 16}


def test_user_days_collect_tallies_and_markets() -> None:
    """Given a user's trades over two days in two markets
    When they are rolled up per user and day
    Then each day holds its trades' tally and markets."""
    rows = [
        row("t1", "u1", "BTC-USD", "buy", "10", "1", AT),
        row("t2", "u1", "ETH-USD", "buy", "5", "0", AT + timedelta(hours=2)),
        row("t3", "u1", "ETH-USD", "sell", "1", "0", AT + timedelta(days=1)),
    ]
    days = user_day_deltas(rows)
    first = days[("u1", date(2026, 3, 14))]
    assert first.tally.trades == 2 and first.markets == frozenset({"BTC-USD", "ETH-USD"})
    assert days[("u1", date(2026, 3, 15))].tally.volume == D("1")


amounts = st.decimals(min_value=0, max_value=10**9, places=8, allow_nan=False, allow_infinity=False)
tallies = st.builds(Tally, amounts, st.integers(0, 10**6), amounts, amounts, amounts)
# Decimal strategies are slow to generate on a busy machine: no deadline, no too-slow health check.
PROPS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.lists(tallies, max_size=8), st.lists(tallies, max_size=8))
def test_tally_addition_is_associative_and_commutative(xs: list[Tally], ys: list[Tally]) -> None:
    """Given any two lists of tallies
    When they are totalled apart and together in either order
    Then the totals agree."""
    assert total(xs + ys) == total(xs) + total(ys) == total(ys + xs)


@PROPS
@given(
    st.dictionaries(st.sampled_from("abc"), tallies),
    st.dictionaries(st.sampled_from("abc"), tallies),
)
def test_merging_maps_adds_keywise(a: dict[str, Tally], b: dict[str, Tally]) -> None:
    """Given any two maps of tallies
    When they are merged
    Then every key of either is there, holding the sum of both."""
    merged = merge(a, b)
    assert set(merged) == set(a) | set(b)
    for key, value in merged.items():
        assert value == a.get(key, Tally()) + b.get(key, Tally())


def test_user_days_of_different_days_do_not_add() -> None:
    """Given a user's rollups for two different days
    When they are added
    Then a ValueError says they do not add."""
    a = UserDay("u1", date(2026, 3, 14), Tally(), frozenset())
    b = UserDay("u1", date(2026, 3, 15), Tally(), frozenset())
    try:
        add_user_day(a, b)
    except ValueError as error:
        assert "do not add" in str(error)
    else:
        raise AssertionError("different days added")
