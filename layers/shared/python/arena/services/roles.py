"""Role and permission management (admins only): grant and revoke roles, assign and remove the managers of an
event, and list who holds what. Every change is audited with who made it, when and why (a required reason).

* **Roles** are the groups of the Cognito user pool (adapters/identity.py), named as `arena.auth.Role`; a token
  carries the groups its user was in when it was issued, so a change reaches a user's next token (within an hour:
  the web client's token validity), not the ones already issued.
* **Managers** of an event are its `managers` list (plus its creator): an event manager may manage the events they
  created or were assigned to, and only while holding the event-manager role, so assignment asks for that role
  first. Assignments are allowed in every status: a COMPLETED event still needs its manager for the prizes.
* **Audit.** Each accepted request appends one record to the audit table after the change, also when nothing
  changed (`changed: false`): a retry after a failed audit write leaves the record the first attempt missed. Role
  changes are audited under the user (`USER#<id>`), manager changes under the event (`EVENT#<id>`), and both are
  read back with the roles of the user and the managers of the event.
* **Self-lockout guard.** The last admin cannot be revoked. The count is checked before the change and again
  after it: two admins revoking each other at once both see the other gone, both restore, and both are refused,
  so the pool never ends without an admin.
"""

from __future__ import annotations

from typing import Any

from arena import clock
from arena.adapters import identity
from arena.auth import Principal, Role
from arena.domain import claims as claim_rules
from arena.errors import BadRequest, Conflict, InvalidInput
from arena.models.common import AuditEntry
from arena.models.roles import (
    EventManagers,
    ManagerAssignment,
    ManagerChange,
    RoleChange,
    RoleGrant,
    RoleMember,
    RoleMembers,
    UserRoles,
)
from arena.services.events import load
from arena.store import audit, dynamo
from arena.store import events as event_store

ROLE_GRANTED, ROLE_REVOKED = "role.grant", "role.revoke"
MANAGER_ASSIGNED, MANAGER_REMOVED = "event.manager.assign", "event.manager.remove"
# Optimistic locking on the event's version: a concurrent edit of the event is read again and retried.
_VERSION_RETRIES = 5


def user_subject(user_id: str) -> str:
    return f"USER#{user_id}"


def _check_user_id(user_id: str) -> None:
    if not claim_rules.valid_user_id(user_id):
        raise InvalidInput("Not a valid user id.", code="invalid_user_id")


def _roles(groups: set[str]) -> list[Role]:
    return sorted((Role(g) for g in groups if g in Role._value2member_map_), key=list(Role).index)


def _changes(subject: str, actions: tuple[str, ...]) -> list[AuditEntry]:
    entries = [e for e in audit.history(subject) if e.get("action") in actions]
    entries.sort(key=lambda e: e["entry"], reverse=True)
    return [AuditEntry.from_record(e) for e in entries]


# ---------------------------------------------------------------------------------------------- roles


def users_with_role(principal: Principal, role: Role, limit: int, cursor: str | None) -> RoleMembers:
    """GET /api/admin/roles/{role}/users: the users holding a role, a page at a time."""
    state = dynamo.decode_cursor(cursor)
    token = None
    if state is not None:
        token = state.get("t")
        if state.get("role") != role.value or not isinstance(token, str) or not token:
            raise BadRequest("The cursor is not one this API issued.", code="invalid_cursor")
    page, next_token = identity.members_page(role.value, limit, token)
    return RoleMembers(
        role=role,
        users=[RoleMember.model_validate(member, from_attributes=True) for member in page],
        next_cursor=dynamo.encode_cursor({"role": role.value, "t": next_token}) if next_token else None,
    )


def roles_of(principal: Principal, user_id: str) -> UserRoles:
    """GET /api/admin/users/{userId}/roles: the user's roles and their audited changes."""
    _check_user_id(user_id)
    roles = _roles(identity.groups_of(user_id))
    return UserRoles(
        user_id=user_id, roles=roles, changes=_changes(user_subject(user_id), (ROLE_GRANTED, ROLE_REVOKED))
    )


def grant(principal: Principal, user_id: str, request: RoleGrant) -> RoleChange:
    """POST /api/admin/users/{userId}/roles: give the user a role. Idempotent; audited."""
    _check_user_id(user_id)
    held = identity.groups_of(user_id)  # 404 for a user the pool does not have
    changed = request.role.value not in held
    if changed:
        identity.add_to_group(user_id, request.role.value)
        held.add(request.role.value)
    _audit_role(principal, user_id, ROLE_GRANTED, request.role, request.reason, changed)
    return RoleChange(user_id=user_id, role=request.role, changed=changed, roles=_roles(held))


def revoke(principal: Principal, user_id: str, role: Role, reason: str) -> RoleChange:
    """POST /api/admin/users/{userId}/roles/{role}/revoke: take a role away. Idempotent; audited; the last admin
    stays (409 last_admin)."""
    _check_user_id(user_id)
    held = identity.groups_of(user_id)
    changed = role.value in held
    if changed:
        if role == Role.ADMIN:
            _refuse_last_admin(user_id)
        identity.remove_from_group(user_id, role.value)
        if role == Role.ADMIN and not _any_admin():
            identity.add_to_group(user_id, role.value)  # a concurrent revocation took the other one: undo ours
            raise _last_admin()
        held.discard(role.value)
    _audit_role(principal, user_id, ROLE_REVOKED, role, reason, changed)
    return RoleChange(user_id=user_id, role=role, changed=changed, roles=_roles(held))


def _last_admin() -> Conflict:
    return Conflict("This is the last admin: grant the role to someone else first.", code="last_admin")


def _any_admin() -> bool:
    return next(identity.members(Role.ADMIN.value), None) is not None


def _refuse_last_admin(user_id: str) -> None:
    for member in identity.members(Role.ADMIN.value):
        if member.user_id != user_id:
            return
    raise _last_admin()


def _audit_role(principal: Principal, user_id: str, action: str, role: Role, reason: str, changed: bool) -> None:
    details: dict[str, Any] = {"role": role.value, "changed": changed}
    audit.append(user_subject(user_id), principal.user_id, action, clock.now(), reason, **details)


# ---------------------------------------------------------------------------------------------- event managers


def managers_of(principal: Principal, event_id: str) -> EventManagers:
    """GET /api/admin/events/{eventId}/managers: who manages the event, and the audited changes."""
    event = load(event_id)
    return EventManagers(
        event_id=event.id,
        created_by=event.created_by,
        managers=list(event.managers),
        changes=_changes(audit.event_subject(event.id), (MANAGER_ASSIGNED, MANAGER_REMOVED)),
    )


def assign_manager(principal: Principal, event_id: str, request: ManagerAssignment) -> ManagerChange:
    """POST /api/admin/events/{eventId}/managers: make a holder of the event-manager role a manager of the event.
    Idempotent; audited."""
    _check_user_id(request.user_id)
    load(event_id)  # 404 before the user pool is asked anything
    if Role.EVENT_MANAGER.value not in identity.groups_of(request.user_id):
        raise Conflict(
            "Only a holder of the event-manager role manages events: grant the role first.",
            code="not_an_event_manager",
            details={"user_id": request.user_id},
        )
    return _change_managers(principal, event_id, request.user_id, request.reason, assign=True)


def remove_manager(principal: Principal, event_id: str, user_id: str, reason: str) -> ManagerChange:
    """POST /api/admin/events/{eventId}/managers/{userId}/remove: the user no longer manages the event (its
    creator stays its creator). Idempotent; audited."""
    _check_user_id(user_id)
    return _change_managers(principal, event_id, user_id, reason, assign=False)


def _change_managers(principal: Principal, event_id: str, user_id: str, reason: str, *, assign: bool) -> ManagerChange:
    for _ in range(_VERSION_RETRIES):
        event = load(event_id)
        managers = list(event.managers)
        changed = (user_id not in managers) if assign else (user_id in managers)
        if changed:
            managers = [*managers, user_id] if assign else [m for m in managers if m != user_id]
            now = clock.now()
            if event_store.update_fields_at_version(event_id, event.version, {"managers": managers}, now) is None:
                continue  # changed meanwhile (or deleted): read it again
        action = MANAGER_ASSIGNED if assign else MANAGER_REMOVED
        subject = audit.event_subject(event_id)
        audit.append(subject, principal.user_id, action, clock.now(), reason, user_id=user_id, changed=changed)
        return ManagerChange(event_id=event_id, user_id=user_id, changed=changed, managers=managers)
    raise Conflict("The event kept changing meanwhile; retry.", code="version_conflict")
