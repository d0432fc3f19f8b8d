"""arena.auth: list claims as API Gateway passes them, and the principal from an HTTP API event's JWT claims."""

from __future__ import annotations

from typing import Any

import pytest
from arena.auth import TRADE_FEED_SCOPE, Principal, Role, parse_list_claim, principal_from_event
from arena.errors import Forbidden, Unauthenticated

from tests.conftest import api_event, sample_event

# ------------------------------------------------------------------------------------------- parse_list_claim


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[admin user]", ["admin", "user"]),  # what the HTTP API JWT authorizer sends
        ("[admin]", ["admin"]),
        ("[]", []),
        ('["admin", "event-manager"]', ["admin", "event-manager"]),  # a JSON array string
        ("[admin, user]", ["admin", "user"]),
        (["admin", "user"], ["admin", "user"]),  # a real list (direct invocation)
        (("user",), ["user"]),
        ([], []),
        ("admin,user", ["admin", "user"]),  # comma-separated
        ("admin, user ,event-manager", ["admin", "user", "event-manager"]),
        ("arena/trades.write openid", ["arena/trades.write", "openid"]),  # an OAuth scope string
        ("admin", ["admin"]),
        ("", []),
        ("   ", []),
        (None, []),
    ],
)
def test_parse_list_claim(value: Any, expected: list[str]) -> None:
    """Given a list claim in any of the shapes it arrives in When parsed Then the same list of strings."""
    assert parse_list_claim(value) == expected


def test_parse_list_claim_stringifies_non_string_items() -> None:
    """Given a JSON list with numbers When parsed Then every item is a string."""
    assert parse_list_claim("[1, 2]") == ["1", "2"]
    assert parse_list_claim([1, True]) == ["1", "True"]


# ------------------------------------------------------------------------------------------- principal_from_event


def _claims(**claims: Any) -> dict[str, Any]:
    return {"sub": "someone", **claims}


def test_principal_of_the_admin_sample() -> None:
    """Given events/events/create_event.json (an admin's id token) When read Then admin-1 with the admin role."""
    who = principal_from_event(sample_event("events/create_event.json"))
    assert who == Principal(user_id="admin-1", roles=frozenset({Role.ADMIN}), kyc_level=0, account_type=None)
    assert who.is_admin
    assert who.claims["token_use"] == "id"


def test_principal_of_the_trader_sample() -> None:
    """Given events/participants/join_event.json (a trader) When read
    Then trader-1, role user, KYC level 2 (from the string claim) and account type retail."""
    who = principal_from_event(sample_event("participants/join_event.json"))
    assert (who.user_id, who.roles, who.kyc_level, who.account_type) == (
        "trader-1",
        frozenset({Role.USER}),
        2,
        "retail",
    )
    assert not who.is_admin


def test_principal_of_the_trade_feed_sample_is_a_service() -> None:
    """Given events/trades/ingest_trades.json (client credentials with arena/trades.write) When read
    Then the service role, and no other."""
    who = principal_from_event(sample_event("trades/ingest_trades.json"))
    assert who.roles == frozenset({Role.SERVICE})
    assert who.user_id == "trade-feed"


@pytest.mark.parametrize(
    ("groups", "roles"),
    [
        ("[admin user]", {Role.ADMIN, Role.USER}),
        ("[event-manager]", {Role.EVENT_MANAGER}),
        ('["user", "service"]', {Role.USER, Role.SERVICE}),
        (["admin"], {Role.ADMIN}),
        ("[user superuser root]", {Role.USER}),  # unknown groups are ignored
        ("[]", set()),
        (None, set()),
    ],
)
def test_roles_come_from_cognito_groups(groups: Any, roles: set[Role]) -> None:
    """Given cognito:groups in any shape When the principal is read Then its roles are the known groups."""
    claims = _claims() if groups is None else _claims(**{"cognito:groups": groups})
    assert principal_from_event(api_event("events/get_event.json", claims=claims)).roles == frozenset(roles)


def test_trade_feed_scope_in_jwt_scopes_gives_the_service_role() -> None:
    """Given a token whose scopes (requestContext.authorizer.jwt.scopes) hold arena/trades.write
    When read Then the principal is a service."""
    event = api_event("events/get_event.json", claims=_claims())
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = ["openid", TRADE_FEED_SCOPE]
    assert principal_from_event(event).roles == frozenset({Role.SERVICE})


@pytest.mark.parametrize("scope", [TRADE_FEED_SCOPE, f"openid {TRADE_FEED_SCOPE}", f"[{TRADE_FEED_SCOPE}]"])
def test_trade_feed_scope_in_the_scope_claim_gives_the_service_role(scope: str) -> None:
    """Given the scope only in the token's "scope" claim (no jwt.scopes) When read Then the principal is a service."""
    event = api_event("events/get_event.json", claims=_claims(scope=scope))
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = None
    assert Role.SERVICE in principal_from_event(event).roles


@pytest.mark.parametrize("scope", ["arena/trades.read", "trades.write", "arena/trades.write.all", "openid"])
def test_other_scopes_give_no_service_role(scope: str) -> None:
    """Given a token with a scope that is not exactly arena/trades.write When read Then no service role."""
    event = api_event("events/get_event.json", claims=_claims(scope=scope, **{"cognito:groups": "[user]"}))
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = [scope]
    assert principal_from_event(event).roles == frozenset({Role.USER})


@pytest.mark.parametrize(("claim", "level"), [("3", 3), (3, 3), ("0", 0), ("abc", 0), ("", 0), (None, 0)])
def test_kyc_level_from_custom_claim(claim: Any, level: int) -> None:
    """Given custom:kyc_level as text or number (or garbage) When read Then an int level, 0 when unreadable."""
    claims = _claims(**({"custom:kyc_level": claim} if claim is not None else {}))
    assert principal_from_event(api_event("events/get_event.json", claims=claims)).kyc_level == level


@pytest.mark.parametrize(("claim", "account_type"), [("market_maker", "market_maker"), ("", None), (None, None)])
def test_account_type_from_custom_claim(claim: str | None, account_type: str | None) -> None:
    """Given custom:account_type (or none, or empty) When read Then the account type, None when absent."""
    claims = _claims(**({"custom:account_type": claim} if claim is not None else {}))
    assert principal_from_event(api_event("events/get_event.json", claims=claims)).account_type == account_type


@pytest.mark.parametrize("claims", [{}, {"sub": ""}, {"sub": None}, {"cognito:groups": "[admin]"}])
def test_no_subject_is_unauthenticated(claims: dict[str, Any]) -> None:
    """Given claims without a subject When the principal is read Then Unauthenticated."""
    with pytest.raises(Unauthenticated):
        principal_from_event(api_event("events/get_event.json", claims=claims))


@pytest.mark.parametrize(
    "strip",
    [
        lambda e: e["requestContext"].pop("authorizer"),
        lambda e: e.pop("requestContext"),
        lambda e: e["requestContext"]["authorizer"].update(jwt=None),
    ],
    ids=["no-authorizer", "no-request-context", "null-jwt"],
)
def test_event_without_a_token_is_unauthenticated(strip: Any) -> None:
    """Given an event that carries no authorizer context at all When read Then Unauthenticated, not a crash."""
    event = sample_event("events/get_event.json")
    strip(event)
    with pytest.raises(Unauthenticated) as raised:
        principal_from_event(event)
    assert raised.value.code == "unauthenticated"


def test_subject_is_always_a_string() -> None:
    """Given a numeric sub When read Then the user id is its text."""
    assert principal_from_event(api_event("events/get_event.json", claims={"sub": 42})).user_id == "42"


# ------------------------------------------------------------------------------------------- Principal.require


def test_require_passes_with_any_of_the_roles() -> None:
    """Given an event manager When an admin-or-manager action is checked Then allowed."""
    who = Principal(user_id="m", roles=frozenset({Role.EVENT_MANAGER}))
    assert who.require(Role.ADMIN, Role.EVENT_MANAGER) is None
    assert who.has_any(Role.ADMIN, Role.EVENT_MANAGER)


def test_require_raises_forbidden_naming_the_roles() -> None:
    """Given a plain user When an admin-or-manager action is checked
    Then Forbidden (code forbidden_role) naming the roles needed."""
    who = Principal(user_id="u", roles=frozenset({Role.USER}))
    with pytest.raises(Forbidden) as raised:
        who.require(Role.ADMIN, Role.EVENT_MANAGER)
    assert raised.value.code == "forbidden_role"
    assert raised.value.message == "This action needs the admin or event-manager role."


def test_require_with_no_roles_at_all_is_forbidden() -> None:
    """Given a principal without roles When any role is required Then Forbidden."""
    with pytest.raises(Forbidden):
        Principal(user_id="nobody", roles=frozenset()).require(Role.USER)
