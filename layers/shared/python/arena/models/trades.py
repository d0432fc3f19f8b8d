"""The trade feed: what the exchange posts and what it is told back."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from arena.models.common import (
    ApiModel,
    DecimalStr,
    NonNegativeDecimalStr,
    PositiveDecimalStr,
    UtcDatetime,
)
from arena.models.events import Market

Identifier = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")


class TradeIn(ApiModel):
    trade_id: str = Identifier
    user_id: str = Identifier
    market: Market
    side: Literal["buy", "sell"]
    quantity: PositiveDecimalStr
    price: PositiveDecimalStr
    executed_at: UtcDatetime
    realized_pnl: DecimalStr | None = None
    fee: NonNegativeDecimalStr | None = None
    # Who took the other side (the exchange's user id), when the feed knows it: Arena's fraud checks look for one
    # counterparty on most of a user's volume.
    counterparty_id: str | None = Field(default=None, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@\-]+$")


class TradeBatchIn(BaseModel):
    """Trades are validated one by one (a bad trade is reported, the rest still count), so items stay raw here."""

    trades: list[Any] = Field(min_length=1, max_length=500)


class RejectedTrade(BaseModel):
    index: int = Field(description="Position of the trade in the request.")
    trade_id: str | None
    code: str
    message: str


class IgnoredTrade(BaseModel):
    index: int
    trade_id: str
    reason: str = Field(description="Why the trade counts for no event: no_live_event, not_joined, ...")


class TradeBatchResult(BaseModel):
    received: int
    accepted: int = Field(description="Trades counted for at least one event for the first time.")
    duplicates: int = Field(description="Trades already counted for every event they match; nothing changed.")
    ignored: list[IgnoredTrade] = Field(description="Valid trades that count for no event.")
    rejected: list[RejectedTrade] = Field(description="Invalid trades, with the reason; nothing of them was stored.")
