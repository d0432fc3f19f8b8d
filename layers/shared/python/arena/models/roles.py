"""Role and permission management as the API shows it: who holds which role, who manages an event, and the audited
changes (who, when, why) behind both."""

from __future__ import annotations

from pydantic import BaseModel, Field

from arena.auth import Role
from arena.models.common import ApiModel, AuditEntry, ModerationReason, UtcDatetime

USER_ID = Field(min_length=1, max_length=128, description="The user's id: the `sub` of their tokens.")
REASON = Field(description="Why; kept in the audit trail.")


class RoleGrant(ApiModel):
    role: Role
    reason: ModerationReason = REASON


class RoleRevoke(ApiModel):
    reason: ModerationReason = REASON


class ManagerAssignment(ApiModel):
    user_id: str = USER_ID
    reason: ModerationReason = REASON


class ManagerRemoval(ApiModel):
    reason: ModerationReason = REASON


class RoleMember(BaseModel):
    user_id: str
    enabled: bool
    status: str | None = Field(default=None, description="The user pool's account status (CONFIRMED, ...).")
    created_at: UtcDatetime | None = None


class RoleMembers(BaseModel):
    role: Role
    users: list[RoleMember]
    next_cursor: str | None = None


class UserRoles(BaseModel):
    user_id: str
    roles: list[Role]
    changes: list[AuditEntry] = Field(description="The audited grants and revocations of this user, newest first.")


class RoleChange(BaseModel):
    user_id: str
    role: Role
    changed: bool = Field(description="False when the user already held (or already lacked) the role.")
    roles: list[Role] = Field(description="The user's roles after the change.")


class EventManagers(BaseModel):
    event_id: str
    created_by: str = Field(description="The event's creator, who manages it while holding the event-manager role.")
    managers: list[str]
    changes: list[AuditEntry] = Field(description="The audited assignments and removals, newest first.")


class ManagerChange(BaseModel):
    event_id: str
    user_id: str
    changed: bool = Field(description="False when the user already was (or already was not) a manager.")
    managers: list[str] = Field(description="The event's managers after the change.")
