"""The role matrix: every HTTP route of template.yaml x every kind of caller, over HTTP against the local stack.

Callers: each role's person (admin, event-manager, user, the service group, a person in no group), each machine
capability's client-credentials token (one scope each), no token, and forged tokens (expired, wrong issuer, wrong
audience, `alg: none`, re-keyed, garbage). Each request carries a body and query that fail validation, so a caller
the route admits gets past authorization to a validation or not-found answer, and a caller it refuses must get 403
before anything reads the request: no 422 schema details to a caller without the role.

The routes come from the template, and the expected table must name exactly those routes: a new route cannot
escape the matrix.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import jwt
import pytest
from arena.auth import Role, Scope

from local.jwt_issuer import MACHINE_CLIENTS, JwtIssuer
from local.template import http_routes, load_template, resources_of_type
from tests.conftest import ROOT
from tests.e2e.conftest import ArenaClient, Reply, in_process_stack

ADMIN, MANAGER, USER, SERVICE, NO_GROUP = "admin", "event-manager", "user", "service group", "no group"
PEOPLE = {ADMIN, MANAGER, USER, SERVICE, NO_GROUP}
MANAGERS = {ADMIN, MANAGER}
PERSON_GROUPS = {ADMIN: [Role.ADMIN], MANAGER: [Role.EVENT_MANAGER], USER: [Role.USER], SERVICE: [Role.SERVICE]}


def machine(scope: Scope) -> str:
    return f"client {scope.value}"


def service_or(scope: Scope) -> set[str]:
    """A machine capability: the client holding its scope, and the service group (which holds every one)."""
    return {machine(scope), SERVICE}


MACHINES = {machine(scope) for scope in Scope}
CALLERS = sorted(PEOPLE | MACHINES)

# Who gets past authorization on each route; every other caller gets 403 (no token or a forged one: 401).
ADMITTED: dict[str, set[str]] = {
    "POST /api/events": MANAGERS,
    "GET /api/events": PEOPLE,
    "GET /api/events/{eventId}": PEOPLE,
    "PATCH /api/events/{eventId}": MANAGERS,
    "POST /api/events/{eventId}/cancel": MANAGERS,
    "POST /api/events/{eventId}/start": MANAGERS,
    "POST /api/events/{eventId}/end": MANAGERS,
    "POST /api/events/{eventId}/extend": MANAGERS,
    "POST /api/events/{eventId}/join": {USER},
    "GET /api/events/{eventId}/participants/me": PEOPLE,
    "POST /api/trades": service_or(Scope.TRADES_WRITE),
    "POST /api/equity": service_or(Scope.EQUITY_WRITE),
    "GET /api/events/{eventId}/leaderboard": PEOPLE,
    "GET /api/events/{eventId}/leaderboard/me": PEOPLE,
    "POST /api/events/{eventId}/participants/{userId}/disqualify": MANAGERS,
    "GET /api/events/{eventId}/participants/audit": MANAGERS,
    "POST /api/events/{eventId}/participants/{userId}/reinstate": MANAGERS,
    "GET /api/users/me/points": PEOPLE,
    "POST /api/events/{eventId}/prizes/distribute": MANAGERS,
    "GET /api/events/{eventId}/prizes/validate": MANAGERS,
    "GET /api/events/{eventId}/prizes/users/{userId}": MANAGERS,
    "GET /api/events/{eventId}/prizes/distribution": MANAGERS,
    "POST /api/events/{eventId}/prizes/rollback": MANAGERS,
    "GET /api/events/prizes/me": PEOPLE,
    "POST /api/events/prizes/{prizeId}/claim": PEOPLE,
    "GET /api/events/prizes/history": PEOPLE,
    "GET /api/events/prizes/reviews": {ADMIN},
    "POST /api/events/prizes/{prizeId}/review": {ADMIN},
    "POST /api/events/prizes/{prizeId}/fulfil": {ADMIN},
    "POST /api/events/prizes/payouts/{payoutId}": service_or(Scope.PAYOUTS_CALLBACK),
    "POST /api/users/{userId}/flag": service_or(Scope.ACCOUNTS_FLAG),
    "GET /api/admin/roles/{role}/users": {ADMIN},
    "GET /api/admin/users/{userId}/roles": {ADMIN},
    "POST /api/admin/users/{userId}/roles": {ADMIN},
    "POST /api/admin/users/{userId}/roles/{role}/revoke": {ADMIN},
    "GET /api/admin/events/{eventId}/managers": {ADMIN},
    "POST /api/admin/events/{eventId}/managers": {ADMIN},
    "POST /api/admin/events/{eventId}/managers/{userId}/remove": {ADMIN},
    "GET /api/events/{eventId}/performance": MANAGERS,
    "GET /api/events/analytics/dashboard": MANAGERS,
    "GET /api/events/analytics/participation-trends": MANAGERS,
    "GET /api/events/analytics/volume-analysis": MANAGERS,
    "GET /api/events/analytics/compare": MANAGERS,
    "GET /api/events/analytics/prices": {ADMIN},
    "PUT /api/events/analytics/prices": {ADMIN},
    "POST /api/events/analytics/export": MANAGERS,
    "GET /api/events/analytics/exports/{exportId}": MANAGERS,
    "GET /api/me/notifications": PEOPLE,
    "GET /api/me/notifications/unread-count": PEOPLE,
    "POST /api/me/notifications/{notificationId}/read": PEOPLE,
    "POST /api/me/notifications/read-all": PEOPLE,
    "GET /api/me/notification-preferences": PEOPLE,
    "PUT /api/me/notification-preferences": PEOPLE,
    "GET /api/me/notification-channels": PEOPLE,
    "POST /api/me/notification-channels/{channel}": PEOPLE,
    "POST /api/me/notification-channels/{channel}/verify": PEOPLE,
    "DELETE /api/me/notification-channels/{channel}": PEOPLE,
    "POST /api/me/devices": PEOPLE,
    "DELETE /api/me/devices/{deviceId}": PEOPLE,
    "POST /api/admin/announcements/preview": MANAGERS,
    "POST /api/admin/announcements": MANAGERS,
    "GET /api/admin/announcements": MANAGERS,
    "GET /api/admin/announcements/{announcementId}": MANAGERS,
    "POST /api/events/{eventId}/announcements": MANAGERS,
    "GET /api/events/{eventId}/announcements": PEOPLE,
    "PATCH /api/events/{eventId}/announcements/{announcementId}": MANAGERS,
    "DELETE /api/events/{eventId}/announcements/{announcementId}": MANAGERS,
    "GET /api/me/profile": PEOPLE,
    "PUT /api/me/profile": PEOPLE,
    "GET /api/traders/{handle}": PEOPLE,
    "PUT /api/me/following/{handle}": PEOPLE,
    "DELETE /api/me/following/{handle}": PEOPLE,
    "GET /api/me/following": PEOPLE,
    "GET /api/events/{eventId}/share/me": PEOPLE,
    "GET /api/events/{eventId}/share/podium": PEOPLE,
    "GET /api/events/{eventId}/referrals": MANAGERS,
    "GET /api/events/{eventId}/chat": PEOPLE,
    "POST /api/events/{eventId}/chat": PEOPLE,
    "DELETE /api/events/{eventId}/chat/{messageId}": PEOPLE,
    "POST /api/events/{eventId}/chat/{messageId}/reactions": PEOPLE,
    "POST /api/events/{eventId}/chat/{messageId}/report": PEOPLE,
    "POST /api/events/{eventId}/chat/{messageId}/pin": MANAGERS,
    "DELETE /api/events/{eventId}/chat/{messageId}/pin": MANAGERS,
    "POST /api/events/{eventId}/chat/mutes": MANAGERS,
    "DELETE /api/events/{eventId}/chat/mutes/{userId}": MANAGERS,
    "POST /api/events/{eventId}/chat/bans": MANAGERS,
    "DELETE /api/events/{eventId}/chat/bans/{userId}": MANAGERS,
    "GET /api/events/{eventId}/chat/filter": MANAGERS,
    "PUT /api/events/{eventId}/chat/filter": MANAGERS,
    "GET /api/events/{eventId}/chat/settings": MANAGERS,
    "PUT /api/events/{eventId}/chat/settings": MANAGERS,
    "GET /api/events/{eventId}/chat/reports": MANAGERS,
    "GET /api/events/{eventId}/chat/audit": MANAGERS,
    "POST /api/events/{eventId}/chat/reports/{reportId}/resolve": MANAGERS,
}
# Served without the authorizer (the API's own docs): every caller gets them, with any token or none.
PUBLIC = {
    "GET /api/docs",
    "GET /api/docs/{asset}",
    "GET /api/openapi.json",
    "GET /api/share/traders/{handle}/events/{eventId}",
    "GET /api/share/traders/{handle}/events/{eventId}/card.png",
    "GET /api/share/events/{eventId}",
    "GET /api/share/events/{eventId}/podium.png",
}
# Without a token too: the unsubscribe link of every email, its signed token the credential.
PUBLIC |= {"GET /api/notifications/unsubscribe", "POST /api/notifications/unsubscribe"}

PATH_VALUES = {
    "{eventId}": "matrix-event",
    "{userId}": "matrix-user",
    "{prizeId}": "cl_matrix-prize",
    "{payoutId}": "cl_matrix-payout",
    "{role}": "user",
    "{asset}": "swagger-init.js",
    "{exportId}": "matrix-export",
    "{notificationId}": "matrix-notification",
    "{channel}": "telegram",
    "{deviceId}": "matrix-device",
    "{announcementId}": "matrix-announcement",
    "{handle}": "matrixhandle",
    "{messageId}": "01jbmatrixmessage00000000",
    "{reportId}": "01jbmatrixreport000000000",
}
# Fails every route's validation: no required field, an unknown one; limits and windows out of range.
INVALID_BODY = {"matrix": ["not", "this", "shape"]}
INVALID_QUERY = "?limit=0&around=-1&status=NOT_A_STATUS"
FORGED = ("expired", "wrong issuer", "wrong audience", "alg none", "re-keyed", "garbage")


def template_routes() -> list[str]:
    return sorted(route.route_key for route in http_routes(load_template(ROOT / "template.yaml")))


def concrete(route_key: str) -> tuple[str, str]:
    method, path = route_key.split(" ", 1)
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    return method, path


@pytest.fixture(autouse=True)
def atomic_aws_requests() -> Iterator[None]:
    """Not the integration tests' one lock around every AWS request: the stack's queue pollers long-poll, and
    would hold it. The stack keeps its moto requests isolated itself."""
    yield


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
            patch.delenv(name, raising=False)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        }.items():
            patch.setenv(name, value)
        with in_process_stack() as local:
            yield local


def caller_tokens(issuer: JwtIssuer) -> dict[str, str | None]:
    tokens: dict[str, str | None] = {
        caller: issuer.issue(f"matrix-{caller.replace(' ', '-')}", groups=[g.value for g in groups])
        for caller, groups in PERSON_GROUPS.items()
    }
    tokens[NO_GROUP] = issuer.issue("matrix-no-group")
    for scope in Scope:
        client = next(c for c in MACHINE_CLIENTS.values() if scope.value in c.scopes)
        tokens[machine(scope)] = issuer.issue_client_credentials(client.client_id, scopes=[scope.value])
    return tokens


def forged_tokens(issuer: JwtIssuer) -> dict[str, str]:
    """Tokens the authorizer must refuse, each claiming the admin group (the most it could gain)."""
    admin = {"sub": "forger", "iss": issuer.issuer, "aud": issuer.client_id, "token_use": "id"}
    admin |= {"cognito:groups": ["admin"], "iat": int(time.time()), "exp": int(time.time()) + 3600}
    impostor = JwtIssuer(issuer=issuer.issuer)  # another key pair, presenting the real key's id
    return {
        "expired": issuer.issue("forger", groups=["admin"], ttl_seconds=-60),
        "wrong issuer": issuer.issue("forger", groups=["admin"], extra_claims={"iss": "https://attacker.example"}),
        "wrong audience": issuer.issue("forger", groups=["admin"], extra_claims={"aud": "someone-elses-client"}),
        "alg none": jwt.encode(admin, None, algorithm="none", headers={"kid": issuer.key_id}),
        "re-keyed": jwt.encode(admin, impostor._private_key, algorithm="RS256", headers={"kid": issuer.key_id}),
        "garbage": "not-a-jwt",
    }


def send(client: ArenaClient, route_key: str, token: str | None) -> Reply:
    method, path = concrete(route_key)
    if method == "GET":
        return client.call(method, path + INVALID_QUERY, token)
    return client.call(method, path + INVALID_QUERY, token, INVALID_BODY)


def outcome(reply: Reply) -> str:
    """The status class, checking that a refusal tells nothing about the request."""
    if reply.status >= 500:
        return f"5xx ({reply.status})"
    if reply.status == 401:
        return "401"
    if reply.status == 403:
        error = (reply.body or {}).get("error") or {}
        if error.get("code") != "forbidden_role" or error.get("details") is not None:
            return f"403 that says too much: {reply.body}"
        return "403"
    return "allowed"


def test_the_matrix_names_every_route_of_the_template() -> None:
    """Given template.yaml's HTTP routes
    When they are compared with the matrix
    Then the matrix expects an answer for each, and for no other."""
    assert sorted([*ADMITTED, *PUBLIC]) == template_routes()


def test_the_local_machine_clients_are_the_templates() -> None:
    """Given the template's client-credentials clients
    When they are compared with the local issuer's
    Then they are the same clients with the same scopes, the trade feed has trades only, and every arena.auth.Scope
    is declared."""
    template = load_template(ROOT / "template.yaml")
    clients = resources_of_type(template, "AWS::Cognito::UserPoolClient")
    machines = {
        logical_id: tuple(props["AllowedOAuthScopes"])
        for logical_id, props in clients.items()
        if props.get("AllowedOAuthFlows") == ["client_credentials"]
    }
    assert machines == {client.logical_id: client.scopes for client in MACHINE_CLIENTS.values()}
    (server,) = resources_of_type(template, "AWS::Cognito::UserPoolResourceServer").values()
    declared = {f"{server['Identifier']}/{scope['ScopeName']}" for scope in server["Scopes"]}
    assert declared == {scope.value for scope in Scope}
    # And the trade feed gets trades only
    assert machines["TradeFeedClient"] == (Scope.TRADES_WRITE.value,)


def test_every_route_answers_every_caller_as_the_matrix_says(stack: Any) -> None:
    """Given the local stack and a token for each kind of caller
    When each calls each route with a body and query that fail validation
    Then the admitted get past authorization (never 401/403, never 5xx), the others 403 `forbidden_role` without
    details, no token 401, and every forged token 401."""
    client = ArenaClient(stack.base_url)
    callers: dict[str, str | None] = {**caller_tokens(stack.issuer), "no token": None}
    callers |= forged_tokens(stack.issuer)
    expected = {
        (route, caller): (
            "allowed"
            if route in PUBLIC
            else "401"
            if caller == "no token" or caller in FORGED
            else ("allowed" if caller in ADMITTED[route] else "403")
        )
        for route in template_routes()
        for caller in callers
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = pool.map(lambda key: send(client, key[0], callers[key[1]]), expected)
        replies = dict(zip(expected, answers, strict=True))
    seen = {key: outcome(reply) for key, reply in replies.items()}

    answered = {f"{route} as {caller}": (expected[route, caller], seen[route, caller]) for route, caller in expected}
    assert {name: pair for name, pair in answered.items() if pair[0] != pair[1]} == {}  # name: (expected, seen)
    assert len(seen) == len(template_routes()) * (len(CALLERS) + 1 + len(FORGED))


def test_the_local_token_route_mints_a_machine_clients_token_with_its_scopes_only(stack: Any) -> None:
    """Given the local stack When the trade feed's token is asked of /local/token
    Then it posts trades (past authorization) and is refused equity; a scope the client lacks is refused (400)."""
    client = ArenaClient(stack.base_url)
    minted = client.call("POST", "/local/token", body={"client_id": "arena-local-trade-feed"})
    assert minted.status == 200, minted.body
    claims = stack.issuer.verify(minted.body["token"])
    assert (claims["client_id"], claims["scope"], claims["token_use"]) == (
        "arena-local-trade-feed",
        Scope.TRADES_WRITE.value,
        "access",
    )
    assert outcome(send(client, "POST /api/trades", minted.body["token"])) == "allowed"
    assert outcome(send(client, "POST /api/equity", minted.body["token"])) == "403"

    greedy = {"client_id": "arena-local-trade-feed", "scopes": [Scope.EQUITY_WRITE.value]}
    assert client.call("POST", "/local/token", body=greedy).status == 400
    as_user = {"client_id": "arena-local-trade-feed", "groups": ["admin"]}
    assert client.call("POST", "/local/token", body=as_user).status == 400
    assert client.call("POST", "/local/token", body={"client_id": "arena-local-web"}).status == 400
