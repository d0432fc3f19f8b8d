"""arena.domain.ranking: the order-preserving score encoding, the leaderboard's board key, totals and scores.

The amounts a model admits are exact decimals of up to 38 significant digits (DynamoDB's numbers), so
that is the domain every property here is checked over.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext

import pytest
from arena.domain.events import RankingMetric
from arena.domain.ranking import CountedTrade, Totals, add_trades, board_key, encode_score, score
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

# ------------------------------------------------------------------------------------------- strategies

# DynamoDB numbers: up to 38 significant digits, magnitudes from 1e-130 to below 1e126.
MAX_DIGITS = 38
MIN_ADJUSTED, MAX_ADJUSTED = -130, 125


def _decimal(negative: bool, digits: list[int], adjusted: int) -> Decimal:
    """A decimal with these significant digits whose most significant one sits at 10**adjusted."""
    digits = list(digits)
    digits[0] = digits[0] or 1  # a leading zero would shift the magnitude
    return Decimal((int(negative), tuple(digits), adjusted - len(digits) + 1))


def decimals(max_digits: int = MAX_DIGITS, min_adjusted: int = MIN_ADJUSTED, max_adjusted: int = MAX_ADJUSTED):
    nonzero = st.builds(
        _decimal,
        st.booleans(),
        st.lists(st.integers(0, 9), min_size=1, max_size=max_digits),
        st.integers(min_adjusted, max_adjusted),
    )
    return st.one_of(st.just(Decimal(0)), nonzero)


@st.composite
def near_pairs(draw: st.DrawFn, max_digits: int = MAX_DIGITS) -> tuple[Decimal, Decimal]:
    """Two decimals that share their leading digits and exponent and differ only far to the right
    (1.23 vs 1.230001): the pairs an encoding that rounds would get wrong."""
    negative = draw(st.booleans())
    adjusted = draw(st.integers(MIN_ADJUSTED, MAX_ADJUSTED))
    common = draw(st.lists(st.integers(0, 9), min_size=1, max_size=max_digits - 1))
    tail_a = draw(st.lists(st.integers(0, 9), max_size=max_digits - len(common)))
    tail_b = draw(st.lists(st.integers(0, 9), max_size=max_digits - len(common)))
    return _decimal(negative, common + tail_a, adjusted), _decimal(negative, common + tail_b, adjusted)


def _with_trailing_zeros(value: Decimal, zeros: int) -> Decimal:
    """The same number written with more trailing zeros (1.5 -> 1.500)."""
    sign, digits, exponent = value.as_tuple()
    return Decimal((sign, (*digits, *([0] * zeros)), int(exponent) - zeros))


def _compare(a: Decimal, b: Decimal) -> int:
    return (a > b) - (a < b)


def _compare_text(a: str, b: str) -> int:
    return (a > b) - (a < b)


# ------------------------------------------------------------------------------------------- encode_score


@settings(max_examples=400)
@given(st.one_of(st.tuples(decimals(), decimals()), near_pairs()))
@example((Decimal("-1.23"), Decimal("-1.230001")))
@example((Decimal("1.5"), Decimal("1.50")))
@example((Decimal("1"), Decimal("1.00000000000000000000000000001")))
@example((Decimal("-" + "9" * 38), Decimal("-" + "9" * 37 + "8")))
def test_encode_score_orders_exactly_like_the_decimals(pair: tuple[Decimal, Decimal]) -> None:
    """Given two scores anywhere in DynamoDB's number range (up to 38 significant digits)
    When both are encoded
    Then the text order of the encodings is exactly the numeric order (less, equal and greater)."""
    a, b = pair
    assert _compare_text(encode_score(a), encode_score(b)) == _compare(a, b), (a, b)


@settings(max_examples=300)
@given(st.one_of(st.tuples(decimals(max_digits=20), decimals(max_digits=20)), near_pairs(max_digits=20)))
@example((Decimal("1.23"), Decimal("1.230001")))
@example((Decimal("-1.23"), Decimal("-1.230001")))
@example((Decimal("-0.9"), Decimal("-0.99")))
@example((Decimal("-1.29"), Decimal("-1.3")))
@example((Decimal("1e-130"), Decimal("0")))
@example((Decimal("-1e-130"), Decimal("0")))
@example((Decimal("9.9e125"), Decimal("1e125")))
@example((Decimal("-9.9e125"), Decimal("-1e-130")))
def test_encode_score_orders_short_decimals_including_signs_and_extreme_exponents(
    pair: tuple[Decimal, Decimal],
) -> None:
    """Given two scores of up to 20 significant digits: negative, zero or positive, tiny or huge
    When both are encoded
    Then the encodings compare as the numbers do."""
    a, b = pair
    assert _compare_text(encode_score(a), encode_score(b)) == _compare(a, b), (a, b)


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        ("1.23", "1.230001"),
        ("-1.230001", "-1.23"),
        ("0.000001", "0.0000011"),
        ("-0.0000011", "-0.000001"),
        ("99", "100"),
        ("-100", "-99"),
        ("-0.5", "0"),
        ("0", "1e-130"),
        ("1e-130", "1e125"),
        ("-1e125", "-1e-130"),
    ],
)
def test_encode_score_orders_trailing_digit_and_sign_neighbours(smaller: str, larger: str) -> None:
    """Given two neighbouring scores When encoded Then the smaller one's text sorts first."""
    assert encode_score(Decimal(smaller)) < encode_score(Decimal(larger))


def test_encode_score_tells_apart_scores_that_differ_beyond_the_28th_digit() -> None:
    """Given two scores DynamoDB stores as different numbers (30 and 1 significant digits)
    When both are encoded
    Then their encodings differ and keep their order (a rank must not depend on the default decimal context).
    """
    one = Decimal(1)
    a_little_more = Decimal("1." + "0" * 28 + "1")  # 1.00000000000000000000000000001
    assert a_little_more > one
    assert encode_score(one) < encode_score(a_little_more)


@given(decimals(max_digits=30), st.integers(1, 8))
@example(Decimal("1.5"), 1)
@example(Decimal("-1.5"), 3)
@example(Decimal("1e-130"), 2)
def test_encode_score_is_the_same_for_equal_values_with_trailing_zeros(value: Decimal, zeros: int) -> None:
    """Given 1.5 and 1.50 (the same number, written differently)
    When both are encoded
    Then the encodings are identical, so equal scores tie on the board."""
    padded = _with_trailing_zeros(value, zeros)
    assert padded == value
    assert encode_score(padded) == encode_score(value)


def test_encode_score_of_every_zero_is_the_same() -> None:
    """Given zero written as 0, 0.000, -0 and 0E+5 When encoded Then all are one encoding, between signs."""
    zeros = {encode_score(Decimal(text)) for text in ("0", "0.000", "-0", "0E+5", "-0.0")}
    assert zeros == {encode_score(Decimal(0))}
    assert encode_score(Decimal("-1e-130")) < encode_score(Decimal(0)) < encode_score(Decimal("1e-130"))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_encode_score_refuses_non_finite(value: str) -> None:
    """Given a non-finite decimal When encoded Then ValueError: no such score can be ranked."""
    with pytest.raises(ValueError, match="finite"):
        encode_score(Decimal(value))


# ------------------------------------------------------------------------------------------- board_key

T0 = 1_796_126_400_000  # 2026-12-01T12:00:00Z in milliseconds
millis = st.integers(T0 - 10**10, T0 + 10**10)
user_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.:@", min_size=1, max_size=20)
short_scores = decimals(max_digits=20, min_adjusted=-20, max_adjusted=20)


@given(short_scores, short_scores, millis, millis, millis, millis, user_ids, user_ids)
def test_board_key_puts_the_higher_score_first_whatever_the_times(
    s1: Decimal, s2: Decimal, r1: int, r2: int, j1: int, j2: int, u1: str, u2: str
) -> None:
    """Given two participants with different scores
    When their board keys are compared
    Then the higher score has the higher key (the board is read descending), whatever their times and ids."""
    assume(s1 != s2)
    high, low = (s1, s2) if s1 > s2 else (s2, s1)
    assert board_key(high, r1, j1, u1) > board_key(low, r2, j2, u2)


@given(short_scores, millis, millis, millis, millis, user_ids, user_ids)
def test_board_key_on_equal_scores_puts_who_reached_it_first_first(
    s: Decimal, r1: int, r2: int, j1: int, j2: int, u1: str, u2: str
) -> None:
    """Given equal scores reached at different times When keys are compared Then the earlier one ranks higher."""
    assume(r1 != r2)
    earlier, later = min(r1, r2), max(r1, r2)
    assert board_key(s, earlier, j1, u1) > board_key(_with_trailing_zeros(s, 2) if s else s, later, j2, u2)


@given(short_scores, millis, millis, millis, user_ids, user_ids)
def test_board_key_on_equal_score_and_time_puts_who_joined_first_first(
    s: Decimal, r: int, j1: int, j2: int, u1: str, u2: str
) -> None:
    """Given equal scores reached at the same moment When keys are compared Then the earlier joiner ranks higher."""
    assume(j1 != j2)
    assert board_key(s, r, min(j1, j2), u1) > board_key(s, r, max(j1, j2), u2)


@given(short_scores, millis, millis, user_ids, user_ids)
def test_board_key_on_a_full_tie_is_decided_by_user_id(s: Decimal, r: int, j: int, u1: str, u2: str) -> None:
    """Given two participants tied on score, reach time and join time
    When keys are compared
    Then the keys still differ, and the user ids alone decide the order (deterministic, never a coin toss)."""
    assume(u1 != u2)
    k1, k2 = board_key(s, r, j, u1), board_key(s, r, j, u2)
    assert k1 != k2
    assert (k1 > k2) == (u1 > u2)


@settings(max_examples=150)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["-2.5", "-2.50", "0", "1.5", "1.50", "1.500001", "100"]),
            st.integers(0, 3),
            st.integers(0, 3),
        ),
        min_size=2,
        max_size=25,
    )
)
def test_sorting_by_board_key_descending_is_the_ranking(rows: list[tuple[str, int, int]]) -> None:
    """Given participants with tied and untied scores, reach times and join times
    When sorted by board key, highest first
    Then the order is: score desc, then reached earlier, then joined earlier (user id only on full ties)."""
    people = [(Decimal(s), T0 + r * 1000, T0 + j * 1000, f"u{i:02d}") for i, (s, r, j) in enumerate(rows)]
    by_key = sorted(people, key=lambda p: board_key(*p), reverse=True)
    for better, worse in itertools.pairwise(by_key):
        assert (-better[0], better[1], better[2]) <= (-worse[0], worse[1], worse[2]), (better, worse)


def test_board_key_clamps_times_outside_thirteen_digits() -> None:
    """Given reach times before the epoch or past year 2286 When keys are built Then they still sort sensibly."""
    assert board_key(Decimal(1), -5, T0, "a") == board_key(Decimal(1), 0, T0, "a")
    assert board_key(Decimal(1), 0, T0, "a") > board_key(Decimal(1), 10**14, T0, "a")


# ------------------------------------------------------------------------------------------- add_trades

START = datetime(2026, 12, 1, tzinfo=UTC)
instants = st.integers(0, 14 * 86_400_000).map(lambda ms: START + timedelta(milliseconds=ms))
# Token amounts as exchanges send them: up to a trillion, with up to 18 decimals (wei), either sign for pnl.
token_amounts = st.builds(
    lambda units, scale, negative: Decimal(-units if negative else units).scaleb(-scale),
    st.integers(0, 10**30 - 1),
    st.integers(0, 18),
    st.booleans(),
)
counted_trades = st.builds(
    CountedTrade,
    volume=token_amounts.map(abs),
    realized_pnl=token_amounts,
    fee=token_amounts.map(abs),
    executed_at=instants,
)


def _exact_sum(values: list[Decimal]) -> Decimal:
    with localcontext() as exact:
        exact.prec = 1000
        return sum(values, Decimal(0))


def _significant_digits(value: Decimal) -> int:
    with localcontext() as exact:
        exact.prec = 1000
        return len(value.normalize().as_tuple().digits)


@settings(max_examples=200)
@given(st.lists(counted_trades, max_size=12), st.lists(counted_trades, min_size=1, max_size=12))
@example([], [CountedTrade(Decimal("0.1"), Decimal("-0.2"), Decimal("0.3"), START)])
@example(
    [CountedTrade(Decimal("999999999999999999999999999.1"), Decimal(0), Decimal(0), START)],
    [CountedTrade(Decimal(1), Decimal("0.000000000000000001"), Decimal(0), START)],
)
def test_add_trades_sums_exactly_what_dynamodb_can_hold(earlier: list[CountedTrade], new: list[CountedTrade]) -> None:
    """Given running totals and a batch of trades with amounts of up to 30 significant digits
    When the batch is added
    Then volume, pnl and fees are the exact sums (never rounded: every sum here fits DynamoDB's 38 digits)."""
    everything = earlier + new
    for name in ("volume", "realized_pnl", "fee"):
        assume(_significant_digits(_exact_sum([getattr(t, name) for t in everything])) <= MAX_DIGITS)
    totals = add_trades(add_trades(Totals(), earlier), new)
    assert totals.volume == _exact_sum([t.volume for t in everything])
    assert totals.pnl == _exact_sum([t.realized_pnl for t in everything])
    assert totals.fees == _exact_sum([t.fee for t in everything])
    assert totals.trade_count == len(everything)


def test_add_trades_keeps_a_thirty_digit_volume_exact() -> None:
    """Given a volume of 30 significant digits (a whale's ETH volume in wei precision)
    When one wei more is traded
    Then the total is exact, not rounded to 28 digits."""
    at = START
    totals = add_trades(
        Totals(), [CountedTrade(Decimal("123456789012.123456789012345678"), Decimal(0), Decimal(0), at)]
    )
    totals = add_trades(totals, [CountedTrade(Decimal("0.000000000000000001"), Decimal(0), Decimal(0), at)])
    assert totals.volume == Decimal("123456789012.123456789012345679")


def test_add_trades_sums_tenths_exactly() -> None:
    """Given amounts 0.1 and 0.2 (inexact as floats) When added Then the totals are exactly 0.3 and 0.03."""
    at = START
    totals = add_trades(
        Totals(),
        [
            CountedTrade(Decimal("0.1"), Decimal("-0.1"), Decimal("0.01"), at),
            CountedTrade(Decimal("0.2"), Decimal("0.3"), Decimal("0.02"), at),
        ],
    )
    assert (totals.volume, totals.pnl, totals.fees) == (Decimal("0.3"), Decimal("0.2"), Decimal("0.03"))
    assert str(totals.volume) == "0.3"


@given(st.lists(counted_trades, max_size=10), st.lists(st.lists(counted_trades, max_size=10), max_size=4))
def test_add_trades_keeps_first_and_last_trade_times(
    first: list[CountedTrade], batches: list[list[CountedTrade]]
) -> None:
    """Given trades arriving in batches, in any time order
    When each batch is added
    Then first_trade_at is the earliest execution seen and last_trade_at the latest (None until a trade)."""
    totals = add_trades(Totals(), first)
    for batch in batches:
        totals = add_trades(totals, batch)
    times = [t.executed_at for t in first + [t for b in batches for t in b]]
    assert totals.first_trade_at == (min(times) if times else None)
    assert totals.last_trade_at == (max(times) if times else None)
    assert totals.trade_count == len(times)


def test_add_trades_with_no_trades_changes_nothing() -> None:
    """Given totals When an empty batch is added Then the very same totals come back."""
    totals = add_trades(Totals(), [CountedTrade(Decimal(5), Decimal(1), Decimal(0), START)])
    assert add_trades(totals, []) is totals


def test_add_trades_with_a_late_trade_moves_first_trade_at_back() -> None:
    """Given totals from a trade at noon When a trade executed at 09:00 arrives late
    Then first_trade_at becomes 09:00 and last_trade_at stays noon."""
    noon, nine = START.replace(hour=12), START.replace(hour=9)
    totals = add_trades(Totals(), [CountedTrade(Decimal(1), Decimal(0), Decimal(0), noon)])
    totals = add_trades(totals, [CountedTrade(Decimal(1), Decimal(0), Decimal(0), nine)])
    assert (totals.first_trade_at, totals.last_trade_at) == (nine, noon)


# ------------------------------------------------------------------------------------------- score


def test_score_per_metric() -> None:
    """Given totals with volume, pnl and a trade count
    When scored by each metric
    Then volume, pnl and the count (as a Decimal) are the scores."""
    totals = Totals(volume=Decimal("1250.75"), pnl=Decimal("-42.125"), fees=Decimal("3"), trade_count=7)
    assert score(RankingMetric.VOLUME, totals) == Decimal("1250.75")
    assert score(RankingMetric.PNL, totals) == Decimal("-42.125")
    assert score(RankingMetric.TRADE_COUNT, totals) == Decimal(7)
    assert isinstance(score(RankingMetric.TRADE_COUNT, totals), Decimal)


@pytest.mark.parametrize("metric", [RankingMetric.VOLUME, RankingMetric.PNL, RankingMetric.TRADE_COUNT])
def test_score_of_empty_totals_is_zero(metric: RankingMetric) -> None:
    """Given no trades yet When scored by volume, pnl or trade count Then the score is 0."""
    assert score(metric, Totals()) == Decimal(0)


def test_score_refuses_an_unknown_metric() -> None:
    """Given a metric the ranking does not know When scored Then ValueError."""
    with pytest.raises(ValueError, match="unknown ranking metric"):
        score("fees", Totals())  # type: ignore[arg-type]
