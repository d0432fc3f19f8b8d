"""The points ledger as the API shows it: a user's balance and their entry lines."""

from __future__ import annotations

from pydantic import BaseModel, Field

from arena.models.common import DecimalStr, UtcDatetime


class PointsEntry(BaseModel):
    posting_id: str = Field(description="The posting this line belongs to; the same id on every account it moved.")
    amount: DecimalStr = Field(description="Positive: credited to you; negative: debited from you.")
    kind: str = Field(description='What moved the points, e.g. "prize_credit", "prize_rollback", "adjustment".')
    memo: str | None = None
    at: UtcDatetime
    counter_accounts: list[str] = Field(
        description='The posting\'s other accounts, e.g. ["event-pool:<event id>"] for a prize.'
    )


class MyPoints(BaseModel):
    account: str = Field(description='Your ledger account, "user:<your user id>".')
    balance: DecimalStr = Field(description="Your points now: the sum of all your entries, never negative.")
    entries: list[PointsEntry] = Field(description="Your entry lines, newest first.")
    next_cursor: str | None = Field(description="Pass as `cursor` for older entries; null at the end.")
