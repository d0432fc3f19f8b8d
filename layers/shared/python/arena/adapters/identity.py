"""The Cognito user pool as role management sees it: a role is a group of the pool, a user is its username.

The pool signs users in with their email (`UsernameAttributes: [email]`), so Cognito generates each username, and
that username is the `sub` of the user's tokens: the user id everywhere else in Arena. Only the admin API is used
(AdminAddUserToGroup, AdminRemoveUserFromGroup, AdminListGroupsForUser, ListUsersInGroup; AdminGetUser for the
email dispatcher's addresses), on the pool named by USER_POOL_ID; each function calling it holds only the
permissions it needs on that pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from arena.config import settings
from arena.errors import BadRequest, NotFound
from arena.factories import cached

# ListUsersInGroup answers at most 60 users a call.
MAX_PAGE = 60


@cached
def client() -> Any:
    return boto3.client("cognito-idp")


@dataclass(frozen=True)
class Member:
    """A user of the pool, as a group's listing shows it."""

    user_id: str
    enabled: bool
    status: str | None
    created_at: datetime | None


def _pool() -> str:
    pool = settings().user_pool_id
    if not pool:
        raise RuntimeError("USER_POOL_ID is not set: this function cannot reach the user pool")
    return pool


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _unknown_user(user_id: str) -> NotFound:
    return NotFound(f"No user {user_id} in the user pool.", code="user_not_found")


def _unknown_group(group: str) -> NotFound:
    return NotFound(f"No group {group} in the user pool.", code="role_not_found")


def _call(operation: str, *, user_id: str | None = None, group: str | None = None, **params: Any) -> Any:
    """One admin API call, with Cognito's refusals as the typed errors the API answers."""
    try:
        return getattr(client(), operation)(UserPoolId=_pool(), **params)
    except ClientError as error:
        code = _code(error)
        if code == "UserNotFoundException" and user_id is not None:
            raise _unknown_user(user_id) from None
        if code == "ResourceNotFoundException" and group is not None:
            raise _unknown_group(group) from None
        raise


def add_to_group(user_id: str, group: str) -> None:
    """Idempotent: adding a member again changes nothing."""
    _call("admin_add_user_to_group", user_id=user_id, group=group, Username=user_id, GroupName=group)


def remove_from_group(user_id: str, group: str) -> None:
    """Idempotent: removing a user who is not a member changes nothing."""
    _call("admin_remove_user_from_group", user_id=user_id, group=group, Username=user_id, GroupName=group)


def groups_of(user_id: str) -> set[str]:
    """Every group the user is in (404 user_not_found for a user the pool does not have)."""
    groups: set[str] = set()
    token: str | None = None
    while True:
        extra = {"NextToken": token} if token else {}
        answer = _call("admin_list_groups_for_user", user_id=user_id, Username=user_id, Limit=MAX_PAGE, **extra)
        groups.update(g["GroupName"] for g in answer.get("Groups", []))
        token = answer.get("NextToken")
        if not token:
            return groups


def _member(user: dict[str, Any]) -> Member:
    return Member(
        user_id=user["Username"],
        enabled=bool(user.get("Enabled", True)),
        status=user.get("UserStatus"),
        created_at=user.get("UserCreateDate"),
    )


def members_page(group: str, limit: int, next_token: str | None) -> tuple[list[Member], str | None]:
    """One page of a group's members, and Cognito's token for the next (None at the end). A token Cognito does
    not recognise is a 400."""
    extra = {"NextToken": next_token} if next_token else {}
    try:
        answer = _call("list_users_in_group", group=group, GroupName=group, Limit=min(limit, MAX_PAGE), **extra)
    except ClientError as error:
        if _code(error) == "InvalidParameterException" and next_token:
            raise BadRequest("The cursor is not one this API issued.", code="invalid_cursor") from None
        raise
    return [_member(u) for u in answer.get("Users", [])], answer.get("NextToken") or None


def members(group: str) -> Iterator[Member]:
    """Every member of a group, page after page."""
    token: str | None = None
    while True:
        page, token = members_page(group, MAX_PAGE, token)
        yield from page
        if not token:
            return


def email_of(user_id: str) -> str | None:
    """The user's email address when the pool holds a verified one (AdminGetUser), else None: a user the pool
    does not know, or whose address is unverified, is not emailed."""
    try:
        answer = client().admin_get_user(UserPoolId=_pool(), Username=user_id)
    except ClientError as error:
        if _code(error) == "UserNotFoundException":
            return None
        raise
    attributes = {a["Name"]: a.get("Value", "") for a in answer.get("UserAttributes", [])}
    email = attributes.get("email") or None
    if email is None or attributes.get("email_verified", "false").lower() != "true":
        return None
    return email
