"""Prize distribution: from a prize table and a final ranking to the awards to pay. Pure: no I/O, no clock.

Rules (a table is a list of them; their rank ranges must not overlap)
---------------------------------------------------------------------
* ``EachInRange(rank_from, rank_to, amount)``: every rank in the range gets ``amount`` (one rank: from == to).
* ``SharedInRange(rank_from, rank_to, pool)``: the ranks share ``pool`` equally, ``pool / ranks`` each.
* ``ProRata(rank_from, rank_to, pool)``: the participants placed in the range share ``pool`` in proportion to
  their score; a non-positive score weighs 0 (gets nothing).
* ``GrowingPool(base, per_participant, maximum, rank_from, rank_to, split)``: the pool is
  ``min(maximum, base + per_participant * eligible participants)``, split ``"equal"`` (as SharedInRange) or
  ``"pro_rata"`` (as ProRata).

Every rule has a ``prize_type``: ``"points"``, ``"token"`` (``token`` is the symbol) or ``"custom"`` (a
``description`` an admin fulfils; custom prizes carry no amount: one unit per rank, EachInRange only).
Amounts are counted per **currency** ``Currency(prize_type, token)``; for custom prizes the second part is the
description (one "VIP trip" is not one "T-shirt").

Who is paid
-----------
Ineligible participants (disqualified, unqualified, not KYC'd) are removed first and the others re-ranked
densely 1..M in board order, so prizes roll down. Participants of one ``tie_group`` (equal score and equal
reached-at time) occupy consecutive positions; under each rule, the group shares equally the prizes of those of
its positions that fall in the rule's range, so a group straddling a prize boundary splits the prizes of the
positions it occupies (100 for rank 3 + 50 for rank 4, tied → 75 each). Every member of a group having a position
in a rule's range gets exactly one ``Award`` for that rule (possibly of amount 0: a non-positive score under pro
rata, a cap already reached, a share below the quantum). ``prize_rank`` is the group's first position.

Money: what is put up, the rounding rule, the treasury
------------------------------------------------------
* ``pool_total`` per currency is what the table puts up for these participants: a fixed per-rank prize
  (EachInRange) is put up **only for filled ranks** (no participant, no prize: nothing to pay, nothing to
  account for); a pool (shared, pro rata, growing) is put up **whole**, and the shares of unfilled ranks (or the
  whole pool when nobody in the range has a positive score, for pro rata) go to the treasury.
* Entitlements are computed as exact fractions. **Rounding rule: ROUND_DOWN to the currency's quantum, once per
  user and currency**: a user's amount in a currency is ``floor(exact entitlement / quantum) * quantum`` (summed
  over the rules paying that user in that currency, so a tie straddling two rules of one currency loses at most
  one quantum), then capped at ``cap_per_user`` (floored to the quantum). Each award is a multiple of the quantum;
  across a user's awards in a currency, the floor of each rule's share is paid first and the remaining quanta go
  to the rules with the largest remainders, then the cap is applied in rule order.
* ``treasury`` gets everything put up and not paid: unfilled shares, rounding dust and cap excess. For every
  currency: ``sum(awards) + treasury == pool_total`` exactly, so the sum paid never exceeds what is put up.

Quantum: ``table.quantum`` is one Decimal for every points/token currency or a mapping per currency (missing:
``DEFAULT_QUANTUM``); custom prizes are indivisible (quantum 1) unless the mapping names them. ``cap_per_user``
likewise: one Decimal for every points/token currency, or a mapping per currency (missing: no cap).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Literal, NamedTuple, Protocol, TypeGuard, cast

from arena.domain.exact import EXACT

PrizeType = Literal["points", "token", "custom"]
Split = Literal["equal", "pro_rata"]

PRIZE_TYPES: tuple[str, ...] = ("points", "token", "custom")
SPLITS: tuple[str, ...] = ("equal", "pro_rata")
DEFAULT_QUANTUM = Decimal("0.00000001")
CUSTOM_QUANTUM = Decimal(1)


class Currency(NamedTuple):
    """What amounts are counted in: (prize_type, token) — for custom prizes (``"custom"``, description)."""

    prize_type: str
    token: str | None


@dataclass(frozen=True, kw_only=True)
class _Reward:
    """What every rule pays in: the prize type, the token symbol (token prizes), the description (custom)."""

    prize_type: PrizeType = "points"
    token: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class EachInRange(_Reward):
    """Each rank in rank_from..rank_to gets ``amount`` (custom: no amount, one unit per rank)."""

    rank_from: int
    rank_to: int
    amount: Decimal | None = None


@dataclass(frozen=True)
class SharedInRange(_Reward):
    """The ranks rank_from..rank_to share ``pool`` equally; shares of unfilled ranks go to the treasury."""

    rank_from: int
    rank_to: int
    pool: Decimal


@dataclass(frozen=True)
class ProRata(_Reward):
    """The participants placed in rank_from..rank_to share ``pool`` in proportion to their positive scores."""

    rank_from: int
    rank_to: int
    pool: Decimal


@dataclass(frozen=True)
class GrowingPool(_Reward):
    """pool = min(maximum, base + per_participant * eligible participants), split equally or pro rata."""

    base: Decimal
    per_participant: Decimal
    maximum: Decimal
    rank_from: int
    rank_to: int
    split: Split = "equal"


Rule = EachInRange | SharedInRange | ProRata | GrowingPool
_RULE_TYPES = (EachInRange, SharedInRange, ProRata, GrowingPool)


@dataclass(frozen=True)
class PrizeTable:
    rules: Sequence[Rule] = ()
    cap_per_user: Decimal | Mapping[Currency, Decimal] | None = None
    quantum: Decimal | Mapping[Currency, Decimal] = DEFAULT_QUANTUM

    def __post_init__(self) -> None:
        if not isinstance(self.rules, tuple):
            object.__setattr__(self, "rules", tuple(self.rules))

    def quantum_for(self, currency: Currency) -> Decimal:
        if isinstance(self.quantum, Mapping):
            if currency in self.quantum:
                return self.quantum[currency]
            return CUSTOM_QUANTUM if currency.prize_type == "custom" else DEFAULT_QUANTUM
        return CUSTOM_QUANTUM if currency.prize_type == "custom" else self.quantum

    def cap_for(self, currency: Currency) -> Decimal | None:
        if self.cap_per_user is None:
            return None
        if isinstance(self.cap_per_user, Mapping):
            return self.cap_per_user.get(currency)
        return None if currency.prize_type == "custom" else self.cap_per_user

    def currencies(self) -> list[Currency]:
        """The currencies the table pays in, in rule order, each once."""
        return list(dict.fromkeys(currency_of(rule) for rule in self.rules))


@dataclass(frozen=True)
class Placed:
    """A participant in the board's rank order. ``tie_group``: participants sharing one (equal score and equal
    reached-at time) are tied for prizes; None: a group of its own."""

    user_id: str
    rank: int
    score: Decimal
    eligible: bool = True
    tie_group: str | None = None


@dataclass(frozen=True)
class Award:
    user_id: str
    prize_rank: int
    prize_type: PrizeType
    token: str | None
    amount: Decimal
    description: str | None
    rule_index: int

    @property
    def currency(self) -> Currency:
        return Currency(self.prize_type, self.description if self.prize_type == "custom" else self.token)


@dataclass(frozen=True)
class Plan:
    awards: list[Award]
    treasury: dict[Currency, Decimal]
    pool_total: dict[Currency, Decimal]

    def paid(self) -> dict[Currency, Decimal]:
        """The sum of the awards per currency."""
        return _paid(self.awards, self.pool_total)

    def by_user(self) -> dict[str, dict[Currency, Decimal]]:
        result: dict[str, dict[Currency, Decimal]] = {}
        for award in self.awards:
            mine = result.setdefault(award.user_id, {})
            mine[award.currency] = EXACT.add(mine.get(award.currency, Decimal(0)), award.amount)
        return result


def _paid(awards: Iterable[Award], currencies: Iterable[Currency]) -> dict[Currency, Decimal]:
    totals = {currency: Decimal(0) for currency in currencies}
    for award in awards:
        totals[award.currency] = EXACT.add(totals.get(award.currency, Decimal(0)), award.amount)
    return totals


def currency_of(rule: Rule) -> Currency:
    return Currency(rule.prize_type, rule.description if rule.prize_type == "custom" else rule.token)


# ---------------------------------------------------------------------------------------------------------------------
# Validation


def _is_decimal(value: object) -> TypeGuard[Decimal]:
    return isinstance(value, Decimal) and value.is_finite()


def _is_multiple(value: Decimal, quantum: Decimal) -> bool:
    return (Fraction(value) / Fraction(quantum)).denominator == 1


def _is_rank(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def validate(table: PrizeTable) -> list[str]:
    """Everything wrong with the table, in words; [] when ``calculate`` accepts it."""
    problems: list[str] = []
    ranged: list[tuple[int, int, int]] = []
    for i, rule in enumerate(table.rules):
        where = f"rule {i}"
        if not isinstance(rule, _RULE_TYPES):
            problems.append(f"{where}: not a prize rule")
            continue
        if not (_is_rank(rule.rank_from) and _is_rank(rule.rank_to)):
            problems.append(f"{where}: ranks must be integers >= 1")
        elif rule.rank_to < rule.rank_from:
            problems.append(f"{where}: rank_to must be at least rank_from")
        else:
            ranged.append((rule.rank_from, rule.rank_to, i))
        if rule.prize_type not in PRIZE_TYPES:
            problems.append(f"{where}: unknown prize type {rule.prize_type!r}")
            continue
        currency = currency_of(rule)
        if rule.prize_type == "token" and not (isinstance(rule.token, str) and rule.token):
            problems.append(f"{where}: a token prize needs a token symbol")
        if rule.prize_type != "token" and rule.token is not None:
            problems.append(f"{where}: only token prizes name a token")
        if rule.prize_type == "custom":
            if not (isinstance(rule.description, str) and rule.description):
                problems.append(f"{where}: a custom prize needs a description")
            if not isinstance(rule, EachInRange):
                problems.append(f"{where}: custom prizes are one unit per rank: use EachInRange")
            elif rule.amount is not None:
                problems.append(f"{where}: custom prizes carry no amount")
        quantum = table.quantum_for(currency)
        quantum_ok = _is_decimal(quantum) and quantum > 0
        if isinstance(rule, EachInRange) and rule.prize_type != "custom":
            if not _is_decimal(rule.amount) or rule.amount <= 0:
                problems.append(f"{where}: the amount must be a positive decimal")
            elif quantum_ok and not _is_multiple(rule.amount, quantum):
                problems.append(f"{where}: the amount {rule.amount} is not a multiple of the quantum {quantum}")
        elif isinstance(rule, SharedInRange | ProRata):
            if not _is_decimal(rule.pool) or rule.pool <= 0:
                problems.append(f"{where}: the pool must be a positive decimal")
            elif (
                isinstance(rule, SharedInRange)
                and quantum_ok
                and isinstance(rule.rank_from, int)
                and isinstance(rule.rank_to, int)
                and rule.rank_to >= rule.rank_from
                and Fraction(rule.pool) / (rule.rank_to - rule.rank_from + 1) < Fraction(quantum)
            ):
                problems.append(f"{where}: each rank's share of the pool is below the quantum {quantum}")
        elif isinstance(rule, GrowingPool):
            values = (rule.base, rule.per_participant, rule.maximum)
            if not all(_is_decimal(v) for v in values):
                problems.append(f"{where}: base, per_participant and maximum must be decimals")
            else:
                if rule.base < 0 or rule.per_participant < 0:
                    problems.append(f"{where}: base and per_participant must not be negative")
                if rule.base == 0 and rule.per_participant == 0:
                    problems.append(f"{where}: the pool never grows above 0")
                if rule.maximum <= 0 or rule.maximum < rule.base:
                    problems.append(f"{where}: the maximum must be positive and at least the base")
            if rule.split not in SPLITS:
                problems.append(f"{where}: split must be one of {', '.join(SPLITS)}")

    ranged.sort()
    reach: tuple[int, int] | None = None  # (highest rank_to so far, its rule)
    for rank_from, rank_to, i in ranged:
        if reach is not None and rank_from <= reach[0]:
            problems.append(f"rules {reach[1]} and {i} overlap at rank {rank_from}")
        if reach is None or rank_to > reach[0]:
            reach = (rank_to, i)

    for currency in table.currencies():
        quantum = table.quantum_for(currency)
        if not _is_decimal(quantum) or quantum <= 0:
            problems.append(f"{_name(currency)}: the quantum must be a positive decimal")
            continue
        cap = table.cap_for(currency)
        if cap is None:
            continue
        if not _is_decimal(cap) or cap < quantum:
            problems.append(f"{_name(currency)}: the cap per user must be a decimal of at least the quantum {quantum}")
        elif not _is_multiple(cap, quantum):
            problems.append(f"{_name(currency)}: the cap per user {cap} is not a multiple of the quantum {quantum}")
    return problems


def _name(currency: Currency) -> str:
    return currency.prize_type if currency.token is None else f"{currency.prize_type} {currency.token}"


# ---------------------------------------------------------------------------------------------------------------------
# Calculation


@dataclass(frozen=True)
class _Group:
    first: int  # first dense position (1-based)
    members: tuple[Placed, ...]

    @property
    def last(self) -> int:
        return self.first + len(self.members) - 1


def _eligible_groups(placed: Iterable[Placed]) -> list[_Group]:
    """Check the ranking, drop the ineligible, re-rank densely and group the ties."""
    ordered = sorted(placed, key=lambda p: p.rank if _is_rank(p.rank) else 0)
    users: set[str] = set()
    ranks: set[int] = set()
    seen_groups: set[str] = set()
    previous: Placed | None = None
    for p in ordered:
        if not isinstance(p.user_id, str) or not p.user_id:
            raise ValueError("user ids must be non-empty strings")
        if p.user_id in users:
            raise ValueError(f"user {p.user_id!r} is placed twice")
        if not _is_rank(p.rank) or p.rank in ranks:
            raise ValueError(f"ranks must be distinct integers >= 1 (user {p.user_id!r} has {p.rank!r})")
        if not _is_decimal(p.score):
            raise ValueError(f"user {p.user_id!r}: the score must be a finite decimal")
        users.add(p.user_id)
        ranks.add(p.rank)
        if p.tie_group is not None:
            continuing = previous is not None and previous.tie_group == p.tie_group
            if not continuing and p.tie_group in seen_groups:
                raise ValueError(f"tie group {p.tie_group!r} is not contiguous in rank order")
            if continuing and previous is not None and previous.score != p.score:
                raise ValueError(f"tie group {p.tie_group!r} mixes scores")
            seen_groups.add(p.tie_group)
        previous = p

    groups: list[_Group] = []
    position = 1
    current: list[Placed] = []
    for p in (p for p in ordered if p.eligible):
        if current and (p.tie_group is None or p.tie_group != current[-1].tie_group):
            groups.append(_Group(position, tuple(current)))
            position += len(current)
            current = []
        current.append(p)
    if current:
        groups.append(_Group(position, tuple(current)))
    return groups


def _floor(value: Fraction, quantum: Decimal) -> int:
    """How many whole quanta ``value`` holds (ROUND_DOWN; values are never negative)."""
    return math.floor(value / Fraction(quantum))


def _pool(rule: Rule, participants: int) -> Decimal:
    if isinstance(rule, GrowingPool):
        grown = EXACT.add(rule.base, EXACT.multiply(rule.per_participant, Decimal(participants)))
        return min(rule.maximum, grown)
    assert isinstance(rule, SharedInRange | ProRata)
    return rule.pool


def calculate(table: PrizeTable, placed: Iterable[Placed]) -> Plan:
    """The awards of ``table`` for the ranking ``placed``; see the module doc. Raises ValueError for a table
    ``validate`` finds problems in, or a ranking that contradicts itself (duplicate users or ranks, a tie group
    that is not contiguous or mixes scores)."""
    problems = validate(table)
    if problems:
        raise ValueError("invalid prize table: " + "; ".join(problems))
    groups = _eligible_groups(placed)
    count = groups[-1].last if groups else 0
    lasts = [g.last for g in groups]

    pool_total: dict[Currency, Decimal] = {c: Decimal(0) for c in table.currencies()}
    # (user, currency) -> [(rule index, exact share)], in rule order
    shares: dict[tuple[str, Currency], list[tuple[int, Fraction]]] = {}
    prize_rank: dict[str, int] = {}

    for index, rule in enumerate(table.rules):
        currency = currency_of(rule)
        low, high = rule.rank_from, min(rule.rank_to, count)
        # the groups with a position in low..high, and how many of their positions fall there
        hit: list[tuple[_Group, int]] = []
        g = bisect_left(lasts, low)
        while g < len(groups) and groups[g].first <= high:
            group = groups[g]
            hit.append((group, min(group.last, high) - max(group.first, low) + 1))
            g += 1
        filled = max(0, high - low + 1)

        # a position's prize is unit * weight
        if isinstance(rule, EachInRange):
            per_rank = Decimal(1) if rule.prize_type == "custom" else rule.amount
            assert per_rank is not None
            put_up = EXACT.multiply(per_rank, Decimal(filled))
            unit, weights = Fraction(per_rank), [Fraction(1)] * len(hit)
        else:
            put_up = _pool(rule, count)
            pro_rata = isinstance(rule, ProRata) or (isinstance(rule, GrowingPool) and rule.split == "pro_rata")
            if pro_rata:
                weights = [Fraction(max(group.members[0].score, Decimal(0))) for group, _ in hit]
                denominator = sum((w * n for w, (_, n) in zip(weights, hit, strict=True)), Fraction(0))
                unit = Fraction(put_up) / denominator if denominator else Fraction(0)
            else:
                unit = Fraction(put_up) / (rule.rank_to - rule.rank_from + 1)
                weights = [Fraction(1)] * len(hit)
        pool_total[currency] = EXACT.add(pool_total[currency], put_up)

        for (group, positions), weight in zip(hit, weights, strict=True):
            share = unit * weight * positions / len(group.members)
            for member in group.members:
                shares.setdefault((member.user_id, currency), []).append((index, share))
                prize_rank[member.user_id] = group.first

    awards: list[Award] = []
    for (user, currency), owed in shares.items():
        quantum = table.quantum_for(currency)
        # floor the user's total once; floor each rule's share, then hand the quanta left to the largest remainders
        quanta = [_floor(share, quantum) for _, share in owed]
        spare = _floor(sum((share for _, share in owed), Fraction(0)), quantum) - sum(quanta)
        remainders = sorted(range(len(owed)), key=lambda k: (-(owed[k][1] - quanta[k] * Fraction(quantum)), owed[k][0]))
        for k in remainders[:spare]:
            quanta[k] += 1
        cap = table.cap_for(currency)
        room = _floor(Fraction(cap), quantum) if cap is not None else None
        for k, (index, _) in enumerate(owed):
            if room is not None:
                quanta[k] = min(quanta[k], room)
                room -= quanta[k]
            rule = table.rules[index]
            awards.append(
                Award(
                    user_id=user,
                    prize_rank=prize_rank[user],
                    prize_type=rule.prize_type,
                    token=rule.token,
                    amount=EXACT.multiply(Decimal(quanta[k]), quantum),
                    description=rule.description,
                    rule_index=index,
                )
            )
    awards.sort(key=lambda a: (a.rule_index, a.prize_rank))

    treasury: dict[Currency, Decimal] = {}
    for currency, paid in _paid(awards, pool_total).items():
        rest = EXACT.subtract(pool_total[currency], paid)
        if rest < 0:  # cannot happen: every share is a part of what its rule put up, rounded down
            raise ArithmeticError(f"{_name(currency)}: paid {paid} exceeds the {pool_total[currency]} put up")
        treasury[currency] = rest
    return Plan(awards=awards, treasury=treasury, pool_total=pool_total)


# ---------------------------------------------------------------------------------------------------------------------
# The API's prize tiers


class TierLike(Protocol):
    """``models.events.PrizeTier``: ``split`` picks the rule (``"each"``, ``"shared"``, ``"pro_rata"``,
    ``"growing"``); a tier without the split fields is an ``"each"`` tier (tiers stored before splits existed)."""

    rank_from: int
    rank_to: int
    type: PrizeType
    amount: Decimal | None
    token: str | None
    description: str | None


TIER_SPLITS: tuple[str, ...] = ("each", "shared", "pro_rata", "growing")
CurrencyAmounts = Decimal | Mapping[Currency, Decimal] | Mapping[str, Decimal]


def currency_from_name(name: str) -> Currency:
    """``"points"`` or ``"token:USDT"`` (the API's and the distribution's currency names) as a Currency."""
    if name == "points":
        return Currency("points", None)
    kind, _, token = name.partition(":")
    if kind == "token" and token:
        return Currency("token", token)
    raise ValueError(f'{name!r} is not a currency: use "points" or "token:<SYMBOL>"')


def _per_currency(value: CurrencyAmounts) -> Decimal | Mapping[Currency, Decimal]:
    if isinstance(value, Decimal):
        return value
    return {key if isinstance(key, Currency) else currency_from_name(key): amount for key, amount in value.items()}


def _unchecked(value: Decimal | None) -> Decimal:
    """A tier's optional amount where the rule needs one: a missing one is passed on as it is (None) for
    ``validate`` to report, since the rules are built unchecked."""
    return cast(Decimal, value)


def _rule_of(tier: TierLike) -> Rule:
    # getattr: the split fields are optional, a tier without them (stored before splits existed) pays "each"
    split = getattr(tier, "split", None) or "each"
    prize_type, token, description = tier.type, tier.token, tier.description
    if split == "each":
        # custom tiers: one unit per rank, any amount ignored
        amount = None if tier.type == "custom" else tier.amount
        return EachInRange(
            rank_from=tier.rank_from,
            rank_to=tier.rank_to,
            amount=amount,
            prize_type=prize_type,
            token=token,
            description=description,
        )
    pool: Decimal | None = getattr(tier, "pool", None)
    if split in ("shared", "pro_rata"):
        pooled = SharedInRange if split == "shared" else ProRata  # the same fields, split differently
        return pooled(
            rank_from=tier.rank_from,
            rank_to=tier.rank_to,
            pool=_unchecked(pool),
            prize_type=prize_type,
            token=token,
            description=description,
        )
    if split == "growing":
        base: Decimal | None = getattr(tier, "base", None)
        return GrowingPool(
            base=Decimal(0) if base is None else base,
            per_participant=_unchecked(getattr(tier, "per_participant", None)),
            maximum=_unchecked(getattr(tier, "maximum", None)),
            rank_from=tier.rank_from,
            rank_to=tier.rank_to,
            split=getattr(tier, "pool_split", None) or "equal",
            prize_type=prize_type,
            token=token,
            description=description,
        )
    raise ValueError(f"unknown prize split {split!r}: use one of {', '.join(TIER_SPLITS)}")


def from_tiers(
    tiers: Iterable[TierLike],
    *,
    cap_per_user: CurrencyAmounts | None = None,
    quantum: CurrencyAmounts | None = None,
) -> PrizeTable:
    """A table from the API's prize tiers (``models.events.PrizeTier``), one rule per tier in order. ``cap_per_user``
    and ``quantum``: one Decimal, or per currency keyed by Currency or by name (``"points"``, ``"token:USDT"``);
    no quantum means ``DEFAULT_QUANTUM``."""
    return PrizeTable(
        rules=tuple(_rule_of(t) for t in tiers),
        cap_per_user=None if cap_per_user is None else _per_currency(cap_per_user),
        quantum=DEFAULT_QUANTUM if quantum is None else _per_currency(quantum),
    )
