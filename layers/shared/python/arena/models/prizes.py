"""Prize distribution: the dry run, a user's prize, a run's status and a rollback's outcome, as the API returns them.

Currencies are named ``points``, ``token:<symbol>`` and ``custom:<description>``; amounts are decimal strings.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from arena.domain.statuses import BatchStatus, PrizeStatus, RunStatus
from arena.models.common import ApiModel, DecimalStr, Reason


class PrizeAward(BaseModel):
    """One user's prize under one rule of the event's prize table."""

    user_id: str
    rule_index: int
    prize_rank: int
    type: Literal["points", "token", "custom"]
    token: str | None = None
    description: str | None = None
    amount: DecimalStr
    status: PrizeStatus = Field(
        default=PrizeStatus.PLANNED, description="PLANNED in a dry run; once distributed, the prize's stored status."
    )
    key: str = Field(description="The idempotency key of its ledger posting (points) or its payout id (token).")


class ValidationResult(BaseModel):
    """The dry run of a distribution: who would get what, and every problem found (none: ``ok``)."""

    event_id: str
    event_status: str
    ok: bool
    problems: list[str]
    results_count: int
    eligible_count: int
    awards: list[PrizeAward]
    pool_total: dict[str, DecimalStr] = Field(description="What the table puts up, per currency.")
    paid: dict[str, DecimalStr] = Field(description="The sum of the awards, per currency.")
    treasury: dict[str, DecimalStr] = Field(description="Put up and not paid (unfilled ranks, rounding), per currency.")


class UserPrize(BaseModel):
    event_id: str
    user_id: str
    rank: int | None
    prize_rank: int | None
    eligible: bool
    awards: list[PrizeAward]
    totals: dict[str, DecimalStr]


class BatchProgress(BaseModel):
    batch_index: int
    status: BatchStatus
    awards: int
    user_ids: list[str]


class DistributionRun(BaseModel):
    event_id: str
    run_id: str
    status: RunStatus
    created_by: str
    created_at: str
    updated_at: str
    award_count: int
    batch_count: int
    batches_done: int
    pool_total: dict[str, DecimalStr]
    paid: dict[str, DecimalStr]
    treasury: dict[str, DecimalStr]
    problems: list[str] = Field(default_factory=list)
    created: bool = Field(default=False, description="True when this request started the run.")


class DistributionStatus(BaseModel):
    run: DistributionRun
    batches: list[BatchProgress]
    prizes_by_status: dict[str, int]


class RefusedPrize(BaseModel):
    user_id: str
    rule_index: int
    type: str
    amount: DecimalStr
    reason: str


class RollbackResult(BaseModel):
    run: DistributionRun
    rolled_back: int = Field(description="Prizes this request turned ROLLED_BACK; 0 when repeating a complete one.")
    rolled_back_total: int = Field(description="Prizes of this distribution ROLLED_BACK so far, by any request.")
    refused: list[RefusedPrize]


class RollbackRequest(ApiModel):
    reason: Reason = Field(description="Why; stored in the audit trail.")
