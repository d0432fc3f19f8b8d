"""The trade feed: what the exchange posts and what it is told back."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainValidator

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


# Documented as a TradeIn, kept raw: each trade is validated on its own so a bad one is reported in `rejected`
# while the rest of the batch still counts.
RawTrade = Annotated[Any, PlainValidator(lambda value: value, json_schema_input_type=TradeIn)]


class TradeBatchIn(BaseModel):
    """Trades are validated one by one (a bad trade is reported, the rest still count), so items stay raw here."""

    trades: list[RawTrade] = Field(min_length=1, max_length=500)


class RejectedTrade(BaseModel):
    index: int = Field(description="Position of the trade in the request.")
    trade_id: str | None
    code: str
    message: str


class IgnoreReason(StrEnum):
    """Why a valid trade counts for no event; an ignored trade lists every reason that applies."""

    NO_LIVE_EVENT = "no_live_event"  # no event taking trades (active, or in its grace) covers executed_at
    MARKET_NOT_IN_EVENT = "market_not_in_event"  # an event covers executed_at but does not take this market
    NOT_JOINED = "not_joined"  # an event takes the trade but requires joining, and the trader has not joined


IGNORED_REASONS_TEXT = (
    "Why the trade counts for no event: every reason that applies, sorted and comma-separated. "
    "no_live_event: no event taking trades (active, or in its grace period) covers executed_at; "
    "market_not_in_event: an event covers executed_at but does not take this market; "
    "not_joined: an event takes the trade but requires joining and the trader has not joined."
)


class IgnoredTrade(BaseModel):
    index: int
    trade_id: str
    reason: str = Field(description=IGNORED_REASONS_TEXT)


class TradeBatchResult(BaseModel):
    received: int
    accepted: int = Field(description="Trades counted for at least one event for the first time.")
    duplicates: int = Field(description="Trades already counted for every event they match; nothing changed.")
    ignored: list[IgnoredTrade] = Field(description="Valid trades that count for no event.")
    rejected: list[RejectedTrade] = Field(description="Invalid trades, with the reason; nothing of them was stored.")
