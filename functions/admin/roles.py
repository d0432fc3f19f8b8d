"""Role and permission management (admin): grant and revoke roles (the user pool's groups), assign and remove the
managers of an event, and list who holds what with the audited changes (who, when, why) behind it.

One function serves every route of this module: the stack's resource budget has room for few more functions, so
a capability's routes share one (each route is still its own HttpApi event, authorizer and throttle).
"""

from typing import Annotated

from arena.auth import Role
from arena.http import allow, error_responses, lambda_handler_for, make_resolver, principal
from arena.models.roles import (
    EventManagers,
    ManagerAssignment,
    ManagerChange,
    ManagerRemoval,
    RoleChange,
    RoleGrant,
    RoleMembers,
    RoleRevoke,
    UserRoles,
)
from arena.services import roles as service
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

app = make_resolver()

UserId = Annotated[str, Path(max_length=128)]
EventId = Annotated[str, Path(max_length=128)]


@app.get(
    "/api/admin/roles/<role>/users",
    summary="Users holding a role",
    tags=["admin"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Role.ADMIN)
def list_role_users(
    role: Role,
    limit: Annotated[int, Query(ge=1, le=60)] = 60,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> RoleMembers:
    return service.users_with_role(principal(app), role, limit, cursor)


@app.get(
    "/api/admin/users/<userId>/roles",
    summary="A user's roles and their changes",
    tags=["admin"],
    responses=error_responses(401, 403, 404, 422),
)
@allow(Role.ADMIN)
def get_user_roles(userId: UserId) -> UserRoles:  # noqa: N803
    return service.roles_of(principal(app), userId)


@app.post(
    "/api/admin/users/<userId>/roles",
    summary="Grant a role",
    tags=["admin"],
    responses=error_responses(400, 401, 403, 404, 422),
)
@allow(Role.ADMIN)
def grant_role(userId: UserId, request: RoleGrant) -> RoleChange:  # noqa: N803
    return service.grant(principal(app), userId, request)


@app.post(
    "/api/admin/users/<userId>/roles/<role>/revoke",
    summary="Revoke a role",
    tags=["admin"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(Role.ADMIN)
def revoke_role(userId: UserId, role: Role, request: RoleRevoke) -> RoleChange:  # noqa: N803
    return service.revoke(principal(app), userId, role, request.reason)


@app.get(
    "/api/admin/events/<eventId>/managers",
    summary="An event's managers and their changes",
    tags=["admin"],
    responses=error_responses(401, 403, 404, 422),
)
@allow(Role.ADMIN)
def get_event_managers(eventId: EventId) -> EventManagers:  # noqa: N803
    return service.managers_of(principal(app), eventId)


@app.post(
    "/api/admin/events/<eventId>/managers",
    summary="Assign an event manager",
    tags=["admin"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(Role.ADMIN)
def assign_event_manager(eventId: EventId, request: ManagerAssignment) -> ManagerChange:  # noqa: N803
    return service.assign_manager(principal(app), eventId, request)


@app.post(
    "/api/admin/events/<eventId>/managers/<userId>/remove",
    summary="Remove an event manager",
    tags=["admin"],
    responses=error_responses(400, 401, 403, 404, 409, 422),
)
@allow(Role.ADMIN)
def remove_event_manager(eventId: EventId, userId: UserId, request: ManagerRemoval) -> ManagerChange:  # noqa: N803
    return service.remove_manager(principal(app), eventId, userId, request.reason)


lambda_handler = lambda_handler_for(app)
