"""Role and permission management on moto (functions/admin/roles.py): admins grant and revoke roles (the user
pool's groups, created from template.yaml), assign and remove event managers, and list who holds what; every
change is audited (who, when, why) and read back; the last admin cannot be revoked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import api_event
from tests.integration.claims import SERVICE
from tests.integration.conftest import Arena, Reply, manager_claims, user_claims
from tests.integration.prizes import seeded_event


class Pool:
    """The template's user pool in moto, with users made by the test."""

    def __init__(self, client: Any, pool_id: str, groups: list[str]) -> None:
        self.client, self.id, self.groups = client, pool_id, groups

    def user(self, sub: str, *groups: str) -> str:
        self.client.admin_create_user(UserPoolId=self.id, Username=sub, MessageAction="SUPPRESS")
        for group in groups:
            self.client.admin_add_user_to_group(UserPoolId=self.id, Username=sub, GroupName=group)
        return sub

    def groups_of(self, sub: str) -> set[str]:
        answer = self.client.admin_list_groups_for_user(UserPoolId=self.id, Username=sub)
        return {g["GroupName"] for g in answer["Groups"]}


@pytest.fixture
def pool(tables: dict[str, str]) -> Iterator[Pool]:
    """Given the template's user pool and its groups (the roles) in moto, named to the functions by USER_POOL_ID
    (the `tables` fixture makes it), with one admin, "root"."""
    import boto3

    client = boto3.client("cognito-idp")
    pool_id = tables["UserPool"]
    groups = [g["GroupName"] for g in client.list_groups(UserPoolId=pool_id)["Groups"]]
    made = Pool(client, pool_id, groups)
    made.user("root", "admin")
    yield made


def call(arena: Arena, name: str, claims: dict[str, Any] | None = None, **parts: Any) -> Reply:
    """One route of the roles function, from its sample in events/admin/ (admin-1 unless `claims`)."""
    event = api_event(
        f"admin/{name}.json", path=parts.get("path"), body=parts.get("body"), query=parts.get("query"), claims=claims
    )
    return arena.call("admin/roles", event)


def grant(arena: Arena, user: str, role: str, reason: str = "Runs the sprint", **kw: Any) -> Reply:
    return call(arena, "grant_role", path={"userId": user}, body={"role": role, "reason": reason}, **kw)


def revoke(arena: Arena, user: str, role: str, reason: str = "Sprint over", **kw: Any) -> Reply:
    return call(arena, "revoke_role", path={"userId": user, "role": role}, body={"reason": reason}, **kw)


def roles_of(arena: Arena, user: str) -> Reply:
    return call(arena, "get_user_roles", path={"userId": user})


def assign(arena: Arena, event_id: str, user: str, reason: str = "Runs its prizes", **kw: Any) -> Reply:
    return call(
        arena, "assign_event_manager", path={"eventId": event_id}, body={"user_id": user, "reason": reason}, **kw
    )


def unassign(arena: Arena, event_id: str, user: str, reason: str = "Handed over", **kw: Any) -> Reply:
    return call(
        arena, "remove_event_manager", path={"eventId": event_id, "userId": user}, body={"reason": reason}, **kw
    )


def managers(arena: Arena, event_id: str) -> Reply:
    return call(arena, "get_event_managers", path={"eventId": event_id})


# ---------------------------------------------------------------------------------------------- roles


def test_an_admin_grants_and_revokes_a_role_and_every_change_is_audited(arena: Arena, pool: Pool) -> None:
    """Given mia, a user
    When an admin grants her the event-manager role (twice), then revokes it, each with a reason
    Then the pool's groups follow, a repeat changes nothing (changed: false), and her roles read back with every
    change: who, when, what and why, newest first."""
    pool.user("mia", "user")
    granted = grant(arena, "mia", "event-manager", "Runs the December sprint")
    assert granted.status == 200, granted
    assert granted.body == {
        "user_id": "mia",
        "role": "event-manager",
        "changed": True,
        "roles": ["event-manager", "user"],
    }
    assert pool.groups_of("mia") == {"user", "event-manager"}
    arena.clock.set(arena.clock.moment.replace(minute=30))  # audit records of one instant have no order
    assert grant(arena, "mia", "event-manager").body["changed"] is False

    arena.clock.set(arena.clock.moment.replace(hour=13))
    revoked = revoke(arena, "mia", "event-manager", "The sprint is over")
    assert (revoked.status, revoked.body["changed"], revoked.body["roles"]) == (200, True, ["user"])
    assert pool.groups_of("mia") == {"user"}

    read = roles_of(arena, "mia")
    assert read.status == 200 and read.body["roles"] == ["user"]
    assert [(c["action"], c["actor"], c["reason"], c["details"]) for c in read.body["changes"]] == [
        ("role.revoke", "admin-1", "The sprint is over", {"role": "event-manager", "changed": True}),
        ("role.grant", "admin-1", "Runs the sprint", {"role": "event-manager", "changed": False}),
        ("role.grant", "admin-1", "Runs the December sprint", {"role": "event-manager", "changed": True}),
    ]
    assert read.body["changes"][0]["at"] == "2026-12-01T13:30:00.000Z"


@pytest.mark.parametrize(
    "caller", [user_claims("mia"), manager_claims("mia"), SERVICE], ids=["user", "event-manager", "service"]
)
def test_only_admins_reach_any_role_route(arena: Arena, pool: Pool, caller: dict[str, Any]) -> None:
    """Given a caller without the admin role (mia herself, as a user, an event manager or the service)
    When it calls every route of role management
    Then each answers 403 forbidden_role and nothing changes: no group, no manager, no audit record."""
    pool.user("mia", "user")
    event_id = arena.new_event()["id"]
    replies = [
        call(arena, "list_role_users", caller, path={"role": "admin"}),
        call(arena, "get_user_roles", caller, path={"userId": "mia"}),
        grant(arena, "mia", "admin", claims=caller),
        revoke(arena, "root", "admin", claims=caller),
        call(arena, "get_event_managers", caller, path={"eventId": event_id}),
        assign(arena, event_id, "mia", claims=caller),
        unassign(arena, event_id, "mia", claims=caller),
    ]
    assert [(r.status, r.code) for r in replies] == [(403, "forbidden_role")] * len(replies)
    assert pool.groups_of("mia") == {"user"} and pool.groups_of("root") == {"admin"}
    assert roles_of(arena, "mia").body["changes"] == [] and managers(arena, event_id).body["changes"] == []


def test_unknown_users_and_roles_and_bad_input_are_refused(arena: Arena, pool: Pool) -> None:
    """Given the pool
    When an admin names a user the pool does not have, a role Arena does not know, no reason, a malformed user id
    Then 404 user_not_found, 422 (validation) and 422 invalid_user_id: never a 500."""
    assert (grant(arena, "ghost", "user").status, grant(arena, "ghost", "user").code) == (404, "user_not_found")
    assert roles_of(arena, "ghost").code == "user_not_found"
    assert grant(arena, "root", "wizard").status == 422
    assert call(arena, "revoke_role", path={"userId": "root", "role": "wizard"}, body={"reason": "why"}).status == 422
    assert call(arena, "grant_role", path={"userId": "root"}, body={"role": "user"}).status == 422
    assert grant(arena, "root", "user", reason="").status == 422
    assert (roles_of(arena, "-root").status, roles_of(arena, "-root").code) == (422, "invalid_user_id")
    assert call(arena, "list_role_users", path={"role": "wizard"}).status == 422


def test_the_last_admin_cannot_be_revoked(arena: Arena, pool: Pool) -> None:
    """Given root, the pool's only admin
    When an admin revokes root's admin role; then ops is made admin and root is revoked; then ops is revoked
    Then the first and the last are refused (409 last_admin, nothing changed, nothing audited as a change); the
    middle one passes."""
    pool.user("ops", "user")
    refused = revoke(arena, "root", "admin")
    assert (refused.status, refused.code) == (409, "last_admin")
    assert pool.groups_of("root") == {"admin"}
    assert grant(arena, "ops", "admin").status == 200
    assert revoke(arena, "root", "admin").body["changed"] is True
    assert revoke(arena, "ops", "admin").code == "last_admin"
    assert pool.groups_of("ops") == {"user", "admin"}
    assert [c["action"] for c in roles_of(arena, "root").body["changes"]] == ["role.revoke"]


def test_two_admins_revoking_each_other_at_once_leave_one(arena: Arena, pool: Pool, monkeypatch: Any) -> None:
    """Given root and ops, the only admins
    When ops's admin role is revoked while a concurrent request takes root's (between the check and the change)
    Then the revocation sees no admin left, restores ops and is refused: the pool is never without an admin."""
    from arena.adapters import identity

    pool.user("ops", "admin")
    real_remove = identity.remove_from_group

    def concurrent(user_id: str, group: str) -> None:
        real_remove("root", "admin")  # the other request's revocation lands first
        real_remove(user_id, group)

    monkeypatch.setattr(identity, "remove_from_group", concurrent)
    refused = revoke(arena, "ops", "admin")
    assert (refused.status, refused.code) == (409, "last_admin")
    assert "admin" in pool.groups_of("ops")


def test_the_users_of_a_role_page_with_a_cursor(arena: Arena, pool: Pool) -> None:
    """Given five event managers
    When an admin lists the role two at a time
    Then the pages hold each of them once; a cursor of another role, or a forged one, is 400 invalid_cursor."""
    for n in range(5):
        pool.user(f"em-{n}", "event-manager")
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = call(arena, "list_role_users", path={"role": "event-manager"}, query=query)
        assert page.status == 200, page
        assert len(page.body["users"]) <= 2 and all(u["enabled"] for u in page.body["users"])
        seen += [u["user_id"] for u in page.body["users"]]
        cursor = page.body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == [f"em-{n}" for n in range(5)]

    first = call(arena, "list_role_users", path={"role": "event-manager"}, query={"limit": "2"}).body["next_cursor"]
    for bad in (first, "bm90IGEgY3Vyc29y", "%%%"):
        reply = call(arena, "list_role_users", path={"role": "admin"}, query={"cursor": bad})
        assert (reply.status, reply.code) == (400, "invalid_cursor"), (bad, reply)
    admins = call(arena, "list_role_users", path={"role": "admin"}).body
    assert [u["user_id"] for u in admins["users"]] == ["root"] and admins["next_cursor"] is None


# ---------------------------------------------------------------------------------------------- event managers


def test_an_admin_assigns_and_removes_an_event_manager_audited(arena: Arena, pool: Pool) -> None:
    """Given an event and mia, a user
    When an admin assigns mia (refused until she holds the event-manager role), assigns her again, then removes her
    Then she manages the event exactly while assigned (she may edit it, then not), a repeat changes nothing, and
    the event's managers read back with every change (who, when, why)."""
    event = arena.new_event()
    event_id = event["id"]
    pool.user("mia", "user")
    refused = assign(arena, event_id, "mia")
    assert (refused.status, refused.code) == (409, "not_an_event_manager")
    assert grant(arena, "mia", "event-manager").status == 200

    assigned = assign(arena, event_id, "mia", "Runs the December sprint")
    assert assigned.status == 200, assigned
    assert assigned.body == {"event_id": event_id, "user_id": "mia", "changed": True, "managers": ["mia"]}
    arena.clock.set(arena.clock.moment.replace(minute=30))  # audit records of one instant have no order
    assert assign(arena, event_id, "mia").body["changed"] is False
    version = arena.get_event(event_id).body["version"]
    edited = arena.update_event(event_id, {"version": version, "name": "Mia's sprint"}, manager_claims("mia"))
    assert edited.status == 200, edited

    arena.clock.set(arena.clock.moment.replace(minute=45))
    removed = unassign(arena, event_id, "mia", "Handed over to the events team")
    assert (removed.status, removed.body["changed"], removed.body["managers"]) == (200, True, [])
    version = arena.get_event(event_id).body["version"]
    assert arena.update_event(event_id, {"version": version, "name": "x"}, manager_claims("mia")).status == 403

    read = managers(arena, event_id)
    assert read.status == 200
    assert (read.body["created_by"], read.body["managers"]) == ("admin-1", [])
    assert [(c["action"], c["reason"], c["user_id"], c["details"]) for c in read.body["changes"]] == [
        ("event.manager.remove", "Handed over to the events team", "mia", {"changed": True}),
        ("event.manager.assign", "Runs its prizes", "mia", {"changed": False}),
        ("event.manager.assign", "Runs the December sprint", "mia", {"changed": True}),
    ]


def test_managers_of_a_completed_event_can_change_and_unknown_events_are_404(arena: Arena, pool: Pool) -> None:
    """Given a COMPLETED event (its prizes still to distribute) and an event manager
    When an admin assigns the manager, and names an event that does not exist
    Then the assignment passes (a closed event's edit route would refuse it); the unknown event is 404."""
    event_id = seeded_event(arena)
    pool.user("mia", "event-manager")
    assert assign(arena, event_id, "mia").body["managers"] == ["mia"]
    for reply in (assign(arena, "01nosuchevent", "mia"), managers(arena, "01nosuchevent")):
        assert (reply.status, reply.code) == (404, "event_not_found")
    assert unassign(arena, event_id, "nobody").body == {
        "event_id": event_id,
        "user_id": "nobody",
        "changed": False,
        "managers": ["mia"],
    }
