"""A user's place in an event."""

from __future__ import annotations

from pydantic import BaseModel

from arena.models.common import DecimalStr, UtcDatetime


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
