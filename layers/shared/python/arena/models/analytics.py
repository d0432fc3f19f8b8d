"""Analytics as the API returns it: an event's performance (live or its post-event snapshot), the dashboard, the
participation trends, the volume analysis, a comparison, and the per-currency price table prize costs use.

Every amount and every rate is a decimal string; a metric that cannot be computed (zero denominator, unknown
input) is null. The definitions are in arena/domain/analytics.py and README "Analytics"."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from arena.domain.events import EventStatus
from arena.domain.rollups import Resolution
from arena.models.common import ApiModel, DecimalStr, PositiveDecimalStr, PrizeDescription, Reason, UtcDatetime

# ------------------------------------------------------------------------------------------------ price table

MAX_PRICES = 100


class CurrencyPrice(ApiModel):
    """The price of one unit of a prize currency, in the exchange's quote currency."""

    type: Literal["points", "token", "custom"]
    token: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,15}$", description="Token prizes: the symbol.")
    description: PrizeDescription | None = Field(
        default=None, description="Custom prizes: the reward, as in the table."
    )
    price: PositiveDecimalStr

    @model_validator(mode="after")
    def _names_one_currency(self) -> CurrencyPrice:
        if (self.type == "token") != (self.token is not None):
            raise ValueError("token prizes, and only they, name a token")
        if (self.type == "custom") != (self.description is not None):
            raise ValueError("custom prizes, and only they, name a description")
        return self

    @property
    def currency(self) -> str:
        """The currency's name as the distribution counts it: points, token:<SYMBOL>, custom:<description>."""
        if self.type == "token":
            return f"token:{self.token}"
        if self.type == "custom":
            return f"custom:{self.description}"
        return "points"


class PriceTableUpdate(ApiModel):
    """The whole table, replacing the current one (a currency left out has no price afterwards)."""

    prices: list[CurrencyPrice] = Field(max_length=MAX_PRICES)
    version: int = Field(ge=0, le=1_000_000_000, description="The version read (0: no table yet); 409 if it moved.")
    reason: Reason = Field(description="Why; stored in the audit trail.")

    @model_validator(mode="after")
    def _one_price_per_currency(self) -> PriceTableUpdate:
        names = [p.currency for p in self.prices]
        if len(names) != len(set(names)):
            raise ValueError("a currency appears twice")
        return self


class PricedCurrency(BaseModel):
    currency: str = Field(description="points, token:<SYMBOL> or custom:<description>")
    price: DecimalStr


class PriceTable(BaseModel):
    prices: list[PricedCurrency]
    version: int = Field(description="0 until an admin sets the table.")
    updated_by: str | None = None
    updated_at: UtcDatetime | None = None


# ------------------------------------------------------------------------------------------------ building blocks


class TallyOut(BaseModel):
    volume: DecimalStr
    trades: int
    fees: DecimalStr
    buy_volume: DecimalStr
    sell_volume: DecimalStr


class SeriesPointOut(BaseModel):
    start: UtcDatetime
    volume: DecimalStr
    trades: int
    fees: DecimalStr
    buy_volume: DecimalStr
    sell_volume: DecimalStr
    traders: int = Field(description="Distinct participants who traded in the bucket (estimate for large events).")
    market_traders: int = Field(description="Distinct traders of the event's markets in the bucket.")
    joins: int


class Series(BaseModel):
    resolution: Resolution
    start: UtcDatetime = Field(description="The range asked (`from`).")
    end: UtcDatetime = Field(description="The range asked (`to`, exclusive).")
    points: list[SeriesPointOut]
    next_cursor: str | None = Field(default=None, description="The rest of the range: pass as `cursor`.")


class ShareOut(BaseModel):
    key: str = Field(description="The market, or the UTC hour 0..23.")
    volume: DecimalStr
    trades: int
    fees: DecimalStr
    share: DecimalStr | None = Field(description="Of the volume shown; null when it is 0.")


class DecileOut(BaseModel):
    decile: int
    traders: int
    min_volume: DecimalStr | None
    max_volume: DecimalStr | None
    volume: DecimalStr
    share: DecimalStr | None


class DuringRetentionOut(BaseModel):
    active_first_quarter: int
    retained: int
    rate: DecimalStr | None


class RetentionOut(BaseModel):
    days: int
    participants: int
    participants_retained: int
    participants_rate: DecimalStr | None
    non_participants: int | None = Field(description="null: only a sketch of the market's traders is kept.")
    non_participants_retained: int | None
    non_participants_rate: DecimalStr | None
    complete: bool = Field(description="False while the N days after the end are not all over.")


class LiftOut(BaseModel):
    event_days: int
    during_daily_volume: DecimalStr | None
    before_daily_volume: DecimalStr | None
    lift: DecimalStr | None = Field(description="during / before - 1 (0.35 = +35%).")
    incremental_volume: DecimalStr


class PrizeCostOut(BaseModel):
    amounts: dict[str, DecimalStr] = Field(description="Awarded per currency.")
    values: dict[str, DecimalStr] = Field(description="amount * price, per priced currency.")
    cost: DecimalStr
    unpriced: list[str] = Field(description="Awarded currencies without a price: left out of `cost`.")
    complete: bool
    projected: bool = Field(description="True while the event runs: what the table would pay if it ended now.")


class EffectivenessOut(BaseModel):
    per_incremental_volume: DecimalStr | None
    per_retained_trader: DecimalStr | None
    per_new_trader: DecimalStr | None


class RoiOut(BaseModel):
    fee_rate: DecimalStr | None
    incremental_fees: DecimalStr | None
    roi: DecimalStr | None


class Winner(BaseModel):
    rank: int
    user_id: str
    score: DecimalStr


class EventMetrics(BaseModel):
    """Every metric of one event (definitions: README "Analytics")."""

    event_id: str
    name: str
    status: EventStatus
    start_at: UtcDatetime
    end_at: UtcDatetime
    markets: list[str]
    totals: TallyOut
    participants: int = Field(description="Joined.")
    traders: int = Field(description="Participants who traded the event's markets during its window.")
    market_traders: int = Field(description="Everyone who traded the event's markets during its window.")
    joins: int
    participation_rate: DecimalStr | None
    retention_during: DuringRetentionOut
    lift: LiftOut
    new_traders: int
    prize_cost: PrizeCostOut
    effectiveness: EffectivenessOut
    roi: RoiOut
    top_pairs: list[ShareOut]
    hour_of_day: list[ShareOut]
    volume_deciles: list[DecileOut]
    winners: list[Winner] = Field(description="The final top ranks (completed events).")
    rollups_consistent: bool = Field(
        description="The rollups count as many trades as the participants' totals (false: the rollups lag)."
    )
    computed_at: UtcDatetime


class EventPerformance(BaseModel):
    source: Literal["live", "snapshot"] = Field(
        description="snapshot: the immutable document written when the event completed; live: computed now."
    )
    metrics: EventMetrics
    retention_after: list[RetentionOut] = Field(
        description="1, 7 and 30 days after the end (computed on read: it changes for 30 days after the end)."
    )
    series: Series


# ------------------------------------------------------------------------------------------------ across events


class EventSummaryOut(BaseModel):
    event_id: str
    name: str
    status: EventStatus
    start_at: UtcDatetime
    end_at: UtcDatetime
    volume: DecimalStr
    trades: int
    fees: DecimalStr
    participants: int
    traders: int
    market_traders: int
    participation_rate: DecimalStr | None
    retention_during: DecimalStr | None = Field(description="Completed events (snapshot); null while running.")
    lift: DecimalStr | None = None
    prize_cost: DecimalStr | None = None
    roi: DecimalStr | None = None


class Dashboard(BaseModel):
    live: list[EventSummaryOut] = Field(description="Events running now (started, not yet COMPLETED).")
    recent: list[EventSummaryOut] = Field(description="Events completed in the last `days` days, latest end first.")
    totals: TallyOut = Field(description="The shown events' trades over the last `days` days (the sum of `daily`).")
    participants: int
    participation_rate: DecimalStr | None = Field(description="Sum of traders / sum of market traders.")
    daily: list[SeriesPointOut] = Field(description="Volume per UTC day over the last `days` days, all shown events.")
    next_cursor: str | None = None


class TrendPoint(BaseModel):
    event_id: str
    name: str
    start_at: UtcDatetime
    end_at: UtcDatetime
    status: EventStatus
    participants: int
    traders: int
    market_traders: int
    participation_rate: DecimalStr | None
    retention_during: DecimalStr | None


class ParticipationTrends(BaseModel):
    start: UtcDatetime = Field(description="The range asked (`from`).")
    end: UtcDatetime = Field(description="The range asked (`to`, exclusive).")
    events: list[TrendPoint] = Field(description="Events starting in the range, earliest first.")
    participation_rate: DecimalStr | None = Field(description="Over every event listed: traders / market traders.")
    meets_target: bool | None = Field(description="participation_rate > 0.15 (the growth team's target).")
    next_cursor: str | None = None


class VolumeAnalysis(BaseModel):
    start: UtcDatetime = Field(description="The range asked (`from`).")
    end: UtcDatetime = Field(description="The range asked (`to`, exclusive).")
    resolution: Resolution
    events: list[str] = Field(description="The events summed (their windows overlap the range).")
    totals: TallyOut
    series: list[SeriesPointOut]
    top_pairs: list[ShareOut]
    hour_of_day: list[ShareOut]
    truncated: bool = Field(description="More events overlap the range than one analysis sums (the limit).")


class Comparison(BaseModel):
    events: list[EventSummaryOut]
    best: dict[str, str | None] = Field(description="Per metric, the event with the highest value.")


# ------------------------------------------------------------------------------------------------ live


class LiveEventMetrics(BaseModel):
    """What the admin topic carries per running event, every minute."""

    event_id: str
    minute: UtcDatetime
    volume_per_minute: DecimalStr
    trades_per_minute: int
    active_traders: int
    participation_rate: DecimalStr | None
    volume: DecimalStr
    connected_clients: int = Field(
        default=0,
        description="WebSocket connections watching the event now (subscribed to any of its topics: leaderboard, "
        "event, trades, chat), each counted once.",
    )
