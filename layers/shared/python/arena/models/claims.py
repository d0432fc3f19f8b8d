"""Prize claims as the API shows them: my prizes, a claim's outcome, the claim history, the review queue, payout
callbacks and account flags. Amounts are decimal strings."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from arena.domain.statuses import PrizeStatus
from arena.models.common import ApiModel, DecimalStr, Note, Reason, Reference, UtcDatetime


class MyPrize(BaseModel):
    prize_id: str = Field(description="Opaque and stable; claim it with POST /api/events/prizes/{prizeId}/claim.")
    event_id: str
    event_name: str | None = None
    type: Literal["points", "token", "custom"]
    token: str | None = None
    description: str | None = None
    amount: DecimalStr
    prize_rank: int
    status: PrizeStatus
    claim_deadline: UtcDatetime | None = Field(default=None, description="Claim before this instant (manual mode).")
    claimable: bool = Field(description="CLAIMABLE and the deadline not passed: a claim now would be accepted.")


class MyPrizes(BaseModel):
    prizes: list[MyPrize] = Field(description="Claimable prizes first (earliest deadline first), then pending ones.")


class ClaimRequest(ApiModel):
    """Optional context for the claim; part of what an Idempotency-Key stands for (the same key with another body
    is refused)."""

    note: Note | None = Field(default=None, description="Free text kept in the claim history.")


class ClaimResult(BaseModel):
    claim_id: str = Field(description="The claim's id: its ledger idempotency key and its payout id.")
    prize_id: str
    event_id: str
    type: Literal["points", "token", "custom"]
    amount: DecimalStr
    status: PrizeStatus = Field(
        description="CLAIMED (points credited), PAYOUT_REQUESTED (token), CUSTOM_PENDING (custom, an admin fulfils"
        " it) or IN_REVIEW (held for a review; an admin approves or rejects it)."
    )
    claimed_at: UtcDatetime


class HistoryEntry(BaseModel):
    at: UtcDatetime
    action: str = Field(description="claim, review, payout, fulfil or expire")
    outcome: str = Field(description="The prize's status after it, or REFUSED.")
    prize_id: str | None = None
    event_id: str | None = None
    type: str | None = None
    amount: DecimalStr | None = None
    reason: str | None = Field(default=None, description="Why: the refusal's code, the reviewer's reason, ...")
    actor: str = Field(description="Who: the user, an admin or the service.")


class ClaimHistory(BaseModel):
    entries: list[HistoryEntry] = Field(description="Newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for older entries; null at the end.")


class ReviewItem(BaseModel):
    prize_id: str
    claim_id: str
    event_id: str
    user_id: str
    type: Literal["points", "token", "custom"]
    amount: DecimalStr
    reasons: list[str]
    queued_at: UtcDatetime


class ReviewQueue(BaseModel):
    items: list[ReviewItem] = Field(description="Oldest first.")
    next_cursor: str | None


class ReviewDecision(ApiModel):
    decision: Literal["approve", "reject"]
    reason: Reason


class FulfilRequest(ApiModel):
    reason: Reason = Field(description="What was delivered, how; kept in the history.")


class PayoutOutcome(ApiModel):
    outcome: Literal["PAID", "FAILED"]
    reference: Reference | None = Field(default=None, description="The wallet's transfer reference.")
    reason: Reason | None = Field(default=None, description="Why it failed.")


class PrizeState(BaseModel):
    prize_id: str
    event_id: str
    user_id: str
    type: Literal["points", "token", "custom"]
    amount: DecimalStr
    status: PrizeStatus


class AccountFlag(ApiModel):
    flagged: bool = Field(description="True: this account's claims go to review; false clears the flag.")
    reason: Reason


class AccountFlagState(BaseModel):
    user_id: str
    flagged: bool
    reason: str
    set_by: str
    set_at: UtcDatetime
