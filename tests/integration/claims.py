"""Claim test helpers: a manual-claim event distributed and waiting for its owners, and the claim routes as the
Arena driver calls them (the sample payloads of events/claims/)."""

from __future__ import annotations

from typing import Any

from tests.conftest import api_event
from tests.integration.conftest import ADMIN, Arena, Reply, user_claims
from tests.integration.prizes import distribute, seeded_event

SERVICE = {**ADMIN, "sub": "exchange-wallet", "cognito:groups": "[service]"}
WINDOW_DAYS = 7


def manual_event(arena: Arena, **overrides: Any) -> str:
    """Given a COMPLETED manual-claim event (7-day window) whose prizes were distributed: every prize CLAIMABLE
    (ann 1000 points, bob 250.5 points, cid 100 USDT, dan a custom prize, fay 10 points)."""
    event_id = seeded_event(arena, claim={"mode": "manual", "window_days": WINDOW_DAYS}, **overrides)
    reply = distribute(arena, event_id)
    assert reply.status == 201 and reply.body["status"] == "COMPLETED", reply
    return event_id


def prize_id(event_id: str, user_id: str, rule_index: int = 0) -> str:
    from arena.domain.claims import PrizeRef

    return PrizeRef(event_id, user_id, rule_index).prize_id


def route(
    arena: Arena,
    name: str,
    claims: dict[str, Any] | None,
    *,
    path: dict[str, str] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    event = api_event(f"claims/{name}.json", path=path, body=body, query=query, claims=claims)
    # The sample carries an Idempotency-Key; a test sends one only when it says so.
    event["headers"] = {k: v for k, v in event["headers"].items() if k != "idempotency-key"}
    event["headers"].update(headers or {})
    return arena.call(f"claims/{name}", event)


def claim(arena: Arena, user: str, prize: str, *, key: str | None = None, note: str | None = None) -> Reply:
    headers = {"idempotency-key": key} if key else None
    body = {} if note is None else {"note": note}
    return route(arena, "claim_prize", user_claims(user), path={"prizeId": prize}, body=body, headers=headers)


def my_prizes(arena: Arena, user: str) -> Reply:
    return route(arena, "get_my_prizes", user_claims(user))


def history(arena: Arena, user: str, query: dict[str, str] | None = None) -> Reply:
    return route(arena, "get_claim_history", user_claims(user), query=query or {})


def review_queue(arena: Arena, claims: dict[str, Any] | None = None, query: dict[str, str] | None = None) -> Reply:
    return route(arena, "list_claim_reviews", claims or ADMIN, query=query or {})


def review(arena: Arena, prize: str, decision: str, reason: str, claims: dict[str, Any] | None = None) -> Reply:
    body = {"decision": decision, "reason": reason}
    return route(arena, "review_claim", claims or ADMIN, path={"prizeId": prize}, body=body)


def fulfil(arena: Arena, prize: str, reason: str, claims: dict[str, Any] | None = None) -> Reply:
    return route(arena, "fulfil_prize", claims or ADMIN, path={"prizeId": prize}, body={"reason": reason})


def payout(arena: Arena, payout_id: str, body: dict[str, Any], claims: dict[str, Any] | None = None) -> Reply:
    return route(arena, "record_payout", claims or SERVICE, path={"payoutId": payout_id}, body=body)


def flag(arena: Arena, user: str, flagged: bool, reason: str, claims: dict[str, Any] | None = None) -> Reply:
    body = {"flagged": flagged, "reason": reason}
    return route(arena, "set_account_flag", claims or SERVICE, path={"userId": user}, body=body)


def sweep(arena: Arena) -> dict[str, int]:
    return arena._load("claims", "expire_claims").lambda_handler({}, arena.context)
