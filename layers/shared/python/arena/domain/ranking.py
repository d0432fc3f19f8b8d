"""Scores and the leaderboard's sort key.

The board key is a string whose byte order is the ranking order (highest first when read descending):
score, then who reached it first, then who joined first, then user id as the last, deterministic word.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import groupby

from arena.domain import exact
from arena.domain.events import RankingMetric
from arena.domain.exact import EXACT

# Millisecond epochs up to year 2286 fit 13 digits; the "inverse" makes earlier times sort higher.
_TIME_DIGITS = 13
_TIME_CEILING = 10**_TIME_DIGITS - 1
# ROI is a quotient, so it is the one score that is rounded: to 10 decimal places, half to even.
ROI_QUANTUM = Decimal("0.0000000001")
# Decimal exponents we can meet (DynamoDB's range is 1e-130 .. 1e126); offset keeps them non-negative.
_EXPONENT_OFFSET = 500
_EXPONENT_DIGITS = 4


def encode_score(score: Decimal) -> str:
    """Order-preserving text form of an exact decimal: a < b  <=>  encode(a) < encode(b).

    Positive: 'P' + (adjusted exponent + offset) + significant digits + '#'.
    Negative: 'N' + complemented exponent + nine's-complemented digits + '~' (so the shorter, larger
    negative sorts after its longer, smaller neighbours). Zero: 'O', between the two.
    """
    if not score.is_finite():
        raise ValueError("score must be finite")
    if score == 0:
        return "O"
    normal = score.normalize(EXACT)
    sign, digits, _ = normal.as_tuple()
    exponent = normal.adjusted() + _EXPONENT_OFFSET
    significand = "".join(str(d) for d in digits)
    if not sign:
        return f"P{exponent:0{_EXPONENT_DIGITS}d}{significand}#"
    complement_exponent = 10**_EXPONENT_DIGITS - 1 - exponent
    complement_digits = "".join(str(9 - int(d)) for d in significand)
    return f"N{complement_exponent:0{_EXPONENT_DIGITS}d}{complement_digits}~"


def _inverse_time(millis: int) -> str:
    return f"{_TIME_CEILING - max(0, min(millis, _TIME_CEILING)):0{_TIME_DIGITS}d}"


def board_key(score: Decimal, reached_at_ms: int, joined_at_ms: int, user_id: str) -> str:
    """Descending order of this key is the ranking: higher score; then reached earlier; then joined earlier."""
    return f"{encode_score(score)}|{_inverse_time(reached_at_ms)}|{_inverse_time(joined_at_ms)}|{user_id}"


def tie_key(key: str) -> str:
    """What of a board key decides a tie for prizes: the score and when it was reached. Who joined first and the
    user id only order the tied participants on the board; they do not win a prize boundary."""
    score_part, reached, _ = key.split("|", 2)
    return f"{score_part}|{reached}"


def tie_groups(keys: Sequence[str], first_rank: int = 1) -> list[int | None]:
    """For board keys in rank order (ranks first_rank, first_rank + 1, ...): each one's tie group, the rank of the
    group's first member, or None when no neighbour shares its score and reached-at time."""
    groups: list[int | None] = []
    rank = first_rank
    for _, run in groupby(keys, key=tie_key):
        size = len(list(run))
        groups.extend([rank if size > 1 else None] * size)
        rank += size
    return groups


@dataclass(frozen=True)
class Totals:
    """A participant's running totals in one event. Exact decimals."""

    volume: Decimal = Decimal(0)
    pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    trade_count: int = 0
    first_trade_at: datetime | None = None
    last_trade_at: datetime | None = None
    # Starting equity plus net deposits, from the exchange's account feed; None until it is known.
    equity: Decimal | None = None


@dataclass(frozen=True)
class CountedTrade:
    """The part of a trade that moves a score."""

    volume: Decimal
    realized_pnl: Decimal
    fee: Decimal
    executed_at: datetime


def add_trades(totals: Totals, trades: list[CountedTrade]) -> Totals:
    if not trades:
        return totals
    times = [t.executed_at for t in trades]
    first = min(times) if totals.first_trade_at is None else min([totals.first_trade_at, *times])
    last = max(times) if totals.last_trade_at is None else max([totals.last_trade_at, *times])
    return replace(
        totals,
        volume=exact.total((t.volume for t in trades), totals.volume),
        pnl=exact.total((t.realized_pnl for t in trades), totals.pnl),
        fees=exact.total((t.fee for t in trades), totals.fees),
        trade_count=totals.trade_count + len(trades),
        first_trade_at=first,
        last_trade_at=last,
    )


def score(metric: RankingMetric, totals: Totals) -> Decimal | None:
    """The participant's score, or None when it cannot be ranked yet (ROI without a positive equity base)."""
    if metric == RankingMetric.VOLUME:
        return totals.volume
    if metric == RankingMetric.PNL:
        return totals.pnl
    if metric == RankingMetric.TRADE_COUNT:
        return Decimal(totals.trade_count)
    if metric == RankingMetric.ROI:
        if totals.equity is None or totals.equity <= 0:
            return None
        # The one deliberate rounding: a quotient, to ROI_QUANTUM, half to even.
        quotient = exact.ROUNDING.divide(totals.pnl, totals.equity)
        return quotient.quantize(ROI_QUANTUM, rounding=ROUND_HALF_EVEN, context=exact.ROUNDING)
    raise ValueError(f"unknown ranking metric {metric}")


@dataclass(frozen=True)
class Qualification:
    min_volume: Decimal
    min_trades: int


def qualification_gap(rule: Qualification, totals: Totals) -> dict[str, Decimal | int]:
    """What is still missing to qualify for prizes: {} when qualified."""
    gap: dict[str, Decimal | int] = {}
    if totals.volume < rule.min_volume:
        gap["volume"] = rule.min_volume - totals.volume
    if totals.trade_count < rule.min_trades:
        gap["trades"] = rule.min_trades - totals.trade_count
    return gap
