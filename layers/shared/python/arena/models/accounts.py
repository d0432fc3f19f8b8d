"""The exchange's account feed for ROI events: starting equity and the deposits and withdrawals after it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainValidator

from arena.models.common import ApiModel, PositiveDecimalStr, UtcDatetime
from arena.models.trades import Identifier


class EquityUpdateIn(ApiModel):
    update_id: str = Identifier
    user_id: str = Identifier
    kind: Literal["starting_equity", "deposit", "withdrawal"] = Field(
        description="starting_equity replaces the base (the latest `at` wins); deposits and withdrawals add up."
    )
    amount: PositiveDecimalStr
    at: UtcDatetime


# Documented as an EquityUpdateIn, kept raw: each update is validated on its own and a bad one is reported in
# `rejected` while the rest still apply.
RawEquityUpdate = Annotated[Any, PlainValidator(lambda value: value, json_schema_input_type=EquityUpdateIn)]


class EquityBatchIn(BaseModel):
    updates: list[RawEquityUpdate] = Field(min_length=1, max_length=500)


class RejectedUpdate(BaseModel):
    index: int
    update_id: str | None
    code: str
    message: str


class IgnoredUpdate(BaseModel):
    index: int
    update_id: str
    reason: str = Field(description="no_roi_event (no live ROI event takes it) or not_joined.")


class EquityBatchResult(BaseModel):
    received: int
    applied: int = Field(description="Updates applied to at least one ROI event for the first time.")
    duplicates: int = Field(description="Updates already applied to every event they match; nothing changed.")
    ignored: list[IgnoredUpdate]
    rejected: list[RejectedUpdate]
