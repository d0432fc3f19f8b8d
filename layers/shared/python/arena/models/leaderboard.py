"""Leaderboard pages and a participant's own standing."""

from __future__ import annotations

from pydantic import BaseModel, Field

from arena.domain.events import RankingMetric
from arena.models.common import DecimalStr, UtcDatetime


class LeaderboardEntry(BaseModel):
    rank: int
    user_id: str
    score: DecimalStr
    trade_count: int


class LeaderboardPage(BaseModel):
    event_id: str
    ranking_metric: RankingMetric
    entries: list[LeaderboardEntry]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
    updated_at: UtcDatetime


class MyStanding(BaseModel):
    event_id: str
    user_id: str
    ranked: bool = Field(description="False until the first counted trade.")
    rank: int | None
    score: DecimalStr
    trade_count: int
    above: list[LeaderboardEntry] = Field(description="Up to `around` entries ranked just above, best first.")
    below: list[LeaderboardEntry] = Field(description="Up to `around` entries ranked just below, best first.")
    updated_at: UtcDatetime
