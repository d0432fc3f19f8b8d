"""arena.auth: list claims as API Gateway passes them, the principal from an HTTP API event's JWT claims, and
who may call a route (Access, and the resolver deciding it before the request is validated)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import pytest
from arena.auth import Access, Audience, Principal, Role, Scope, parse_list_claim, principal_from_event
from arena.errors import Forbidden, Unauthenticated
from arena.http import allow, make_resolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

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


@pytest.mark.parametrize(
    ("sample", "scope"),
    [
        ("trades/ingest_trades.json", Scope.TRADES_WRITE),
        ("trades/ingest_equity.json", Scope.EQUITY_WRITE),
        ("claims/set_account_flag.json", Scope.ACCOUNTS_FLAG),
        ("claims/record_payout.json", Scope.PAYOUTS_CALLBACK),
    ],
)
def test_each_machine_sample_holds_its_own_capability_only(sample: str, scope: Scope) -> None:
    """Given a machine client's sample request (client credentials) When read
    Then a machine with that one scope as its only capability, and no role."""
    who = principal_from_event(sample_event(sample))
    assert (who.is_machine, who.roles, who.capabilities) == (True, frozenset(), frozenset({scope}))


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


def test_scopes_come_from_jwt_scopes() -> None:
    """Given a token whose scopes (requestContext.authorizer.jwt.scopes) hold arena/trades.write
    When read Then that scope, and no role from it."""
    event = api_event("events/get_event.json", claims=_claims())
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = ["openid", Scope.TRADES_WRITE.value]
    who = principal_from_event(event)
    assert (who.scopes, who.roles) == (frozenset({Scope.TRADES_WRITE}), frozenset())


@pytest.mark.parametrize(
    "scope", ["arena/trades.write", "openid arena/trades.write", "[arena/trades.write]", "arena/trades.write x"]
)
def test_scopes_come_from_the_scope_claim(scope: str) -> None:
    """Given the scope only in the token's "scope" claim (no jwt.scopes) When read Then the trades scope."""
    event = api_event("events/get_event.json", claims=_claims(scope=scope))
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = None
    assert principal_from_event(event).scopes == frozenset({Scope.TRADES_WRITE})


@pytest.mark.parametrize("scope", ["arena/trades.read", "trades.write", "arena/trades.write.all", "openid", "arena/*"])
def test_other_scopes_give_no_capability(scope: str) -> None:
    """Given a token with a scope that is not exactly one of arena's When read Then no capability, no role."""
    event = api_event("events/get_event.json", claims=_claims(scope=scope, **{"cognito:groups": "[user]"}))
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = [scope]
    who = principal_from_event(event)
    assert (who.roles, who.capabilities) == (frozenset({Role.USER}), frozenset())


def test_the_service_group_holds_every_machine_capability() -> None:
    """Given a person in the service group (the exchange's integration accounts) When read
    Then every machine capability, and still a person."""
    who = principal_from_event(api_event("events/get_event.json", claims=_claims(**{"cognito:groups": "[service]"})))
    assert (who.capabilities, who.is_machine) == (frozenset(Scope), False)


@pytest.mark.parametrize(
    ("claims", "machine"),
    [
        ({"token_use": "access", "client_id": "feed", "scope": "arena/trades.write"}, True),  # client credentials
        ({"token_use": "access", "client_id": "web", "username": "ann", "scope": "openid"}, False),  # a person's
        ({"token_use": "id", "cognito:username": "ann", "aud": "web"}, False),
        ({"token_use": "access", "cognito:username": "ann"}, False),
        ({}, False),
    ],
)
def test_a_machine_token_is_an_access_token_without_a_user(claims: dict[str, Any], machine: bool) -> None:
    """Given a token's claims When read Then a machine client only for an access token that names no user."""
    assert principal_from_event(api_event("events/get_event.json", claims=_claims(**claims))).is_machine is machine


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


# ------------------------------------------------------------------------------------------- Access


PERSON = Principal(user_id="ann", roles=frozenset())
TRADER = Principal(user_id="ann", roles=frozenset({Role.USER}))
ADMIN = Principal(user_id="root", roles=frozenset({Role.ADMIN}))
SERVICE_ACCOUNT = Principal(user_id="ops", roles=frozenset({Role.SERVICE}))
TRADE_FEED = Principal(user_id="feed", roles=frozenset(), scopes=frozenset({Scope.TRADES_WRITE}), is_machine=True)


@pytest.mark.parametrize(
    ("access", "admitted", "refused"),
    [
        (Access.of(Role.ADMIN), [ADMIN], [PERSON, TRADER, SERVICE_ACCOUNT, TRADE_FEED]),
        (Access.of(Role.USER), [TRADER], [PERSON, ADMIN, SERVICE_ACCOUNT, TRADE_FEED]),
        (Access.of(Audience.PEOPLE), [PERSON, TRADER, ADMIN, SERVICE_ACCOUNT], [TRADE_FEED]),
        (Access.of(Scope.TRADES_WRITE), [TRADE_FEED, SERVICE_ACCOUNT], [PERSON, TRADER, ADMIN]),
        (Access.of(Scope.EQUITY_WRITE), [SERVICE_ACCOUNT], [TRADE_FEED, PERSON, TRADER, ADMIN]),
    ],
    ids=["admin", "user", "people", "trades", "equity"],
)
def test_access_admits_exactly_its_grants(access: Access, admitted: list[Principal], refused: list[Principal]) -> None:
    """Given a route's access rule When callers are checked Then exactly the granted ones pass."""
    assert all(access.admits(who) for who in admitted)
    assert not any(access.admits(who) for who in refused)


def test_access_refusal_names_what_the_route_needs() -> None:
    """Given the equity route's rule When the trade feed calls Then 403 forbidden_role naming the scope, no details."""
    with pytest.raises(Forbidden) as raised:
        Access.of(Scope.EQUITY_WRITE).check(TRADE_FEED)
    assert (raised.value.code, raised.value.details) == ("forbidden_role", None)
    assert raised.value.message == "This action needs the arena/equity.write scope."


def test_access_needs_a_grant() -> None:
    """Given no grant at all When an access rule is made Then refused: a route open to nobody is a mistake."""
    with pytest.raises(ValueError):
        Access.of()


# ------------------------------------------------------------------------------------------- the resolver


class _Order(BaseModel):
    quantity: int


def _resolver() -> Any:
    app = make_resolver()

    @app.post("/orders")
    @allow(Role.ADMIN)
    def place(order: _Order, limit: Annotated[int, Query(ge=1)] = 1) -> dict[str, int]:
        return {"quantity": order.quantity}

    return app


def _post(app: Any, claims: dict[str, Any] | None, body: str, query: str = "") -> tuple[int, dict[str, Any]]:
    event = api_event("events/create_event.json", body=body, claims=claims)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/orders"
    event["rawQueryString"] = query
    event["queryStringParameters"] = dict(part.split("=") for part in query.split("&")) if query else None
    if claims is None:
        event["requestContext"].pop("authorizer")
    answer = app.resolve(event, None)
    return answer["statusCode"], json.loads(answer["body"])


@pytest.mark.parametrize(
    ("body", "query"), [('{"quantity": "many"}', ""), ("{}", ""), ("not json", ""), ('{"quantity": 1}', "limit=0")]
)
def test_a_caller_without_the_role_is_refused_before_the_request_is_validated(body: str, query: str) -> None:
    """Given an admin-only route When a user sends an invalid body or query Then 403 forbidden_role, no details
    (not the schema's 422); without a token 401; an admin gets the validation answer."""
    app = _resolver()
    status, answer = _post(app, _claims(**{"cognito:groups": "[user]"}), body, query)
    assert (status, answer["error"]["code"], answer["error"]["details"]) == (403, "forbidden_role", None)
    status, answer = _post(app, None, body, query)
    assert (status, answer["error"]["code"]) == (401, "unauthenticated")
    status, answer = _post(app, _claims(**{"cognito:groups": "[admin]"}), body, query)
    assert status in (400, 422) and answer["error"]["code"] in ("invalid_json", "validation_failed")


def test_the_admitted_caller_reaches_the_handler() -> None:
    """Given an admin-only route When an admin sends a valid body Then the handler answers."""
    assert _post(_resolver(), _claims(**{"cognito:groups": "[admin]"}), '{"quantity": 3}') == (200, {"quantity": 3})


def test_a_route_without_an_access_declaration_cannot_be_registered() -> None:
    """Given a handler with no @allow When registered Then TypeError: no route is open by omission."""
    app = make_resolver()
    with pytest.raises(TypeError, match="declare who may call it"):

        @app.get("/open")
        def open_route() -> dict[str, str]:
            return {}
