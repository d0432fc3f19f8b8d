"""Events: what an admin sends to create or change a competition, and what everyone reads back."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from arena.domain.events import EventStatus, RankingMetric
from arena.models.common import (
    ApiModel,
    NonNegativeDecimalStr,
    Page,
    PositiveDecimalStr,
    UtcDatetime,
)

MARKET_PATTERN = re.compile(r"^[A-Z0-9]{1,20}([-/_][A-Z0-9]{1,20})?$")


def _market(value: str) -> str:
    value = value.strip().upper()
    if not MARKET_PATTERN.match(value):
        raise ValueError("must look like BTC-USDT")
    return value


Market = Annotated[str, AfterValidator(_market)]


class PrizeTier(ApiModel):
    rank_from: int = Field(ge=1, le=1_000_000)
    rank_to: int = Field(ge=1, le=1_000_000)
    type: Literal["points", "token", "custom"]
    amount: PositiveDecimalStr | None = Field(default=None, description="Per rank; required for points and token.")
    token: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,15}$", description="Token symbol for token prizes.")
    description: str | None = Field(default=None, max_length=500, description="What a custom reward is.")

    @model_validator(mode="after")
    def _consistent(self) -> PrizeTier:
        if self.rank_to < self.rank_from:
            raise ValueError("rank_to must be at least rank_from")
        if self.type in ("points", "token") and self.amount is None:
            raise ValueError(f"a {self.type} prize needs an amount")
        if self.type == "token" and not self.token:
            raise ValueError("a token prize needs a token symbol")
        if self.type == "custom" and not self.description:
            raise ValueError("a custom prize needs a description")
        return self


def _no_overlap(tiers: list[PrizeTier]) -> list[PrizeTier]:
    ordered = sorted(tiers, key=lambda t: t.rank_from)
    for before, after in pairwise(ordered):
        if after.rank_from <= before.rank_to:
            raise ValueError(f"prize tiers overlap at rank {after.rank_from}")
    return ordered


PrizeTable = Annotated[list[PrizeTier], Field(max_length=100), AfterValidator(_no_overlap)]


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
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    start_at: UtcDatetime
    end_at: UtcDatetime
    ranking_metric: RankingMetric = RankingMetric.VOLUME
    markets: Markets = Field(default_factory=list, description="Empty means every market counts.")
    join_required: bool = True
    max_participants: int | None = Field(default=None, ge=1, le=10_000_000)
    qualification: Qualification = Field(default_factory=Qualification)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    prizes: PrizeTable = Field(default_factory=list)
    claim: ClaimSettings = Field(default_factory=ClaimSettings)
    managers: UserIds = Field(default_factory=list, description="Event managers assigned to this event (admin only).")
    milestones: Milestones = Field(default_factory=Milestones)


class EventPatch(ApiModel):
    """Only the fields sent change. `version` is the one read; a stale version is refused with 409."""

    version: int = Field(ge=1)
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=4000)
    start_at: UtcDatetime | None = None
    end_at: UtcDatetime | None = None
    ranking_metric: RankingMetric | None = None
    markets: Markets | None = None
    join_required: bool | None = None
    max_participants: int | None = Field(default=None, ge=1, le=10_000_000)
    qualification: Qualification | None = None
    eligibility: Eligibility | None = None
    prizes: PrizeTable | None = None
    claim: ClaimSettings | None = None
    managers: UserIds | None = None
    milestones: Milestones | None = None


class EventCancel(ApiModel):
    reason: str = Field(min_length=1, max_length=500)


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
