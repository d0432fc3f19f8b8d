"""Prize distribution on moto: the dry run, one run per event, batches, the ledger postings, payouts requested,
verification, crash-and-resume at every write, rollback, status and permissions.

Most tests seed a COMPLETED event directly (frozen results written, status set) to stay fast; one goes through the
real lifecycle (trades, sweep, frozen results) first.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import api_event
from tests.integration.conftest import ADMIN, Arena, Reply, manager_claims, trade, user_claims
from tests.integration.prizes import (
    CROWD,
    NOON,
    OPEN,
    PRIZES,
    UNQUALIFIED,
    Bus,
    balances,
    distribute,
)
from tests.integration.prizes import iso as _iso
from tests.integration.prizes import prize_route as _route
from tests.integration.prizes import seeded_event as _seeded_event


def validate(arena: Arena, event_id: str, claims: dict[str, Any] | None = None) -> Reply:
    return _route(arena, "validate_prizes", event_id, claims)


def user_prize(arena: Arena, event_id: str, user_id: str, claims: dict[str, Any] | None = None) -> Reply:
    return _route(arena, "get_user_prize", event_id, claims, userId=user_id)


def status(arena: Arena, event_id: str, claims: dict[str, Any] | None = None) -> Reply:
    return _route(arena, "get_distribution", event_id, claims)


def rollback(arena: Arena, event_id: str, claims: dict[str, Any] | None = None, reason: str = "Wash trading") -> Reply:
    return _route(arena, "rollback_prizes", event_id, claims, body={"reason": reason})


def ledger_lines(event_id: str) -> Counter[tuple[str, Decimal, str]]:
    """Every ledger entry line of the event's postings: (account, amount, idempotency key), the event id replaced
    by "E" so that two events' ledgers compare. Every posting of a distribution moves points in or out of the event
    pool, so the pool's history names them all; each posting then gives all its lines."""
    from arena.services import ledger

    pool = f"event-pool:{event_id}"
    lines: Counter[tuple[str, Decimal, str]] = Counter()
    cursor = None
    while True:
        page = ledger.history(pool, 100, cursor)
        for entry in page.entries:
            posting = ledger.get_posting(entry.idempotency_key)
            assert posting is not None and posting.posting_id == entry.posting_id
            key = entry.idempotency_key.replace(event_id, "E")
            for leg in posting.legs:
                lines[(leg.account.replace(event_id, "E"), leg.amount, key)] += 1
        if not (cursor := page.next_cursor):
            return lines


# ---------------------------------------------------------------------------------------------- the dry run


def test_validate_shows_who_gets_what_and_the_totals(arena: Arena) -> None:
    """Given a COMPLETED event whose third-placed trader did not qualify
    When an admin validates the distribution
    Then the prizes roll down past her, the totals per currency add up, and there is no problem."""
    event_id = _seeded_event(arena)
    reply = validate(arena, event_id)
    assert reply.status == 200, reply
    body = reply.body
    assert body["ok"] is True and body["problems"] == []
    assert (body["results_count"], body["eligible_count"]) == (6, 5)
    got = [(a["user_id"], a["prize_rank"], a["type"], a["amount"]) for a in body["awards"]]
    assert got == [
        ("ann", 1, "points", "1000"),
        ("bob", 2, "points", "250.5"),
        ("cid", 3, "token", "100"),
        ("dan", 4, "custom", "1"),
        ("fay", 5, "points", "10"),
    ]
    assert body["pool_total"] == {"points": "1260.5", "token:USDT": "100", "custom:Signed hardware wallet": "1"}
    assert body["paid"] == body["pool_total"]
    assert set(body["treasury"].values()) == {"0"}
    assert body["awards"][0]["key"] == f"prize:{event_id}:ann:0"


def test_validate_lists_every_problem(arena: Arena) -> None:
    """Given an event still UPCOMING, one without a prize table and one where nobody qualified
    When validated
    Then each lists its problems, and distributing any of them is refused with 409."""
    upcoming = _seeded_event(arena, complete=False)
    no_prizes = _seeded_event(arena, prizes=[])
    nobody = _seeded_event(arena, unqualified={user for user, _ in CROWD})

    problems = validate(arena, upcoming).body["problems"]
    assert any("not COMPLETED" in p for p in problems)
    assert "the event has no prize table" in validate(arena, no_prizes).body["problems"]
    assert any("nobody is eligible" in p for p in validate(arena, nobody).body["problems"])
    assert validate(arena, nobody).body["ok"] is False

    assert distribute(arena, upcoming).code == "event_not_completed"
    for event_id in (no_prizes, nobody):
        reply = distribute(arena, event_id)
        assert (reply.status, reply.code) == (409, "distribution_invalid"), reply
        assert reply.body["error"]["details"]["problems"]
    assert ledger_lines(nobody) == Counter()


# ---------------------------------------------------------------------------------------------- distribution


def test_a_distribution_pays_the_plan_once(arena: Arena, bus: Bus) -> None:
    """Given a COMPLETED event
    When an admin distributes its prizes
    Then points are credited from the event pool funded by issuance, the token prize is requested as a payout,
    the custom prize waits for an admin, the run is COMPLETED and PrizesDistributed is published once."""
    from arena.services import ledger

    event_id = _seeded_event(arena)
    reply = distribute(arena, event_id)
    assert reply.status == 201, reply
    run = reply.body
    assert (run["status"], run["award_count"], run["batch_count"], run["batches_done"]) == ("COMPLETED", 5, 1, 1)

    assert ledger.balance("user:ann") == Decimal("1000")
    assert ledger.balance("user:bob") == Decimal("250.5")
    assert ledger.balance("user:fay") == Decimal("10")
    assert ledger.balance(f"event-pool:{event_id}") == 0
    assert ledger_lines(event_id) == Counter(
        {
            ("issuance", Decimal("-1260.5"), "prize-pool:E"): 1,
            ("event-pool:E", Decimal("1260.5"), "prize-pool:E"): 1,
            # One posting pays the batch: the pool's debit and a credit per winner, with the prize records.
            ("event-pool:E", Decimal("-1260.5"), "prize-batch:E:0"): 1,
            ("user:ann", Decimal("1000"), "prize-batch:E:0"): 1,
            ("user:bob", Decimal("250.5"), "prize-batch:E:0"): 1,
            ("user:fay", Decimal("10"), "prize-batch:E:0"): 1,
        }
    )
    published = bus.drain()
    assert [name for name, _ in published] == ["PayoutRequested", "PrizesDistributed"]
    payout = published[0][1]
    assert payout == {
        "payout_id": f"prize:{event_id}:cid:2",
        "event_id": event_id,
        "user_id": "cid",
        "rule_index": 2,
        "token": "USDT",
        "amount": "100",
    }
    statuses = {u: user_prize(arena, event_id, u).body["awards"] for u in ("ann", "cid", "dan", "eve")}
    assert [a["status"] for a in statuses["ann"]] == ["CREDITED"]
    assert [a["status"] for a in statuses["cid"]] == ["PAYOUT_REQUESTED"]
    assert [a["status"] for a in statuses["dan"]] == ["CUSTOM_PENDING"]
    assert statuses["eve"] == []

    again = distribute(arena, event_id)
    assert again.status == 200 and again.body["run_id"] == run["run_id"] and again.body["status"] == "COMPLETED"
    assert bus.drain() == []
    assert sum(ledger_lines(event_id).values()) == 6


def test_a_distribution_after_the_real_lifecycle(arena: Arena) -> None:
    """Given traders ranked by the live leaderboard and an event completed by the minute sweep
    When its manager distributes the prizes
    Then the frozen results decide who is paid."""
    from arena.services import ledger

    manager = manager_claims("mgr-1")
    event_id = arena.new_event(
        manager,
        start_at=_iso(NOON - timedelta(hours=1)),
        end_at=_iso(NOON + timedelta(hours=1)),
        qualification=OPEN,
        prizes=PRIZES[:2],
        claim={"mode": "auto"},
    )["id"]
    for user, quantity in (("ann", "2"), ("bob", "5"), ("cid", "1")):
        arena.joined(event_id, user)
        assert arena.ingest([trade(f"T-{user}", user, "2026-12-01T12:00:00Z", quantity=quantity)]).body["accepted"]
    arena.stream.drain()
    arena.clock.set(NOON + timedelta(hours=2))
    sweep = arena._load("lifecycle", "check_event_status_transitions").lambda_handler({}, arena.context)
    assert sweep["moved"][event_id][-1] == "FINALIZING->COMPLETED"

    reply = distribute(arena, event_id, manager)
    assert reply.status == 201, reply
    assert ledger.balance("user:bob") == Decimal("1000")
    assert ledger.balance("user:ann") == Decimal("250.5")
    assert ledger.balance("user:cid") == 0


def test_two_distribute_requests_start_one_run(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given two distribute requests for one event, in two Lambdas at once, both finding no run yet
    When both try to create it
    Then one run is created (201), the other request answers that same run (200), and every prize is paid once."""
    import threading

    from arena.store import distribution as store

    event_id = _seeded_event(arena)
    create_run = store.create_run
    both_planned = threading.Barrier(2, timeout=120)  # a loaded machine starts threads late

    def racing(event: str, run: dict[str, Any]) -> bool:
        both_planned.wait()  # both requests have read "no run" and planned
        return create_run(event, run)

    monkeypatch.setattr(store, "create_run", racing)
    replies: list[Reply] = []

    def request() -> None:
        module = arena._load("prizes", "distribute_prizes", fresh=True)
        event = api_event("prizes/distribute_prizes.json", path={"eventId": event_id})
        replies.append(arena.call("prizes/distribute_prizes", event, module=module))

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.status for r in replies) == [200, 201], replies
    assert replies[0].body["run_id"] == replies[1].body["run_id"]
    assert {r.body["status"] for r in replies} == {"COMPLETED"}
    assert sum(ledger_lines(event_id).values()) == 6


def test_a_second_planner_never_turns_a_paid_batch_back_to_pending(arena: Arena) -> None:
    """Given a distribution whose batches are paid (DONE)
    When another request that planned the same run at the same moment writes the plan's batches again
    Then every batch stays DONE (batches are written once), so the run verifies."""
    from dataclasses import replace

    from arena.domain.statuses import BatchStatus
    from arena.store import distribution as store

    event_id = _seeded_event(arena)
    assert distribute(arena, event_id).status == 201
    paid = store.get_batch(event_id, 0)
    assert paid is not None and paid.status == BatchStatus.DONE

    store.put_batches(event_id, [replace(paid, status=BatchStatus.PENDING)])

    assert store.get_batch(event_id, 0).status == BatchStatus.DONE
    assert store.pending_batches(event_id) == []


# ---------------------------------------------------------------------------------------------- crash and resume

WRITES = (
    ("arena.store.distribution", "create_run"),
    ("arena.store.distribution", "put_batches"),
    ("arena.store.distribution", "set_run_status"),
    ("arena.store.distribution", "write_all"),
    ("arena.store.distribution", "put_prizes"),
    ("arena.store.distribution", "mark_payouts_published"),
    ("arena.services.ledger", "post"),
    ("arena.adapters.domain_events", "publish"),
)


class Crash(RuntimeError):
    pass


class Faults:
    """Counts every write of a distribution and crashes at the k-th, before it happens ("before": a write that
    failed) or after it ("after": a write that happened, its caller crashing before it could go on)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
        import importlib

        self.calls = 0
        self.crash_at: int | None = None
        self.mode = mode
        for module_name, name in WRITES:
            module = importlib.import_module(module_name)
            monkeypatch.setattr(module, name, self._wrap(getattr(module, name)))

    def _wrap(self, original: Any) -> Any:
        def write(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            crash = self.calls == self.crash_at
            if crash and self.mode == "before":
                raise Crash(f"crash before write {self.calls}")
            result = original(*args, **kwargs)
            if crash:
                raise Crash(f"crash after write {self.calls}")
            return result

        return write

    def arm(self, k: int | None) -> None:
        self.calls, self.crash_at = 0, k


def test_a_crash_after_any_write_resumes_to_the_same_ledger(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a distribution in batches of 2, crashing right after its k-th write (k = 1..N: the write happened, the
    caller never learnt it)
    When distribute is called again
    Then the run completes and the event's ledger equals, entry for entry, that of a run without faults."""
    from arena.services.distribution import workflow as distribution

    monkeypatch.setattr(distribution, "BATCH_SIZE", 2)
    faults = Faults(monkeypatch, "after")

    clean = _seeded_event(arena)
    faults.arm(None)  # after the seeding, whose EventPublished is no write of the distribution
    assert distribute(arena, clean).body["status"] == "COMPLETED"
    writes = faults.calls
    expected = ledger_lines(clean)
    # The pool funded (2 lines), batch 0 paying ann and bob (3), batch 1 a payout and a custom prize (no posting),
    # batch 2 paying fay (2).
    assert writes > 10 and sum(expected.values()) == 7

    for k in range(1, writes + 1):
        event_id = _seeded_event(arena)
        faults.arm(k)
        crashed = distribute(arena, event_id)
        assert crashed.status == 500, (k, crashed)
        faults.arm(None)
        resumed = distribute(arena, event_id)
        assert resumed.status in (200, 201), (k, resumed)
        assert resumed.body["status"] == "COMPLETED", (k, resumed)
        assert resumed.body["batches_done"] == resumed.body["batch_count"] == 3
        assert ledger_lines(event_id) == expected, k
        prizes = status(arena, event_id).body["prizes_by_status"]
        assert prizes == {"CREDITED": 3, "PAYOUT_REQUESTED": 1, "CUSTOM_PENDING": 1}, k


def test_status_shows_batch_progress(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a distribution in batches of 2 that crashes right after its first batch is done
    When its status is read
    Then it is DISTRIBUTING with one batch of three done; resuming finishes the rest."""
    from arena.services.distribution import workflow as distribution

    monkeypatch.setattr(distribution, "BATCH_SIZE", 2)
    event_id = _seeded_event(arena)
    assert status(arena, event_id).code == "distribution_not_found"
    original = distribution._publish_payouts

    def crash_after(*args: Any) -> None:  # called once a batch has committed
        original(*args)
        raise Crash("after the first batch")

    monkeypatch.setattr(distribution, "_publish_payouts", crash_after)
    assert distribute(arena, event_id).status == 500
    monkeypatch.setattr(distribution, "_publish_payouts", original)

    body = status(arena, event_id).body
    assert body["run"]["status"] == "DISTRIBUTING"
    assert (body["run"]["batches_done"], body["run"]["batch_count"]) == (1, 3)
    assert [(b["batch_index"], b["status"], b["awards"]) for b in body["batches"]] == [
        (0, "DONE", 2),
        (1, "PENDING", 2),
        (2, "PENDING", 1),
    ]
    assert body["batches"][0]["user_ids"] == ["ann", "bob"]
    assert body["prizes_by_status"] == {"CREDITED": 2}

    assert distribute(arena, event_id).body["status"] == "COMPLETED"
    body = status(arena, event_id).body
    assert [b["status"] for b in body["batches"]] == ["DONE"] * 3 and body["run"]["batches_done"] == 3


# ---------------------------------------------------------------------------------------------- rollback


def test_a_manual_claim_event_holds_every_prize_for_its_owner(arena: Arena, bus: Bus) -> None:
    """Given a COMPLETED event whose prizes must be claimed within 7 days
    When an admin distributes its prizes
    Then nobody is paid yet: the points wait in the event's claims account, no payout is requested, every prize
    is CLAIMABLE until the run's start plus 7 days, the run verifies and completes, and the ledger sums to zero."""
    from arena.services import ledger
    from arena.store import distribution as store

    event_id = _seeded_event(arena, claim={"mode": "manual", "window_days": 7})
    reply = distribute(arena, event_id)
    assert reply.status == 201 and reply.body["status"] == "COMPLETED", reply

    assert ledger.balance(f"event-claims:{event_id}") == Decimal("1260.5")
    assert ledger.balance(f"event-pool:{event_id}") == 0
    assert ledger.balance("user:ann") == 0 and ledger.out_of_balance() == 0
    assert [name for name, _ in bus.drain()] == ["PrizesDistributed"]
    prizes = store.prizes(event_id)
    assert {p["status"] for p in prizes} == {"CLAIMABLE"} and len(prizes) == 5
    assert {p["claim_deadline"] for p in prizes} == {"2026-12-08T12:00:00.000Z"}  # the run started at NOON

    # And a rollback returns the held points to the pool and the pool to issuance.
    back = rollback(arena, event_id)
    assert back.status == 200 and back.body["rolled_back"] == 5 and back.body["refused"] == []
    assert balances() == {}


def test_rollback_returns_every_balance_and_refuses_payouts(arena: Arena, bus: Bus) -> None:
    """Given a completed distribution
    When an admin rolls it back (twice)
    Then every balance is back to its value before the run, the points prizes and the custom prize are
    ROLLED_BACK, the requested token payout is refused and listed, and PrizesRolledBack is published once;
    the repeat moves nothing and says so (rolled_back 0 of 4 in total)."""
    from arena.services import lifecycle

    event_id = _seeded_event(arena)
    before = balances()
    assert distribute(arena, event_id).status == 201
    assert balances() != before
    bus.drain()

    reply = rollback(arena, event_id)
    assert reply.status == 200, reply
    assert reply.body["run"]["status"] == "ROLLED_BACK"
    assert (reply.body["rolled_back"], reply.body["rolled_back_total"]) == (4, 4)
    assert [(r["user_id"], r["type"], r["reason"]) for r in reply.body["refused"]] == [
        ("cid", "token", "payout_requested")
    ]
    assert balances() == before
    assert [name for name, _ in bus.drain()] == ["PrizesRolledBack"]
    assert status(arena, event_id).body["prizes_by_status"] == {"ROLLED_BACK": 4, "PAYOUT_REQUESTED": 1}
    lines = sum(ledger_lines(event_id).values())

    again = rollback(arena, event_id)
    assert again.status == 200 and (again.body["rolled_back"], again.body["rolled_back_total"]) == (0, 4)
    assert again.body["refused"] == reply.body["refused"]
    assert sum(ledger_lines(event_id).values()) == lines and balances() == before
    assert bus.drain() == []
    assert distribute(arena, event_id).code == "distribution_rolled_back"
    actions = [entry["action"] for entry in lifecycle.history(event_id)]
    assert actions == ["prizes.distribute", "prizes.rollback"]


def test_rollback_of_a_crashed_run(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a distribution that crashed half-way
    When it is rolled back
    Then what was paid is reversed and the pool returned: every balance is back where it was."""
    from arena.services.distribution import workflow as distribution

    monkeypatch.setattr(distribution, "BATCH_SIZE", 2)
    event_id = _seeded_event(arena)
    before = balances()
    original = distribution._publish_payouts
    monkeypatch.setattr(distribution, "_publish_payouts", lambda *a: (_ for _ in ()).throw(Crash("x")))
    assert distribute(arena, event_id).status == 500
    monkeypatch.setattr(distribution, "_publish_payouts", original)
    assert balances() != before

    reply = rollback(arena, event_id)
    assert reply.status == 200 and reply.body["refused"] == []
    assert balances() == before


# ---------------------------------------------------------------------------------------------- users and access


def test_calculate_user_prize_matches_the_plan(arena: Arena) -> None:
    """Given a COMPLETED event
    When each participant's prize is asked for
    Then it is exactly their part of the plan the dry run shows."""
    event_id = _seeded_event(arena)
    plan = validate(arena, event_id).body["awards"]
    for user, _ in CROWD:
        reply = user_prize(arena, event_id, user)
        assert reply.status == 200, reply
        assert reply.body["awards"] == [a for a in plan if a["user_id"] == user]
        assert reply.body["eligible"] is (user not in UNQUALIFIED)
    ann = user_prize(arena, event_id, "ann").body
    assert (ann["rank"], ann["prize_rank"], ann["totals"]) == (1, 1, {"points": "1000"})
    nobody = user_prize(arena, event_id, "zed").body
    assert (nobody["rank"], nobody["awards"], nobody["eligible"]) == (None, [], False)


def test_only_admins_and_the_events_managers_may(arena: Arena) -> None:
    """Given an event managed by mgr-1
    When a user or another manager calls any prize route
    Then 403; mgr-1 may."""
    manager = manager_claims("mgr-1")
    event_id = _seeded_event(arena, claims=manager)
    for claims in (user_claims("ann"), manager_claims("mgr-2")):
        assert distribute(arena, event_id, claims).status == 403
        assert validate(arena, event_id, claims).status == 403
        assert user_prize(arena, event_id, "ann", claims).status == 403
        assert status(arena, event_id, claims).status == 403
        assert rollback(arena, event_id, claims).status == 403
    assert validate(arena, event_id, manager).status == 200
    assert distribute(arena, event_id, manager).status == 201
    assert status(arena, event_id, manager).status == 200
    assert rollback(arena, event_id, ADMIN, reason="").status == 422


def test_an_event_not_completed_is_refused(arena: Arena) -> None:
    """Given an event that has not completed
    When its prizes are distributed or a user's prize is asked for
    Then 409 event_not_completed; there is nothing to roll back (404)."""
    event_id = _seeded_event(arena, complete=False)
    reply = distribute(arena, event_id)
    assert (reply.status, reply.code) == (409, "event_not_completed")
    assert user_prize(arena, event_id, "ann").code == "event_not_completed"
    assert rollback(arena, event_id).status == 404
    assert distribute(arena, "no-such-event").status == 404


def test_rollback_refuses_points_already_spent(arena: Arena) -> None:
    """Given a completed distribution after which ann spent part of her prize
    When it is rolled back
    Then ann's credit is refused and listed (her balance never goes below zero), the rest is rolled back."""
    from arena.domain.ledger import transfer
    from arena.services import ledger

    event_id = _seeded_event(arena)
    assert distribute(arena, event_id).status == 201
    ledger.post(transfer("user:ann", "treasury", Decimal("1")), "shop:ann:1", "redemption")

    reply = rollback(arena, event_id)
    assert reply.status == 200, reply
    refused = {(r["user_id"], r["reason"]) for r in reply.body["refused"]}
    assert refused == {("ann", "points_spent"), ("cid", "payout_requested")}
    assert ledger.balance("user:ann") == Decimal("999")
    assert ledger.balance("user:bob") == 0 and ledger.balance("user:fay") == 0
    assert ledger.balance(f"event-pool:{event_id}") == Decimal("-1000")  # ann's prize is still out of the pool


# ---------------------------------------------------------------------------------------------- the workflow's tasks


def test_the_workflow_tasks_run_a_distribution_step_by_step(arena: Arena) -> None:
    """Given a COMPLETED event and the workflow's task handler (what the state machine invokes)
    When its tasks run in the state machine's order, each twice (Step Functions delivers at least once)
    Then the run is COMPLETED with the plan paid once, and an unknown task is refused."""
    from arena.errors import BadRequest
    from arena.services import ledger

    from tests.conftest import sample_event

    event_id = _seeded_event(arena)
    handler = arena._load("prizes", "distribution_workflow").lambda_handler

    def task(step: str, **extra: Any) -> dict[str, Any]:
        payload = {**sample_event("prizes/distribution_workflow.json"), "step": step, "event_id": event_id, **extra}
        first = handler(payload, arena.context)
        handler(payload, arena.context)  # the repeat must change nothing: the balances below prove it
        return first

    assert task("validate") == {"event_id": event_id, "valid": True}
    assert task("freeze", requested_by="admin-1")["created"] is True
    plan = task("calculate")
    assert plan["status"] == "DISTRIBUTING" and plan["batches"] == [0]
    assert task("distribute_batch", batch_index=0)["applied"] is True
    assert task("verify") == {"event_id": event_id, "status": "VERIFIED", "problems": []}
    assert task("complete") == {"event_id": event_id, "status": "COMPLETED"}
    assert ledger.balance("user:ann") == Decimal("1000") and ledger.balance("user:bob") == Decimal("250.5")
    assert ledger.out_of_balance() == 0 and sum(ledger_lines(event_id).values()) == 6
    with pytest.raises(BadRequest):
        handler({"step": "pay_everyone_twice", "event_id": event_id}, arena.context)


def test_the_rollback_task_undoes_a_failed_run(arena: Arena) -> None:
    """Given a distribution that was paid
    When the workflow's Catch runs the rollback task with the error it caught
    Then the run is ROLLED_BACK with the cause recorded, and every balance is back where it was."""
    from arena.store import distribution as store

    event_id = _seeded_event(arena)
    before = balances()
    assert distribute(arena, event_id).body["status"] == "COMPLETED"
    handler = arena._load("prizes", "distribution_workflow").lambda_handler
    error = {"Error": "DistributionMismatch", "Cause": "points: paid 1, planned 2"}
    outcome = handler({"step": "rollback", "event_id": event_id, "error": error}, arena.context)
    assert outcome == {"event_id": event_id, "rolled_back": 4, "refused": 1}  # the requested token payout
    run = store.get_run(event_id)
    assert run is not None and run["status"] == "ROLLED_BACK" and "paid 1, planned 2" in run["reason"]
    assert balances() == before


def test_a_batch_never_pays_once_a_rollback_has_begun(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a batch task that has checked the run is DISTRIBUTING
    When a rollback begins before the batch writes
    Then the batch's transaction is refused (it holds only while the run distributes), nothing is paid, and the
    rollback leaves every balance where it was."""
    from arena.services.distribution import workflow as distribution

    event_id = _seeded_event(arena)
    before = balances()
    distribution.freeze(event_id, "admin-1")
    assert distribution.calculate(event_id)["batches"] == [0]
    original = distribution.store.get_batch

    def batch_then_a_rollback(event: str, index: int) -> dict[str, Any] | None:
        batch = original(event, index)
        assert rollback(arena, event_id).status == 200  # lands between the task's check and its write
        return batch

    monkeypatch.setattr(distribution.store, "get_batch", batch_then_a_rollback)
    outcome = distribution.distribute_batch(event_id, 0)
    assert outcome == {"batch_index": 0, "applied": False, "run_status": "ROLLED_BACK"}
    assert balances() == before
    assert status(arena, event_id).body["prizes_by_status"] == {"ROLLED_BACK": 5}
