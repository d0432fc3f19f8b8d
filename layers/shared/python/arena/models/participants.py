"""A user's place in an event."""

from __future__ import annotations

from pydantic import BaseModel, Field

from arena.models.common import DecimalStr, ModerationReason, UtcDatetime


class ParticipantOut(BaseModel):
    event_id: str
    user_id: str
    joined_at: UtcDatetime
    score: DecimalStr
    volume: DecimalStr
    pnl: DecimalStr
    fees: DecimalStr
    trade_count: int
    first_trade_at: UtcDatetime | None
    last_trade_at: UtcDatetime | None
    qualified: bool = Field(description="Meets the event's minimum volume and trades (eligible for prizes).")
    disqualified: bool
    disqualified_reason: str | None = None


class ModerationRequest(BaseModel):
    reason: ModerationReason = Field(description="Why; kept in the audit trail.")
