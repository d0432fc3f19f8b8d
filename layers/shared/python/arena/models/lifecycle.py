"""Admin lifecycle actions: start or end an event now, or extend it, each with a reason (audited)."""

from __future__ import annotations

from pydantic import Field

from arena.models.common import ApiModel, Reason, UtcDatetime


class LifecycleAction(ApiModel):
    reason: Reason = Field(description="Why; stored in the audit trail.")


class EventExtend(ApiModel):
    end_at: UtcDatetime = Field(description="The new end: later than the current one.")
    reason: Reason = Field(description="Why; stored in the audit trail.")
