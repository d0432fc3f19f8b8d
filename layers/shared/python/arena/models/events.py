"""Events: what an admin sends to create or change a competition, and what everyone reads back."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Discriminator, Field, Tag, field_validator, model_validator

from arena.domain import prizes
from arena.domain.events import EventStatus, RankingMetric
from arena.models.common import (
    ApiModel,
    EventDescription,
    EventName,
    NonNegativeDecimalStr,
    Page,
    PositiveDecimalStr,
    PrizeDescription,
    Reason,
    UtcDatetime,
)

MARKET_PATTERN = re.compile(r"^[A-Z0-9]{1,20}([-/_][A-Z0-9]{1,20})?$")


def _market(value: str) -> str:
    value = value.strip().upper()
    if not MARKET_PATTERN.match(value):
        raise ValueError("must look like BTC-USDT")
    return value


Market = Annotated[str, AfterValidator(_market)]


# What each split of a tier needs and allows, besides the ranks, the type, the token and the description.
_SPLIT_FIELDS: dict[str, tuple[str, ...]] = {
    "each": ("amount",),
    "shared": ("pool",),
    "pro_rata": ("pool",),
    "growing": ("base", "per_participant", "maximum", "pool_split"),
}
_AMOUNT_FIELDS = ("amount", "pool", "base", "per_participant", "maximum", "pool_split")


class PrizeTier(ApiModel):
    """A rank range and how it is paid (``split``). Every amount is in the tier's currency: points, the token, or
    for custom prizes one unit (a description an admin fulfils) per rank."""

    rank_from: int = Field(ge=1, le=1_000_000)
    rank_to: int = Field(ge=1, le=1_000_000)
    type: Literal["points", "token", "custom"]
    split: Literal["each", "shared", "pro_rata", "growing"] = Field(
        default="each",
        description="each: every rank gets `amount`; shared: the ranks share `pool` equally; pro_rata: those placed "
        "in the range share `pool` by score; growing: `pool` = min(maximum, base + per_participant * eligible "
        "participants), shared as `pool_split` says.",
    )
    amount: PositiveDecimalStr | None = Field(default=None, description="split each: per rank (points and token).")
    pool: PositiveDecimalStr | None = Field(default=None, description="split shared or pro_rata: the whole pool.")
    base: NonNegativeDecimalStr | None = Field(default=None, description="split growing: the pool at 0 (default 0).")
    per_participant: NonNegativeDecimalStr | None = Field(
        default=None, description="split growing: added per eligible participant."
    )
    maximum: PositiveDecimalStr | None = Field(default=None, description="split growing: the pool never exceeds it.")
    pool_split: Literal["equal", "pro_rata"] | None = Field(
        default=None, description="split growing: share the pool equally by rank (default) or by score."
    )
    token: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,15}$", description="Token symbol for token prizes.")
    description: PrizeDescription | None = Field(default=None, description="What a custom reward is.")

    @model_validator(mode="after")
    def _consistent(self) -> PrizeTier:
        if self.rank_to < self.rank_from:
            raise ValueError("rank_to must be at least rank_from")
        if self.type == "token" and not self.token:
            raise ValueError("a token prize needs a token symbol")
        if self.type == "custom" and not self.description:
            raise ValueError("a custom prize needs a description")
        if self.type == "custom" and self.split != "each":
            raise ValueError("a custom prize is one unit per rank: only split each")
        allowed = _SPLIT_FIELDS[self.split]
        stray = [name for name in _AMOUNT_FIELDS if name not in allowed and getattr(self, name) is not None]
        if stray:
            raise ValueError(f"split {self.split} takes no {', '.join(stray)}")
        if self.split == "each" and self.type in ("points", "token") and self.amount is None:
            raise ValueError(f"a {self.type} prize needs an amount")
        if self.split in ("shared", "pro_rata") and self.pool is None:
            raise ValueError(f"split {self.split} needs a pool")
        if self.split == "growing":
            if self.per_participant is None or self.maximum is None:
                raise ValueError("split growing needs per_participant and maximum")
            base = self.base if self.base is not None else Decimal(0)
            if base == 0 and self.per_participant == 0:
                raise ValueError("split growing: the pool never grows above 0 (base and per_participant are 0)")
            if self.maximum < base:
                raise ValueError("split growing: the maximum must be at least the base")
        return self


def _no_overlap(tiers: list[PrizeTier]) -> list[PrizeTier]:
    ordered = sorted(tiers, key=lambda t: t.rank_from)
    for before, after in pairwise(ordered):
        if after.rank_from <= before.rank_to:
            raise ValueError(f"prize tiers overlap at rank {after.rank_from}")
    return ordered


PrizeTable = Annotated[list[PrizeTier], Field(max_length=100), AfterValidator(_no_overlap)]

CURRENCY_NAME = re.compile(r"^(points|token:[A-Z0-9]{1,15})$")


def _currency_name(value: str) -> str:
    if not CURRENCY_NAME.match(value):
        raise ValueError('must be "points" or "token:<SYMBOL>", e.g. "token:USDT"')
    return value


CurrencyName = Annotated[str, AfterValidator(_currency_name)]
PerCurrency = Annotated[
    Annotated[PositiveDecimalStr, Tag("all")]
    | Annotated[dict[CurrencyName, PositiveDecimalStr], Field(max_length=20), Tag("per_currency")],
    # tagged, so a bad value is reported against the one shape it was meant to have, not against both
    Discriminator(lambda value: "per_currency" if isinstance(value, dict) else "all"),
]


class PrizeSettings(ApiModel):
    """Event-wide rules of the prize table, each one decimal for every points and token currency or per currency
    (keys "points", "token:USDT"; a currency not named: no cap, the default quantum). Custom prizes: neither."""

    cap_per_user: PerCurrency | None = Field(
        default=None, description='The most one user is paid in a currency, e.g. "5000" or {"token:USDT": "100"}.'
    )
    quantum: PerCurrency | None = Field(
        default=None,
        description="The smallest unit paid (default 0.00000001): shares are rounded DOWN to it, per user and "
        "currency, and the dust goes to the treasury. Per-rank amounts and caps must be multiples of it; a shared "
        "pool must give each rank at least one.",
    )

    def table(self, tiers: list[PrizeTier]) -> prizes.PrizeTable:
        """The domain's prize table of these tiers under these settings."""
        return prizes.from_tiers(tiers, cap_per_user=self.cap_per_user, quantum=self.quantum)


def prize_table_problems(tiers: list[PrizeTier], settings: PrizeSettings) -> list[str]:
    """Everything wrong with the tiers under the settings that a single tier cannot see (amounts off the quantum,
    a pool share below it, a cap below it), in words naming the tier as `prizes[i]`; [] when distributable."""
    problems: list[str] = []
    for problem in prizes.validate(settings.table(tiers)):
        match = re.match(r"^rule (\d+): (.*)$", problem)
        if match:
            tier = tiers[int(match[1])]
            problem = f"prizes[{match[1]}] (ranks {tier.rank_from}-{tier.rank_to}): {match[2]}"
        problems.append(problem)
    paid_in = {f"token:{t.token}" if t.type == "token" else t.type for t in tiers}
    for name, value in (("cap_per_user", settings.cap_per_user), ("quantum", settings.quantum)):
        if isinstance(value, dict):
            problems.extend(
                f"prize_settings.{name} names {currency}, which no prize tier pays"
                for currency in value
                if currency not in paid_in
            )
    return problems


class Qualification(ApiModel):
    min_volume: NonNegativeDecimalStr = Decimal(0)
    min_trades: int = Field(default=0, ge=0, le=10_000_000)


class Eligibility(ApiModel):
    min_kyc_level: int = Field(default=0, ge=0, le=10)
    excluded_account_types: list[str] = Field(default_factory=list, max_length=20)


class ClaimSettings(ApiModel):
    mode: Literal["auto", "manual"] = "auto"
    window_days: int = Field(default=14, ge=1, le=365)


Markets = Annotated[list[Market], Field(max_length=200)]
UserIds = Annotated[list[Annotated[str, Field(min_length=1, max_length=128)]], Field(max_length=50)]


class Milestones(ApiModel):
    """Event-wide thresholds announced once each on the event's real-time topic when crossed."""

    volume: list[PositiveDecimalStr] = Field(default_factory=list, max_length=20, description="Total traded volume.")
    participants: list[int] = Field(default_factory=list, max_length=20, description="Ranked participants.")

    @field_validator("participants")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        if any(v < 1 for v in values):
            raise ValueError("participant thresholds must be at least 1")
        return sorted(set(values))


class EventCreate(ApiModel):
    name: EventName
    description: EventDescription = ""
    start_at: UtcDatetime
    end_at: UtcDatetime
    ranking_metric: RankingMetric = RankingMetric.VOLUME
    markets: Markets = Field(default_factory=list, description="Empty means every market counts.")
    join_required: bool = True
    max_participants: int | None = Field(default=None, ge=1, le=10_000_000)
    qualification: Qualification = Field(default_factory=Qualification)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    prizes: PrizeTable = Field(default_factory=list)
    prize_settings: PrizeSettings = Field(default_factory=PrizeSettings)
    claim: ClaimSettings = Field(default_factory=ClaimSettings)
    managers: UserIds = Field(default_factory=list, description="Event managers assigned to this event (admin only).")
    milestones: Milestones = Field(default_factory=Milestones)


class EventPatch(ApiModel):
    """Only the fields sent change. `version` is the one read; a stale version is refused with 409."""

    version: int = Field(ge=1)
    name: EventName | None = None
    description: EventDescription | None = None
    start_at: UtcDatetime | None = None
    end_at: UtcDatetime | None = None
    ranking_metric: RankingMetric | None = None
    markets: Markets | None = None
    join_required: bool | None = None
    max_participants: int | None = Field(default=None, ge=1, le=10_000_000)
    qualification: Qualification | None = None
    eligibility: Eligibility | None = None
    prizes: PrizeTable | None = None
    prize_settings: PrizeSettings | None = None
    claim: ClaimSettings | None = None
    managers: UserIds | None = None
    milestones: Milestones | None = None


class EventCancel(ApiModel):
    reason: Reason


class Event(BaseModel):
    """An event as stored and as read back. `status` is stored; services return the clock's effective status."""

    id: str
    name: str
    description: str
    status: EventStatus
    start_at: UtcDatetime
    end_at: UtcDatetime
    ranking_metric: RankingMetric
    markets: list[str]
    join_required: bool
    max_participants: int | None = None
    participant_count: int
    qualification: Qualification
    eligibility: Eligibility
    prizes: list[PrizeTier]
    prize_settings: PrizeSettings = Field(default_factory=PrizeSettings)
    claim: ClaimSettings
    managers: list[str]
    created_by: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    version: int
    cancel_reason: str | None = None
    milestones: Milestones = Field(default_factory=Milestones)


class EventPage(Page[Event]):
    """A page of the event catalogue."""
