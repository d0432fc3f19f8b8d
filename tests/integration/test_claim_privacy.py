"""Privacy of prizes: no user learns anything about another user's prizes.

Prize ids are built from event and user ids, so anyone can write the id of someone else's prize. For every route
taking a prize (or naming a user's prizes), a prize that is not the caller's answers exactly like one that does
not exist: the whole handler response compared byte for byte (status, headers, body), and nothing about it written
to the caller's history or anyone else's. Admins and the payout callback keep their access.

The seeded manual-claim event (tests/integration/claims.py): ann 1000 points (rule 0), bob 250.5 points (rule 1),
cid 100 USDT (rule 2), dan a custom prize (rule 3), fay 10 points (rule 4); "zed" has no prize.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.claims import (
    SERVICE,
    claim,
    fulfil,
    history,
    manual_event,
    my_prizes,
    payout,
    prize_id,
    review,
)
from tests.integration.conftest import ADMIN, Arena, Reply, manager_claims, user_claims
from tests.integration.prizes import prize_route


def _about_the_prize(reply: Reply) -> dict[str, Any]:
    """The whole response but the caller's own rate-limit counters (RateLimit-*), which move with every call."""
    headers = {k: v for k, v in (reply.raw.get("headers") or {}).items() if not k.lower().startswith("ratelimit-")}
    return {**reply.raw, "headers": headers}


def _identical(*replies: Reply) -> None:
    """The same response to the byte: status, headers and body (a handler response carries no request id)."""
    first = _about_the_prize(replies[0])
    for other in replies[1:]:
        assert _about_the_prize(other) == first, (first, other.raw)


def _my_prize_statuses(arena: Arena, user: str) -> dict[str, str]:
    return {p["prize_id"]: p["status"] for p in my_prizes(arena, user).body["prizes"]}


def _entries_about(arena: Arena, user: str, prize: str) -> list[dict[str, Any]]:
    return [e for e in history(arena, user).body["entries"] if e["prize_id"] == prize]


# ---------------------------------------------------------------------------------------------- claim


@pytest.mark.parametrize("key", [None, "bob-key-1"], ids=["plain", "idempotency-key"])
def test_claiming_someone_else_s_prize_answers_as_a_missing_prize(arena: Arena, key: str | None) -> None:
    """Given ann's prize and an id naming no prize (zed has none) in the same event
    When bob claims each of them (with or without an Idempotency-Key), and then his own
    Then ann's prize and the missing one get the very same answer (404 prize_not_found, byte for byte), ann's prize
    is untouched, and bob's own claim is paid."""
    event_id = manual_event(arena)
    someone_elses = claim(arena, "bob", prize_id(event_id, "ann", 0), key=key)
    missing = claim(arena, "bob", prize_id(event_id, "zed", 0), key=key)
    missing_rule = claim(arena, "bob", prize_id(event_id, "ann", 9), key=key)

    assert (someone_elses.status, someone_elses.code) == (404, "prize_not_found")
    _identical(someone_elses, missing, missing_rule)
    mine = claim(arena, "bob", prize_id(event_id, "bob", 1), key="bob-own" if key else None)
    assert (mine.status, mine.body["status"], mine.body["amount"]) == (200, "CLAIMED", "250.5")
    assert _my_prize_statuses(arena, "ann") == {prize_id(event_id, "ann", 0): "CLAIMABLE"}


def test_someone_else_s_claimed_prize_still_answers_as_missing(arena: Arena) -> None:
    """Given ann's prize, already claimed by ann
    When bob claims it
    Then he is told it does not exist (not 409 already_claimed, which would confirm it exists and was claimed)."""
    event_id = manual_event(arena)
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).status == 200
    _identical(claim(arena, "bob", prize_id(event_id, "ann", 0)), claim(arena, "bob", prize_id(event_id, "zed", 0)))


def test_a_refused_claim_writes_nothing_that_reveals_the_prize(arena: Arena) -> None:
    """Given ann's custom prize and a missing one
    When bob claims each
    Then bob's history holds one entry for each, alike but for the id he sent: no type, no amount, no status of
    ann's prize; and ann's history holds nothing of bob's attempts."""
    event_id = manual_event(arena)
    anns, zeds = prize_id(event_id, "dan", 3), prize_id(event_id, "zed", 3)
    claim(arena, "bob", anns, note="mine?")
    claim(arena, "bob", zeds, note="mine?")

    [about_anns] = _entries_about(arena, "bob", anns)
    [about_zeds] = _entries_about(arena, "bob", zeds)
    assert about_anns["type"] is None and about_anns["amount"] is None
    strip = ("at", "prize_id")
    assert {k: v for k, v in about_anns.items() if k not in strip} == {
        k: v for k, v in about_zeds.items() if k not in strip
    }
    assert about_anns["reason"] == "prize_not_found" and about_anns["outcome"] == "REFUSED"
    assert history(arena, "dan").body["entries"] == []


# ---------------------------------------------------------------------------------------------- the other prize routes


def test_admin_prize_routes_answer_a_user_alike_for_any_prize(arena: Arena) -> None:
    """Given dan's custom prize (claimed, so it awaits fulfilment), ann's prize and a missing one
    When dan, as a user, calls fulfil, review and the payout callback on each
    Then every answer of a route is the same (403 forbidden_role before any prize is read); the admin still
    fulfils dan's prize and the wallet service still records a payout."""
    event_id = manual_event(arena)
    dans, anns, missing = prize_id(event_id, "dan", 3), prize_id(event_id, "ann", 0), prize_id(event_id, "zed", 3)
    assert claim(arena, "dan", dans).body["status"] == "CUSTOM_PENDING"
    dan = user_claims("dan")
    for call in (
        lambda p: fulfil(arena, p, "shipped", dan),
        lambda p: review(arena, p, "approve", "looks fine", dan),
        lambda p: payout(arena, "cl_" + p[3:], {"outcome": "PAID", "reference": "tx-1"}, dan),
    ):
        replies = [call(p) for p in (dans, anns, missing)]
        assert (replies[0].status, replies[0].code) == (403, "forbidden_role")
        _identical(*replies)

    assert fulfil(arena, dans, "Shipped by courier").body["status"] == "FULFILLED"
    cids = prize_id(event_id, "cid", 2)
    assert claim(arena, "cid", cids).body["status"] == "PAYOUT_REQUESTED"
    paid = payout(arena, "cl_" + cids[3:], {"outcome": "PAID", "reference": "tx-2"}, SERVICE)
    assert (paid.status, paid.body["status"]) == (200, "PAID")


def test_a_user_s_prizes_in_an_event_are_read_by_its_admins_and_managers_only(arena: Arena) -> None:
    """Given a distributed event (ann and bob have prizes, zed none) and a manager of another event
    When ann (a user) asks for her own prizes, bob's and zed's, and the other event's manager for the same
    Then each caller gets one answer for all three (403); an admin reads ann's prizes."""
    event_id = manual_event(arena)
    arena.new_event(manager_claims("mia"))  # mia manages an event of her own, not this one
    for caller in (user_claims("ann"), manager_claims("mia")):
        replies = [prize_route(arena, "get_user_prize", event_id, caller, userId=u) for u in ("ann", "bob", "zed")]
        assert replies[0].status == 403
        _identical(*replies)
    allowed = prize_route(arena, "get_user_prize", event_id, ADMIN, userId="ann")
    assert allowed.status == 200 and allowed.body["awards"][0]["amount"] == "1000"
