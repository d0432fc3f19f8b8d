"""Role management on the local stack: the template's user pool and groups in moto (local/cognito.py), the admin
routes of the one roles function served over HTTP (one function, several HttpApi events), and the local issuer
signing users in from the pool, so a grant reaches the user's next token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from tests.e2e.conftest import ArenaClient, in_process_stack, iso


@pytest.fixture(scope="module")
def arena() -> Iterator[ArenaClient]:
    with in_process_stack(dynamodb="moto", POWERTOOLS_LOG_LEVEL="WARNING") as local:
        yield ArenaClient(local.base_url)


def _groups(token: str) -> list[str]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return list(claims.get("cognito:groups", []))


def _signed_in(arena: ArenaClient, sub: str) -> str:
    """A token for `sub` with the groups the pool holds for them (no groups named)."""
    reply = arena.call("POST", "/local/token", body={"sub": sub})
    assert reply.status == 200, reply.body
    return str(reply.body["token"])


def test_the_stack_serves_role_management_from_its_user_pool(arena: ArenaClient) -> None:
    """Given the stack's moto user pool, an admin and mia signed in as a user
    When the admin lists the admins and grants mia the event-manager role
    Then mia's next token carries the role, and once assigned she manages the admin's event with it"""
    health = arena.call("GET", "/local/health").body
    assert set(health["cognito"]["user_pools"]) == {"UserPool"}
    boss = arena.token("boss", ["admin"])
    mia = arena.token("mia", ["user"])
    assert _groups(_signed_in(arena, "mia")) == ["user"]
    assert _groups(arena.token("x" * 200, ["user"])) == ["user"]  # no pool username: signed in as asked

    # When
    admins = arena.call("GET", "/api/admin/roles/admin/users", boss)
    assert admins.status == 200 and [u["user_id"] for u in admins.body["users"]] == ["boss"], admins.body
    reason = {"role": "event-manager", "reason": "Runs the December sprint"}
    granted = arena.call("POST", "/api/admin/users/mia/roles", boss, reason)
    assert granted.status == 200 and granted.body["roles"] == ["event-manager", "user"], granted.body

    # Then
    mia_manager = _signed_in(arena, "mia")
    assert _groups(mia_manager) == ["event-manager", "user"]
    start = datetime.now(UTC) + timedelta(days=1)
    created = arena.call(
        "POST",
        "/api/events",
        boss,
        {
            "name": "Roles sprint",
            "start_at": iso(start),
            "end_at": iso(start + timedelta(hours=1)),
            "markets": ["BTC-USDT"],
            "prizes": [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": "10"}],
        },
    )
    assert created.status == 201, created.body
    event_id = created.body["id"]
    assigned = arena.call("POST", f"/api/admin/events/{event_id}/managers", boss, {"user_id": "mia", "reason": "Hers"})
    assert assigned.status == 200 and assigned.body["managers"] == ["mia"], assigned.body
    edit = {"version": arena.call("GET", f"/api/events/{event_id}", mia).body["version"], "name": "Mia's sprint"}
    assert arena.call("PATCH", f"/api/events/{event_id}", mia_manager, edit).status == 200
    listed = arena.call("GET", f"/api/admin/events/{event_id}/managers", boss).body
    assert [c["action"] for c in listed["changes"]] == ["event.manager.assign"]

    # And the routes stay the admins': mia's own token is refused, and the last admin cannot revoke himself
    assert arena.call("GET", "/api/admin/users/mia/roles", mia).status == 403
    last = arena.call("POST", "/api/admin/users/boss/roles/admin/revoke", boss, {"reason": "Leaving"})
    assert (last.status, last.body["error"]["code"]) == (409, "last_admin")
    assert arena.call("GET", "/api/admin/users/mia/roles", boss).body["roles"] == ["event-manager", "user"]
