"""Leaderboard pages and a participant's own standing, read from the materialised snapshot."""

from __future__ import annotations

from pydantic import BaseModel, Field

from arena.domain.events import RankingMetric
from arena.models.common import DecimalStr, UtcDatetime


class LeaderboardEntry(BaseModel):
    rank: int = Field(description="1-based among everyone on the board; dense, ties broken by who got there first.")
    prize_rank: int | None = Field(description="1-based among qualified participants; null when not qualified.")
    handle: str | None = Field(
        description="The trader's public handle (stable; never the user id); null when the community feature is "
        "not set up on this stack. A WebSocket client finds its own row by it."
    )
    name: str = Field(description="The display name of a trader who opted in to a public profile, else anonymised.")
    colour: str = Field(description="Avatar colour, #rrggbb.")
    initials: str
    me: bool = Field(default=False, description="True on the caller's own row.")
    user_id: str | None = Field(
        default=None,
        description="Only for admins, the event's managers and the exchange's service client; null for everyone else.",
    )
    score: DecimalStr
    trade_count: int
    qualified: bool = Field(description="Meets the event's minimum volume and trades; only qualified ranks win.")


class LeaderboardPage(BaseModel):
    event_id: str
    ranking_metric: RankingMetric
    entries: list[LeaderboardEntry]
    total: int = Field(description="Participants on the board in this snapshot.")
    version: int = Field(
        default=0,
        description="The snapshot's generation: WebSocket `leaderboard` pushes carry the same number as `version`, so "
        "a client can tell whether a page it read is older than a push it got.",
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null at the end.")
    updated_at: UtcDatetime | None = Field(description="When the snapshot was taken (null before the first trade).")


class MyStanding(BaseModel):
    event_id: str
    user_id: str
    handle: str | None = Field(description="My public handle (how my row is named in leaderboard pushes).")
    name: str = Field(description="How others see my name now.")
    ranked: bool = Field(description="False until the first counted trade reaches the snapshot, or while disqualified.")
    rank: int | None
    prize_rank: int | None
    score: DecimalStr = Field(description="Your live score.")
    trade_count: int
    qualified: bool
    missing: dict[str, DecimalStr] = Field(
        description='What is still needed to qualify for prizes, e.g. {"volume": "250.5", "trades": "2"}.'
    )
    disqualified: bool
    disqualified_reason: str | None = None
    above: list[LeaderboardEntry] = Field(description="Up to `around` entries ranked just above, best first.")
    below: list[LeaderboardEntry] = Field(description="Up to `around` entries ranked just below, best first.")
    updated_at: UtcDatetime | None
