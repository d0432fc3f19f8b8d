"""Prize claims on moto: my prizes, claiming each type once, Idempotency-Key, owner only, deadlines on a
controllable clock, the expiry sweep, velocity limits, flagged accounts and Arena's own fraud checks sending claims
to review, approve/reject, payout callbacks, fulfilment, the append-only history and parallel claims.

Most tests distribute a seeded manual-claim event (tests/integration/claims.py): ann 1000 points (rule 0), bob
250.5 points (rule 1), cid 100 USDT (rule 2), dan a custom prize (rule 3), fay 10 points (rule 4).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.claims import (
    SERVICE,
    claim,
    flag,
    fulfil,
    history,
    manual_event,
    my_prizes,
    payout,
    prize_id,
    review,
    review_queue,
    route,
    sweep,
)
from tests.integration.conftest import ADMIN, Arena, trade, user_claims
from tests.integration.prizes import NOON, OPEN, PRIZES, balances, distribute, iso, prize_route, seeded_event

DEADLINE = NOON + timedelta(days=7)  # the run started at NOON with a 7-day window


def _ledger() -> Any:
    from arena.services import ledger

    return ledger


def _ledger_fails_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next ledger posting of the claims service raises, as a ledger outage right after a claim would."""
    from arena.services.claims import settlement as service

    real_post = service.ledger.post
    failures = iter([True])

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if next(failures, False):
            raise RuntimeError("ledger unavailable")
        return real_post(*args, **kwargs)

    monkeypatch.setattr(service.ledger, "post", flaky)


def _prize(event_id: str, user: str, rule: int) -> dict[str, Any]:
    from arena.domain.claims import PrizeRef
    from arena.store import user_prizes as store

    found = store.get_prize(PrizeRef(event_id, user, rule))
    assert found is not None
    return found


# ---------------------------------------------------------------------------------------------- my prizes


def test_my_prizes_lists_what_i_can_claim(arena: Arena) -> None:
    """Given a distributed manual-claim event
    When ann and dan ask for their prizes
    Then each sees only their own, with amount, type, event, deadline and status; an auto-mode prize is not shown
    as claimable (there is nothing to claim)."""
    event_id = manual_event(arena)
    reply = my_prizes(arena, "ann")
    assert reply.status == 200, reply
    assert reply.body["prizes"] == [
        {
            "prize_id": prize_id(event_id, "ann", 0),
            "event_id": event_id,
            "event_name": "December Volume Cup",
            "type": "points",
            "token": None,
            "description": None,
            "amount": "1000",
            "prize_rank": 1,
            "status": "CLAIMABLE",
            "claim_deadline": "2026-12-08T12:00:00.000Z",
            "claimable": True,
        }
    ]
    dan = my_prizes(arena, "dan").body["prizes"]
    assert [(p["type"], p["description"], p["claimable"]) for p in dan] == [("custom", "Signed hardware wallet", True)]
    assert my_prizes(arena, "eve").body["prizes"] == []  # did not qualify

    auto = seeded_event(arena, claim={"mode": "auto"}, prizes=PRIZES[2:3])
    assert distribute(arena, auto).status == 201
    cid = my_prizes(arena, "cid").body["prizes"]
    by_event = {p["event_id"]: (p["status"], p["claimable"]) for p in cid}
    assert by_event == {event_id: ("CLAIMABLE", True), auto: ("PAYOUT_REQUESTED", False)}
    assert claim(arena, "cid", prize_id(auto, "cid", 0)).code == "not_claimable"


# ---------------------------------------------------------------------------------------------- claiming each type


def test_claiming_points_credits_them_once(arena: Arena) -> None:
    """Given ann's 1000 points waiting in the event's claims account
    When she claims them, then claims again
    Then the points move to her account once under the claim's id, the repeat is refused (409 already_claimed),
    the prize leaves "my prizes", and the ledger sums to zero."""
    ledger = _ledger()
    event_id = manual_event(arena)
    prize = prize_id(event_id, "ann", 0)
    reply = claim(arena, "ann", prize, note="main account please")
    assert reply.status == 200, reply
    assert reply.body["status"] == "CLAIMED" and reply.body["amount"] == "1000"
    claim_id = reply.body["claim_id"]
    assert claim_id == "cl_" + prize[3:]
    assert ledger.balance("user:ann") == Decimal(1000)
    assert ledger.balance(f"event-claims:{event_id}") == Decimal("260.5")
    posting = ledger.get_posting(claim_id)
    assert posting is not None and posting.kind == "prize_claim"

    again = claim(arena, "ann", prize)
    assert (again.status, again.code) == (409, "already_claimed")
    assert ledger.balance("user:ann") == Decimal(1000) and ledger.out_of_balance() == 0
    assert my_prizes(arena, "ann").body["prizes"] == []
    assert _prize(event_id, "ann", 0)["settled_at"]


def test_a_token_prize_requests_one_payout_and_records_its_outcome(arena: Arena, bus: Any) -> None:
    """Given cid's 100 USDT prize
    When cid claims it, and the wallet service calls back PAID (twice)
    Then one PayoutRequested goes out with the claim id as payout id, the prize is PAYOUT_REQUESTED, then PAID; a
    repeat of PAID returns the same, FAILED after PAID is refused, a user may not call back, and an unknown
    payout id is 404."""
    event_id = manual_event(arena)
    bus.drain()
    reply = claim(arena, "cid", prize_id(event_id, "cid", 2))
    assert reply.status == 200 and reply.body["status"] == "PAYOUT_REQUESTED", reply
    claim_id = reply.body["claim_id"]
    published = bus.drain()
    assert [name for name, _ in published] == ["PayoutRequested"]
    detail = published[0][1]
    assert (detail["payout_id"], detail["user_id"], detail["token"], detail["amount"]) == (
        claim_id,
        "cid",
        "USDT",
        "100",
    )

    assert payout(arena, claim_id, {"outcome": "PAID"}, user_claims("cid")).status == 403
    paid = payout(arena, claim_id, {"outcome": "PAID", "reference": "wallet-tx-1"})
    assert paid.status == 200 and paid.body["status"] == "PAID", paid
    assert payout(arena, claim_id, {"outcome": "PAID", "reference": "wallet-tx-1"}).body["status"] == "PAID"
    late = payout(arena, claim_id, {"outcome": "FAILED", "reason": "address closed"})
    assert (late.status, late.code) == (409, "payout_settled")
    assert payout(arena, "cl_nope", {"outcome": "PAID"}).status == 404
    assert payout(arena, "cl_" + prize_id(event_id, "ann", 0)[3:], {"outcome": "PAID"}).status == 404  # points
    # no second payout request; PrizePaid once, for the callback that made it PAID
    assert [name for name, _ in bus.drain()] == ["PrizePaid"]
    outcomes = [(e["action"], e["outcome"]) for e in history(arena, "cid").body["entries"]]
    assert sorted(outcomes) == [("claim", "PAYOUT_REQUESTED"), ("payout", "PAID")]


def test_a_failed_payout_can_still_be_confirmed_later(arena: Arena) -> None:
    """Given a claimed token prize whose payout the wallet reported FAILED
    When the wallet retries on its side and confirms it
    Then FAILED -> PAID is recorded."""
    event_id = manual_event(arena)
    claim_id = claim(arena, "cid", prize_id(event_id, "cid", 2)).body["claim_id"]
    failed = payout(arena, claim_id, {"outcome": "FAILED", "reason": "wallet offline"})
    assert failed.status == 200 and failed.body["status"] == "PAYOUT_FAILED"
    assert payout(arena, claim_id, {"outcome": "PAID", "reference": "tx-2"}).body["status"] == "PAID"


def test_the_payout_callback_also_confirms_auto_mode_payouts(arena: Arena) -> None:
    """Given an auto mode event whose distribution requested the payout under prize:<event>:<user>:<rule>
    When the payout callback confirms it
    Then the prize is PAID."""
    event_id = seeded_event(arena, claim={"mode": "auto"})
    assert distribute(arena, event_id).status == 201
    reply = payout(arena, f"prize:{event_id}:cid:2", {"outcome": "PAID", "reference": "tx-auto"})
    assert reply.status == 200 and reply.body["status"] == "PAID", reply


def _dry_run_statuses(arena: Arena, event_id: str) -> dict[tuple[str, int], str]:
    awards = prize_route(arena, "validate_prizes", event_id).body["awards"]
    return {(a["user_id"], a["rule_index"]): a["status"] for a in awards}


def test_a_custom_prize_waits_for_an_admin_to_fulfil_it(arena: Arena) -> None:
    """Given dan's custom prize
    When dan claims it and an admin marks it fulfilled (twice)
    Then it is CUSTOM_PENDING, then FULFILLED; only admins may fulfil; a points prize cannot be fulfilled; the
    manager's dry run of the distributed event shows each prize's status as it goes (what is left to fulfil)."""
    event_id = manual_event(arena)
    prize = prize_id(event_id, "dan", 3)
    assert _dry_run_statuses(arena, event_id)[("dan", 3)] == "CLAIMABLE"
    assert fulfil(arena, prize, "too early").code == "not_pending"
    reply = claim(arena, "dan", prize)
    assert reply.status == 200 and reply.body["status"] == "CUSTOM_PENDING", reply
    assert _dry_run_statuses(arena, event_id)[("dan", 3)] == "CUSTOM_PENDING"
    assert fulfil(arena, prize, "shipped", user_claims("dan")).status == 403
    done = fulfil(arena, prize, "Shipped by courier, tracking 1Z999")
    assert done.status == 200 and done.body["status"] == "FULFILLED", done
    assert fulfil(arena, prize, "Shipped by courier, tracking 1Z999").body["status"] == "FULFILLED"
    assert fulfil(arena, prize_id(event_id, "ann", 0), "n/a").code == "not_custom"
    statuses = _dry_run_statuses(arena, event_id)
    assert statuses[("dan", 3)] == "FULFILLED" and statuses[("ann", 0)] == "CLAIMABLE"
    entries = history(arena, "dan").body["entries"]
    assert {(e["action"], e["outcome"], e["actor"]) for e in entries} == {
        ("claim", "CUSTOM_PENDING", "dan"),
        ("fulfil", "FULFILLED", "admin-1"),
    }


# ---------------------------------------------------------------------------------------------- idempotency


def test_an_idempotency_key_replays_the_first_answer(arena: Arena) -> None:
    """Given ann's claim with Idempotency-Key k1
    When she repeats it with k1 (same request), with k1 and another note, and with k1 for another prize
    Then the repeat returns the first answer (200, same claim and time, even an hour later); the others are refused
    with 422 idempotency_key_reused; the points moved once."""
    ledger = _ledger()
    event_id = manual_event(arena)
    prize = prize_id(event_id, "ann", 0)
    first = claim(arena, "ann", prize, key="k1", note="hello")
    assert first.status == 200, first
    arena.clock.set(NOON + timedelta(hours=1))
    repeat = claim(arena, "ann", prize, key="k1", note="hello")
    assert (repeat.status, repeat.body) == (200, first.body)
    other_body = claim(arena, "ann", prize, key="k1", note="changed")
    assert (other_body.status, other_body.code) == (422, "idempotency_key_reused")
    other_prize = claim(arena, "ann", prize_id(event_id, "bob", 1), key="k1", note="hello")
    assert (other_prize.status, other_prize.code) == (422, "idempotency_key_reused")
    # Keys belong to their user: bob's k1 is his own (and this prize is not his: to him it does not exist).
    assert claim(arena, "bob", prize, key="k1", note="hello").code == "prize_not_found"
    assert ledger.balance("user:ann") == Decimal(1000)
    long_key = claim(arena, "ann", prize, key="x" * 256)
    assert long_key.status == 422


# ---------------------------------------------------------------------------------------------- owner, ids


def test_only_the_owner_can_claim_and_bad_ids_are_404(arena: Arena) -> None:
    """Given ann's prize
    When bob claims it, and anyone claims ids this API never issued
    Then bob is refused as if ann's prize did not exist (404 prize_not_found, like the others: test_claim_privacy.py
    checks it byte for byte), never a 500; each attempt is in the claimant's history."""
    event_id = manual_event(arena)
    refused = claim(arena, "bob", prize_id(event_id, "ann", 0))
    assert (refused.status, refused.code) == (404, "prize_not_found")
    bad_ids = (
        "garbage",
        "pz_%%%",
        "pz_a#b",
        "pz_" + "A" * 300,
        prize_id(event_id, "ann", 7),
        prize_id("01nosuch", "ann"),
    )
    for bad in bad_ids:
        reply = claim(arena, "bob", bad)
        # "pz_a#b" matches no route pattern: the resolver's 404 (never a 500), before any claim code runs
        assert (reply.status, reply.code) == (404, "not_found" if "#" in bad else "prize_not_found"), (bad, reply)
    entries = history(arena, "bob").body["entries"]
    assert len(entries) == 6 and {e["outcome"] for e in entries} == {"REFUSED"}
    assert {e["reason"] for e in entries} == {"prize_not_found"}
    assert _prize(event_id, "ann", 0)["status"] == "CLAIMABLE"


# ---------------------------------------------------------------------------------------------- deadlines, sweep


def test_the_deadline_with_a_controllable_clock(arena: Arena) -> None:
    """Given prizes claimable until NOON + 7 days
    When ann claims a millisecond before the deadline, and bob claims at the deadline (the sweep not yet run)
    Then ann is paid; bob is refused (409 claim_deadline_passed) and his prize is no longer listed as claimable."""
    event_id = manual_event(arena)
    arena.clock.set(DEADLINE - timedelta(milliseconds=1))
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).status == 200
    arena.clock.set(DEADLINE)
    late = claim(arena, "bob", prize_id(event_id, "bob", 1))
    assert (late.status, late.code) == (409, "claim_deadline_passed")
    assert my_prizes(arena, "bob").body["prizes"] == []


def test_the_sweep_expires_unclaimed_prizes_back_to_the_pool(arena: Arena) -> None:
    """Given ann claimed and the others did not
    When the hourly sweep runs before the deadline, after it, and again
    Then before: nothing; after: every unclaimed prize is EXPIRED, its points back in the event's pool, the claims
    account empty, the ledger summing to zero, each expiry in its owner's history; again: nothing more (idempotent)."""
    ledger = _ledger()
    event_id = manual_event(arena)
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).status == 200
    assert sweep(arena)["expired"] == 0
    arena.clock.set(DEADLINE + timedelta(minutes=30))
    done = sweep(arena)
    assert done["expired"] == 4 and done["events"] == 1, done
    assert {u: _prize(event_id, u, r)["status"] for u, r in (("bob", 1), ("cid", 2), ("dan", 3), ("fay", 4))} == {
        "bob": "EXPIRED",
        "cid": "EXPIRED",
        "dan": "EXPIRED",
        "fay": "EXPIRED",
    }
    assert ledger.balance(f"event-pool:{event_id}") == Decimal("260.5")
    assert ledger.balance(f"event-claims:{event_id}") == 0
    assert ledger.out_of_balance() == 0
    assert [(e["action"], e["outcome"]) for e in history(arena, "bob").body["entries"]] == [("expire", "EXPIRED")]
    assert sweep(arena) == {"expired": 0, "settled": 0, "reminded": 0, "events": 0}  # the event is settled: skipped
    late = claim(arena, "bob", prize_id(event_id, "bob", 1))
    assert late.code == "claim_deadline_passed"


def test_rejected_and_expired_prizes_return_to_the_pool_and_the_ledger_sums_to_zero(arena: Arena) -> None:
    """Given bob's account flagged, so his claim waits for review; ann claims; the others never do
    When an admin rejects bob's claim with a reason and the sweep runs after the deadline
    Then bob's 250.5 and fay's 10 points are back in the pool, ann has her 1000, the claims account is empty, and
    every balance of the ledger sums to exactly zero."""
    ledger = _ledger()
    event_id = manual_event(arena)
    assert flag(arena, "bob", True, "Linked to a closed account").status == 200
    held = claim(arena, "bob", prize_id(event_id, "bob", 1))
    assert held.status == 200 and held.body["status"] == "IN_REVIEW", held
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).status == 200
    rejected = review(arena, prize_id(event_id, "bob", 1), "reject", "Same owner as a closed account")
    assert rejected.status == 200 and rejected.body["status"] == "REJECTED", rejected
    arena.clock.set(DEADLINE + timedelta(hours=1))
    assert sweep(arena)["expired"] == 3  # cid, dan, fay
    assert balances() == {
        "issuance": Decimal("-1260.5"),
        f"event-pool:{event_id}": Decimal("260.5"),
        "user:ann": Decimal(1000),
    }
    assert ledger.out_of_balance() == 0
    posting = ledger.get_posting(f"prize-rejected:{event_id}:bob:1")
    assert posting is not None and posting.amount_for(f"event-pool:{event_id}") == Decimal("250.5")


# ---------------------------------------------------------------------------------------------- velocity


def test_claim_velocity_is_limited_per_user(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a limit of 3 claim attempts per user per minute
    When ann makes a 4th attempt within the minute
    Then it is refused with 429 claim_velocity_exceeded saying the limit and when to retry; bob is not affected;
    in the next minute ann may claim again."""
    from arena.config import settings

    monkeypatch.setenv("CLAIM_VELOCITY_LIMIT", "3")
    settings.cache_clear()
    event_id = manual_event(arena)
    for _ in range(3):
        assert claim(arena, "ann", prize_id(event_id, "bob", 1)).status == 404
    refused = claim(arena, "ann", prize_id(event_id, "ann", 0))
    assert (refused.status, refused.code) == (429, "claim_velocity_exceeded"), refused
    assert refused.body["error"]["details"] == {"limit": 3, "window_seconds": 60, "retry_after_seconds": 60}
    assert claim(arena, "bob", prize_id(event_id, "bob", 1)).status == 200
    arena.clock.set(NOON + timedelta(seconds=60))
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).status == 200
    reasons = [e["reason"] for e in history(arena, "ann").body["entries"]]
    assert reasons.count("claim_velocity_exceeded") == 1


# ---------------------------------------------------------------------------------------------- review


def test_a_flagged_account_goes_to_review_and_an_approval_pays(arena: Arena) -> None:
    """Given the exchange flagged ann (service role; audited)
    When ann claims her 1000 points
    Then nothing is paid: the claim is IN_REVIEW and in the admin's review queue with the reason; a user may not
    flag nor read the queue; an admin approves with a reason and the points are credited; the queue is empty; the
    flag cleared, fay's next claim is paid directly."""
    from arena.store import audit

    ledger = _ledger()
    event_id = manual_event(arena)
    assert flag(arena, "ann", True, "KYC mismatch", user_claims("ann")).status == 403
    flagged = flag(arena, "ann", True, "KYC mismatch")
    assert flagged.status == 200 and flagged.body["flagged"] is True and flagged.body["set_by"] == "exchange-wallet"
    held = claim(arena, "ann", prize_id(event_id, "ann", 0))
    assert held.status == 200 and held.body["status"] == "IN_REVIEW", held
    assert ledger.balance("user:ann") == 0

    assert review_queue(arena, user_claims("ann")).status == 403
    queue = review_queue(arena).body["items"]
    assert [(i["user_id"], i["amount"], i["reasons"]) for i in queue] == [
        ("ann", "1000", ["account_flagged: KYC mismatch"])
    ]
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).code == "claim_in_review"
    assert review(arena, queue[0]["prize_id"], "approve", "ok", user_claims("ann")).status == 403
    approved = review(arena, queue[0]["prize_id"], "approve", "KYC re-checked by support")
    assert approved.status == 200 and approved.body["status"] == "CLAIMED", approved
    assert ledger.balance("user:ann") == Decimal(1000)
    assert review(arena, queue[0]["prize_id"], "approve", "again").body["status"] == "CLAIMED"  # idempotent
    assert review(arena, queue[0]["prize_id"], "reject", "changed my mind").code == "not_in_review"
    assert review_queue(arena).body["items"] == []
    assert ledger.balance("user:ann") == Decimal(1000)

    assert flag(arena, "fay", False, "cleared").status == 200
    assert claim(arena, "fay", prize_id(event_id, "fay", 4)).body["status"] == "CLAIMED"
    steps = {(e["action"], e["outcome"], e["reason"]) for e in history(arena, "ann").body["entries"]}
    # ann sees that her claim was held and approved, not why it was held (the flag is the exchange's signal)
    assert steps == {
        ("claim", "IN_REVIEW", "held_for_review"),
        ("claim", "REFUSED", "claim_in_review"),
        ("review", "CLAIMED", "KYC re-checked by support"),
    }
    audited = [(e["action"], e["reason"], e["actor"]) for e in audit.history("ACCOUNT#ann")]
    assert audited == [("account.flag", "KYC mismatch", "exchange-wallet")]


def test_a_review_decision_needs_a_reason_and_a_claim_in_review(arena: Arena) -> None:
    """Given a manual event's prize that is not in review
    When a decision is posted without a reason, with an unknown verdict, properly, and for an unknown prize
    Then they are 422, 422, 409 not_in_review and 404."""
    event_id = manual_event(arena)
    prize = prize_id(event_id, "ann", 0)
    assert review(arena, prize, "approve", "").status == 422
    assert review(arena, prize, "maybe", "x").status == 422
    assert review(arena, prize, "approve", "x").code == "not_in_review"
    assert review(arena, "pz_nope", "approve", "x").status == 404


def test_arenas_own_checks_send_wash_trading_and_end_bursts_to_review(arena: Arena) -> None:
    """Given a manual-claim volume event run through the real ingest and lifecycle, where
    * ann traded 4 of her 5 trades against the same counterparty "mm-1" (80% of her volume),
    * bob traded once early, then 5 times in the last 10 minutes (5/6 of his volume),
    * cid traded three times with three different counterparties, early
    When each claims their prize
    Then ann's and bob's claims go to review with the reason named; cid's token prize is paid out directly."""
    ledger = _ledger()
    event_id = arena.new_event(
        start_at=iso(NOON - timedelta(hours=1)),
        end_at=iso(NOON + timedelta(hours=1)),
        qualification=OPEN,
        prizes=PRIZES[:3],
        claim={"mode": "manual", "window_days": 14},
        markets=["BTC-USDT"],
        eligibility={"min_kyc_level": 0, "excluded_account_types": []},
    )["id"]
    for user in ("ann", "bob", "cid"):
        arena.joined(event_id, user)
    early = "2026-12-01T12:00:00Z"
    trades = [
        trade(f"A{i}", "ann", early, quantity="2") | {"counterparty_id": "mm-1" if i < 4 else "x"} for i in range(5)
    ]
    trades += [trade("B0", "bob", early) | {"counterparty_id": "p1"}]
    trades += [trade(f"C{i}", "cid", early, quantity="1") | {"counterparty_id": f"c{i}"} for i in range(3)]
    assert arena.ingest(trades).body["accepted"] == 9
    arena.clock.set(NOON + timedelta(minutes=55))
    late = [trade(f"B{i}", "bob", "2026-12-01T12:55:00Z") | {"counterparty_id": f"q{i}"} for i in range(1, 6)]
    assert arena.ingest(late).body["accepted"] == 5
    arena.stream.drain()
    arena.clock.set(NOON + timedelta(hours=2))
    arena._load("lifecycle", "check_event_status_transitions").lambda_handler({}, arena.context)
    assert distribute(arena, event_id).status == 201

    ann = claim(arena, "ann", prize_id(event_id, "ann", 0))
    assert ann.body["status"] == "IN_REVIEW", ann
    bob = claim(arena, "bob", prize_id(event_id, "bob", 1))
    assert bob.body["status"] == "IN_REVIEW", bob
    cid = claim(arena, "cid", prize_id(event_id, "cid", 2))
    assert cid.body["status"] == "PAYOUT_REQUESTED", cid
    assert ledger.balance("user:ann") == 0 and ledger.balance("user:bob") == 0
    assert {i["user_id"]: i["reasons"] for i in review_queue(arena).body["items"]} == {
        "ann": ["counterparty_concentration: mm-1 took 80.0% of the volume"],
        "bob": ["end_burst: 5 trades, 83.3% of the volume just before the end"],
    }


# ---------------------------------------------------------------------------------------------- history


def test_the_claim_history_pages_with_a_cursor_and_is_append_only(arena: Arena) -> None:
    """Given five claim attempts by ann at five different times
    When she reads her history two at a time
    Then the pages hold every entry once, newest first; someone else's cursor and a forged one are 400; a history
    entry's key cannot be written twice."""
    from arena.store import claims as store

    event_id = manual_event(arena)
    for minute in range(4):
        arena.clock.set(NOON + timedelta(minutes=minute))
        claim(arena, "ann", prize_id(event_id, "bob", 1))
    arena.clock.set(NOON + timedelta(minutes=5))
    claim(arena, "ann", prize_id(event_id, "ann", 0))
    seen, cursor = [], None
    while True:
        page = history(arena, "ann", {"limit": "2", **({"cursor": cursor} if cursor else {})})
        assert page.status == 200, page
        seen.extend(page.body["entries"])
        if not (cursor := page.body["next_cursor"]):
            break
        assert len(page.body["entries"]) == 2
    assert [e["outcome"] for e in seen] == ["CLAIMED"] + ["REFUSED"] * 4
    assert [e["at"] for e in seen] == sorted((e["at"] for e in seen), reverse=True)

    claim(arena, "bob", prize_id(event_id, "ann", 0))
    bobs = history(arena, "bob", {"limit": "1"})
    claim(arena, "bob", prize_id(event_id, "ann", 0))
    foreign = history(arena, "ann", {"cursor": history(arena, "bob", {"limit": "1"}).body["next_cursor"]})
    assert (foreign.status, foreign.code) == (400, "invalid_cursor"), bobs
    assert history(arena, "ann", {"cursor": "not-a-cursor"}).status == 400

    import boto3
    from botocore.exceptions import ClientError

    action = store.history_entry("ann", NOON, {"action": "claim", "outcome": "CLAIMED", "actor": "ann"})["Put"]
    boto3.client("dynamodb").put_item(**action)
    with pytest.raises(ClientError) as refused:
        boto3.client("dynamodb").put_item(**action)  # the same entry again: refused, never overwritten
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


# ---------------------------------------------------------------------------------------------- crashes, rollback


def test_a_claim_whose_settlement_failed_is_finished_by_the_sweep(
    arena: Arena, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the ledger fails once right after ann's claim was accepted
    When the claim answers and the sweep runs
    Then the claim is CLAIMED (accepted and recorded), the sweep moves the points exactly once, a second sweep
    does nothing."""
    from arena.services import ledger

    event_id = manual_event(arena)
    _ledger_fails_once(monkeypatch)
    reply = claim(arena, "ann", prize_id(event_id, "ann", 0))
    assert reply.status == 200 and reply.body["status"] == "CLAIMED", reply
    assert ledger.balance("user:ann") == 0 and "settled_at" not in _prize(event_id, "ann", 0)
    assert sweep(arena)["settled"] == 1
    assert ledger.balance("user:ann") == Decimal(1000)
    assert sweep(arena)["settled"] == 0
    assert ledger.balance("user:ann") == Decimal(1000) and ledger.out_of_balance() == 0


def test_a_repeated_claim_finishes_a_crashed_settlement(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the ledger failed right after ann's claim was accepted
    When ann repeats the claim (no Idempotency-Key)
    Then the repeat is refused as already claimed, and the points have moved, once."""
    from arena.services import ledger

    event_id = manual_event(arena)
    _ledger_fails_once(monkeypatch)
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).body["status"] == "CLAIMED"
    assert ledger.balance("user:ann") == 0
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).code == "already_claimed"
    assert ledger.balance("user:ann") == Decimal(1000) and ledger.out_of_balance() == 0


def test_a_claim_in_review_keeps_its_event_in_the_sweep(arena: Arena) -> None:
    """Given bob's claim waiting for review past the deadline
    When the sweep runs, then an admin approves, then the sweep runs twice more
    Then the claim in review is neither expired nor dropped (the event is swept again), the approval pays it, and
    afterwards the event is settled and skipped."""
    ledger = _ledger()
    event_id = manual_event(arena)
    flag(arena, "bob", True, "manual check")
    assert claim(arena, "bob", prize_id(event_id, "bob", 1)).body["status"] == "IN_REVIEW"
    arena.clock.set(DEADLINE + timedelta(days=1))
    assert sweep(arena)["expired"] == 4
    assert _prize(event_id, "bob", 1)["status"] == "IN_REVIEW"
    assert sweep(arena)["events"] == 1
    assert review(arena, prize_id(event_id, "bob", 1), "approve", "checked").body["status"] == "CLAIMED"
    assert ledger.balance("user:bob") == Decimal("250.5")
    assert sweep(arena)["events"] == 1  # settles nothing new, marks the event settled
    assert sweep(arena)["events"] == 0
    assert ledger.out_of_balance() == 0


def test_a_rollback_refuses_claimed_prizes(arena: Arena) -> None:
    """Given ann claimed her points
    When an admin rolls the distribution back
    Then ann's prize is refused (reason "claimed") and kept; the unclaimed ones are rolled back; a rolled-back
    prize cannot be claimed."""
    event_id = manual_event(arena)
    assert claim(arena, "ann", prize_id(event_id, "ann", 0)).status == 200
    back = prize_route(arena, "rollback_prizes", event_id, body={"reason": "Wash trading"})
    assert back.status == 200, back
    assert [(r["user_id"], r["reason"]) for r in back.body["refused"]] == [("ann", "claimed")]
    assert claim(arena, "bob", prize_id(event_id, "bob", 1)).code == "not_claimable"


def test_a_claim_landing_during_a_rollback_is_not_overwritten(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a rollback that has read the prizes while all were still CLAIMABLE
    When ann claims hers before the rollback writes
    Then the rollback's transaction is refused, the batch is read again, ann's claim stands (refused "claimed",
    her points hers) and the rest is rolled back; the ledger sums to zero."""
    from arena.services.distribution import rollback as distribution

    event_id = manual_event(arena)
    stale = distribution.store.prizes(event_id)
    original = distribution.store.prizes
    reads = []

    def prizes_then_a_claim(event: str) -> list[dict[str, Any]]:
        if not reads:  # the rollback's first read, and ann's claim right after it
            reads.append(event)
            assert claim(arena, "ann", prize_id(event_id, "ann", 0)).status == 200
            return stale
        return original(event)

    monkeypatch.setattr(distribution.store, "prizes", prizes_then_a_claim)
    back = prize_route(arena, "rollback_prizes", event_id, body={"reason": "Wash trading"})
    assert back.status == 200, back
    assert [(r["user_id"], r["reason"]) for r in back.body["refused"]] == [("ann", "claimed")]
    assert _ledger().balance("user:ann") == Decimal("1000") and _ledger().out_of_balance() == 0
    assert _prize(event_id, "ann", 0)["status"] == "CLAIMED"


# ---------------------------------------------------------------------------------------------- concurrency


def test_parallel_claims_of_one_prize_succeed_once(
    arena: Arena, load_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given 20 Lambdas (fresh handler instances) claiming ann's prize at the same moment, half of them with
    Idempotency-Keys of their own
    When they all run
    Then exactly one claim is accepted, every other answer is 409, and the points moved once.
    (The local-stack test in tests/e2e/test_claims_stack.py does the same with 100 claims over HTTP.)"""
    from arena.config import settings

    from tests.conftest import api_event

    monkeypatch.setenv("CLAIM_VELOCITY_LIMIT", "1000")  # the status machine is under test here, not velocity
    settings.cache_clear()

    ledger = _ledger()
    event_id = manual_event(arena)
    prize = prize_id(event_id, "ann", 0)
    modules = [load_handler("claims", "claim_prize", fresh=True) for _ in range(20)]
    start = threading.Barrier(len(modules), timeout=120)
    answers: list[int] = []

    def run(index: int) -> None:
        event = api_event("claims/claim_prize.json", path={"prizeId": prize}, body={}, claims=user_claims("ann"))
        event["headers"] = {k: v for k, v in event["headers"].items() if k != "idempotency-key"}
        if index % 2:
            event["headers"]["idempotency-key"] = f"key-{index}"
        start.wait()
        answers.append(arena.call("claims/claim_prize", event, module=modules[index]).status)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(modules))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200] + [409] * 19
    assert ledger.balance("user:ann") == Decimal(1000) and ledger.out_of_balance() == 0


def test_claim_routes_need_a_token(arena: Arena) -> None:
    """Given claim routes
    When called without a token, with a malformed user id, and with a bad cursor
    Then they answer 401, 422 and 400."""
    from tests.conftest import api_event

    event = api_event("claims/get_my_prizes.json")
    event["requestContext"]["authorizer"] = {}
    assert arena.call("claims/get_my_prizes", event).status == 401
    assert (
        route(arena, "set_account_flag", SERVICE, path={"userId": "a:b"}, body={"flagged": True, "reason": "x"}).status
        == 422
    )
    assert route(arena, "list_claim_reviews", ADMIN, query={"cursor": "bad"}).status == 400
