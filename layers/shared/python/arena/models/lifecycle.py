"""Admin lifecycle actions: start or end an event now, or extend it, each with a reason (audited)."""

from __future__ import annotations

from pydantic import Field

from arena.models.common import ApiModel, UtcDatetime


class LifecycleAction(ApiModel):
    reason: str = Field(min_length=1, max_length=500, description="Why; stored in the audit trail.")


class EventExtend(ApiModel):
    end_at: UtcDatetime = Field(description="The new end: later than the current one.")
    reason: str = Field(min_length=1, max_length=500, description="Why; stored in the audit trail.")
