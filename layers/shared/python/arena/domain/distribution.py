"""Planning a prize distribution, pure (no I/O, no clock): an event's frozen results and prize table -> the prizes
to write, the fingerprint and totals a run pins, the batches it pays; the records the distribution table holds; the
amounts and idempotency keys exactly as they are stored, so a plan made twice compares equal to what was written."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from arena.clock import to_iso
from arena.domain import prizes
from arena.domain.claims import PrizeRef
from arena.domain.events import EventStatus
from arena.domain.exact import EXACT
from arena.domain.prizes import Award, Currency, Placed, Plan, PrizeTable, PrizeType
from arena.domain.statuses import BatchStatus, PrizeStatus, RunStatus

# A batch's transaction holds its posting (1 + 2 x 31 legs at most), one prize put per award and 2 progress
# updates: 30 awards make 95 of DynamoDB's 100 actions.
BATCH_SIZE = 30
POINTS = Currency("points", None)
# A rollback reverses prizes in these states; any other (claimed, paid out, fulfilled...) is refused and listed.
REVERSIBLE = frozenset(
    {
        PrizeStatus.PLANNED,
        PrizeStatus.CREDITED,
        PrizeStatus.CUSTOM_PENDING,
        PrizeStatus.CLAIMABLE,
        PrizeStatus.ROLLED_BACK,
    }
)


# ---------------------------------------------------------------------------------------------- keys and amounts


def prize_key(event_id: str, user_id: str, rule_index: int) -> str:
    return f"prize:{event_id}:{user_id}:{rule_index}"


def batch_key(event_id: str, batch_index: int) -> str:
    """The idempotency key of the posting that pays a batch's points prizes."""
    return f"prize-batch:{event_id}:{batch_index}"


def rollback_batch_key(event_id: str, batch_index: int) -> str:
    return f"prize-rollback:{event_id}:{batch_index}"


def pool_key(event_id: str) -> str:
    return f"prize-pool:{event_id}"


def treasury_key(event_id: str) -> str:
    return f"prize-treasury:{event_id}"


def pool_rollback_key(event_id: str) -> str:
    return f"prize-pool-rollback:{event_id}"


def treasury_rollback_key(event_id: str) -> str:
    return f"prize-treasury-rollback:{event_id}"


def currency_name(currency: Currency) -> str:
    return currency.prize_type if currency.token is None else f"{currency.prize_type}:{currency.token}"


def canonical(value: Decimal | int | str) -> Decimal:
    """Without trailing zeros and without an exponent ("1000.00000000" -> "1000", "250.50" -> "250.5"), exactly as
    DynamoDB reads it back, so a plan compares equal to what was stored."""
    normal = EXACT.normalize(Decimal(value))
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


def names(amounts: Mapping[Currency, Decimal]) -> dict[str, Decimal]:
    """Amounts per currency, keyed by currency name, as a run stores them."""
    return {currency_name(c): canonical(amount) for c, amount in amounts.items()}


def total(amounts: Iterable[Decimal]) -> Decimal:
    result = Decimal(0)
    for amount in amounts:
        result = EXACT.add(result, amount)
    return result


# ---------------------------------------------------------------------------------------------- records


class Record:
    """A stored record's fields by attribute (what the code reads), and by their stored names in their stored form
    (``prize["status"]``, ``prize["claim_deadline"]`` as the ISO text the table holds) for tests and tools that
    inspect the table's items."""

    def __getitem__(self, name: str) -> Any:
        try:
            value = getattr(self, name)
        except AttributeError:
            raise KeyError(name) from None
        return _stored(value)

    def get(self, name: str, default: Any = None) -> Any:
        return _stored(getattr(self, name, default))


def _stored(value: Any) -> Any:
    return to_iso(value) if isinstance(value, datetime) else value


@dataclass(frozen=True, kw_only=True)
class PlannedPrize(Record):
    """One user's prize under one rule, as planned: what a batch holds and the dry run shows."""

    user_id: str
    rule_index: int
    prize_rank: int
    type: PrizeType
    token: str | None
    description: str | None
    amount: Decimal
    key: str  # the idempotency key of its ledger posting (points) or its payout id (token)

    @property
    def currency_name(self) -> str:
        return currency_name(Currency(self.type, self.description if self.type == "custom" else self.token))

    def written(self, event_id: str, status: PrizeStatus, **how: Any) -> PrizeRecord:
        """This prize as written for the event, in `status` (`how`: the other fields of PrizeRecord)."""
        planned = {f.name: getattr(self, f.name) for f in fields(PlannedPrize)}
        return PrizeRecord(**planned, event_id=event_id, status=status, **how)


@dataclass(frozen=True, kw_only=True)
class PrizeRecord(PlannedPrize):
    """A user prize as the distribution table holds it, the one record of both areas that move it: the
    distribution writes it (its plan, its status, how it was paid) and the claims area takes it through its claim
    statuses."""

    event_id: str
    status: PrizeStatus
    batch_index: int | None = None
    applied_at: datetime | None = None
    claim_deadline: datetime | None = None  # manual claim mode: claimable until then
    posting_key: str | None = None  # the batch posting that paid its points
    payout_pending: bool = False  # the outbox: a token payout not yet on the bus
    payout_published_at: datetime | None = None
    previous_status: PrizeStatus | None = None
    rolled_back_at: datetime | None = None
    # Set when the prize is claimed (manual mode); the claim id is also the payout id of a claimed token prize.
    claim_id: str | None = None
    claimed_at: datetime | None = None
    decision: str | None = None  # the review decision taken on a claim held for review: approve or reject
    settled_at: datetime | None = None  # when what the status promises (points moved, payout requested) was done

    @property
    def ref(self) -> PrizeRef:
        return PrizeRef(self.event_id, self.user_id, self.rule_index)


@dataclass(frozen=True, kw_only=True)
class Batch(Record):
    """At most BATCH_SIZE awards, paid in one transaction or not at all."""

    batch_index: int
    status: BatchStatus
    awards: list[PlannedPrize]
    user_ids: list[str]


@dataclass(frozen=True, kw_only=True)
class Run(Record):
    """An event's one distribution run: the plan it pins (fingerprint, totals and counts per currency) and where
    it stands."""

    event_id: str
    run_id: str
    status: RunStatus
    created_by: str
    created_at: str
    updated_at: str
    award_count: int
    batch_count: int
    batches_done: int = 0
    pool_total: dict[str, Decimal] = field(default_factory=dict)
    paid: dict[str, Decimal] = field(default_factory=dict)
    treasury: dict[str, Decimal] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    attempt: int = 0
    problems: list[str] = field(default_factory=list)
    reason: str | None = None
    rolled_back_by: str | None = None
    previous_status: str | None = None
    rollback_published: bool = False
    refused_count: int | None = None


# ---------------------------------------------------------------------------------------------- the plan


def placed(results: Iterable[Mapping[str, Any]]) -> list[Placed]:
    """Frozen results in board order, as the prize maths ranks them."""
    return [
        Placed(
            user_id=r["user_id"],
            rank=int(r["rank"]),
            score=Decimal(r["score"]),
            eligible=bool(r.get("qualified")) and not r.get("disqualified"),
            # tied for prizes with the other results of the group (equal score, reached at the same time)
            tie_group=None if r.get("tie_group") is None else str(r["tie_group"]),
        )
        for r in results
    ]


def planned_prize(event_id: str, award: Award) -> PlannedPrize:
    return PlannedPrize(
        user_id=award.user_id,
        rule_index=award.rule_index,
        prize_rank=award.prize_rank,
        type=award.prize_type,
        token=award.token,
        description=award.description,
        amount=canonical(award.amount),
        key=prize_key(event_id, award.user_id, award.rule_index),
    )


@dataclass(frozen=True)
class DryRun:
    """The plan of an event's frozen results, and every problem found on the way (none: distributable)."""

    placed: list[Placed]
    problems: list[str]
    plan: Plan | None
    awards: list[PlannedPrize]

    @property
    def eligible_count(self) -> int:
        return sum(1 for p in self.placed if p.eligible)

    def fingerprint(self) -> str:
        text = json.dumps([asdict(a) for a in self.awards], sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def counts(self) -> dict[str, int]:
        return dict(Counter(a.currency_name for a in self.awards))

    def batches(self, size: int = BATCH_SIZE) -> list[Batch]:
        return _batches_of(self.awards, size)


def dry_run(event_id: str, status: EventStatus, table: PrizeTable, results: Sequence[Mapping[str, Any]]) -> DryRun:
    """Plan the prizes of an event in `status` under `table` (no rules: no prize table) from its frozen results."""
    ranked = placed(results)
    problems: list[str] = []
    plan: Plan | None = None
    completed = status == EventStatus.COMPLETED
    if not completed:
        problems.append(f"the event is {status.value}, not COMPLETED")
    elif not results:
        problems.append("the event has no frozen results")
    if not table.rules:
        problems.append("the event has no prize table")
    table_problems = prizes.validate(table)
    problems.extend(f"prize table: {p}" for p in table_problems)
    if results and not any(p.eligible for p in ranked):
        problems.append("nobody is eligible for a prize (none qualified)")
    if not table_problems and completed:
        try:
            plan = prizes.calculate(table, ranked)
        except ValueError as error:
            problems.append(f"the results cannot be ranked for prizes: {error}")
    if plan is not None and results and table.rules and not plan.awards:
        problems.append("no participant is placed in a prize range")
    awards = [planned_prize(event_id, a) for a in plan.awards] if plan else []
    return DryRun(placed=ranked, problems=problems, plan=plan, awards=awards)


def _batches_of(awards: Sequence[PlannedPrize], size: int = BATCH_SIZE) -> list[Batch]:
    """The awards in plan order, `size` to a batch."""
    return [
        Batch(
            batch_index=i,
            status=BatchStatus.PENDING,
            awards=list(awards[start : start + size]),
            user_ids=list(dict.fromkeys(a["user_id"] for a in awards[start : start + size])),
        )
        for i, start in enumerate(range(0, len(awards), size))
    ]
