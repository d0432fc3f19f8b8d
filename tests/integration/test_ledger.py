"""The points ledger on moto: postings through arena.services.ledger, and GET /api/users/me/points through its
handler with events/ledger/get_my_points.json (the sample caller is trader-1, a user).

The clock is pinned at 2026-12-01T12:00:00Z; the sample event's pool account is event-pool:<sample event id>.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest
from arena.domain.ledger import ISSUANCE, TREASURY, Leg, transfer
from arena.errors import Conflict, InvalidInput
from arena.services import ledger

from tests.conftest import api_event
from tests.integration.conftest import ADMIN, Reply, user_claims

D = Decimal
POOL = "event-pool:01jbsampleevent0000000000"
TRADER = "user:trader-1"


class Points:
    """GET /api/users/me/points as API Gateway would call it, and the ledger's raw state."""

    def __init__(self, module: ModuleType, context: Any, tables: dict[str, str], clock: Any) -> None:
        self.module, self.context, self.tables, self.clock = module, context, tables, clock

    def get(self, query: dict[str, str] | None = None, claims: dict[str, Any] | None = None) -> Reply:
        event = api_event("ledger/get_my_points.json", query=query, claims=claims)
        return Reply(self.module.lambda_handler(event, self.context))

    def all_pages(self, limit: int, claims: dict[str, Any] | None = None) -> list[list[dict[str, Any]]]:
        pages, cursor = [], None
        while True:
            query = {"limit": str(limit), **({"cursor": cursor} if cursor else {})}
            reply = self.get(query, claims)
            assert reply.status == 200, reply
            pages.append(reply.body["entries"])
            cursor = reply.body["next_cursor"]
            if cursor is None:
                return pages

    def items(self) -> list[dict[str, Any]]:
        import boto3

        return boto3.client("dynamodb").scan(TableName=self.tables["LedgerTable"], ConsistentRead=True)["Items"]


@pytest.fixture(autouse=True)
def exact_moto_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's ADD parses a number with int() unless its text has a ".", so it fails on the exponent forms that
    DynamoDB and boto3 use ("1E-18", and "0E-18" for a decimal balance back at zero), and it adds in Python's
    28-digit context. DynamoDB adds exactly (38 digits): make the double do the same."""
    from arena.domain.exact import EXACT
    from moto.dynamodb.models.dynamo_type import DDBType, DynamoType

    def add(self: DynamoType, other: DynamoType) -> DynamoType:
        if self.type != other.type or not self.is_number():
            raise TypeError("ADD needs two numbers")
        return DynamoType({DDBType.NUMBER: str(EXACT.add(D(self.value), D(other.value)))})

    monkeypatch.setattr(DynamoType, "__add__", add)


@pytest.fixture
def points(
    tables: dict[str, str], frozen_clock: Any, lambda_context: Any, load_handler: Callable[..., ModuleType]
) -> Points:
    """Given the tables of template.yaml in moto and the clock pinned at 2026-12-01T12:00:00Z."""
    return Points(load_handler("ledger", "get_my_points"), lambda_context, tables, frozen_clock)


def fund_pool(amount: str = "1000", key: str = "fund:sample") -> None:
    ledger.post(transfer(ISSUANCE, POOL, D(amount)), key, "pool_funding", "prize pool of the sample event")


def assert_ledger_balances() -> None:
    assert ledger.out_of_balance() == 0


# ---------------------------------------------------------------------------------------------- postings


def test_a_posting_moves_points_and_the_ledger_sums_to_zero(points: Points) -> None:
    """Given the sample event's pool funded with 1000 points from issuance
    When trader-1 is credited a 250.50 prize from the pool
    Then the pool has 749.5, trader-1 250.5, issuance -1000, every account sums to zero,
    and GET /api/users/me/points shows the balance and the entry with the pool as its counter-account."""
    fund_pool()

    posting = ledger.post(
        transfer(POOL, TRADER, D("250.50")), "prize:sample:trader-1", "prize_credit", "1st place, sample event"
    )

    assert ledger.trial_balance() == {ISSUANCE: D(-1000), POOL: D("749.5"), TRADER: D("250.5")}
    assert_ledger_balances()
    assert posting.legs == (Leg(POOL, D("-250.50")), Leg(TRADER, D("250.50")))
    reply = points.get()
    assert reply.status == 200, reply
    assert reply.body == {
        "account": TRADER,
        "balance": "250.5",
        "entries": [
            {
                "posting_id": posting.posting_id,
                "amount": "250.5",
                "kind": "prize_credit",
                "memo": "1st place, sample event",
                "at": "2026-12-01T12:00:00.000Z",
                "counter_accounts": [POOL],
            }
        ],
        "next_cursor": None,
    }


def test_a_multi_leg_posting_is_exact(points: Points) -> None:
    """Given a pool of 100 When it pays three winners 33.333333333333333333 each and the dust to the treasury
    in one posting Then every balance is exact to the 18th decimal place and the ledger sums to zero."""
    fund_pool("100")
    share = D("33.333333333333333333")
    legs = [(POOL, D(-100)), *((f"user:w{i}", share) for i in range(3)), (TREASURY, D("0.000000000000000001"))]

    ledger.post(legs, "prize:sample:all", "prize_credit")

    assert ledger.balance("user:w2") == share
    assert ledger.balance(TREASURY) == D("1e-18")
    assert ledger.balance(POOL) == 0
    assert_ledger_balances()


def test_the_same_key_twice_posts_once_and_returns_the_first_posting(points: Points) -> None:
    """Given a prize credited under prize:sample:trader-1
    When the same credit is posted again an hour later (an at-least-once caller retrying), with another memo
    Then the first posting is returned (same id, time and memo), trader-1 is credited once, one entry line."""
    fund_pool()
    first = ledger.post(transfer(POOL, TRADER, D("10")), "prize:sample:trader-1", "prize_credit", "first")
    points.clock.set(points.clock.moment + timedelta(hours=1))

    again = ledger.post(transfer(POOL, TRADER, D("10.00")), "prize:sample:trader-1", "prize_credit", "retry")

    assert again == first
    assert again.memo == "first"
    assert ledger.balance(TRADER) == D(10)
    assert [e["posting_id"] for e in points.get().body["entries"]] == [first.posting_id]
    assert_ledger_balances()


@pytest.mark.parametrize(
    ("legs", "kind"),
    [
        (transfer(POOL, TRADER, D("11")), "prize_credit"),  # another amount
        (transfer(POOL, "user:trader-2", D("10")), "prize_credit"),  # another account
        (transfer(POOL, TRADER, D("10")), "adjustment"),  # another kind
    ],
)
def test_the_same_key_with_another_posting_is_409(points: Points, legs: tuple[Leg, ...], kind: str) -> None:
    """Given a credit of 10 posted under prize:sample:trader-1
    When another posting (amount, account or kind) is sent under the same key
    Then Conflict idempotency_key_reused naming the first posting, and no balance changes."""
    fund_pool()
    first = ledger.post(transfer(POOL, TRADER, D("10")), "prize:sample:trader-1", "prize_credit")
    before, items_before = ledger.trial_balance(), len(points.items())

    with pytest.raises(Conflict) as caught:
        ledger.post(legs, "prize:sample:trader-1", kind)

    assert caught.value.code == "idempotency_key_reused"
    assert caught.value.details == {"idempotency_key": "prize:sample:trader-1", "posting_id": first.posting_id}
    assert ledger.trial_balance() == before
    assert len(points.items()) == items_before


def test_a_user_overdraft_is_409_and_writes_nothing(points: Points) -> None:
    """Given trader-1 with 10 points
    When 10.01 is moved from trader-1 to the treasury, or 1 from trader-2 who has none
    Then Conflict insufficient_balance naming the account and its balance, and nothing at all is written
    (no balance, no entry line, no idempotency record: the key stays free);
    When exactly 10 is moved under the refused key Then it posts and trader-1 is at 0, and a repeat of it
    returns that posting (not insufficient_balance)."""
    fund_pool()
    ledger.post(transfer(POOL, TRADER, D("10")), "prize:sample:trader-1", "prize_credit")
    before, items_before = ledger.trial_balance(), points.items()

    with pytest.raises(Conflict) as overdraft:
        ledger.post(transfer(TRADER, TREASURY, D("10.01")), "fee:trader-1:1", "fee")
    with pytest.raises(Conflict) as empty:
        ledger.post(transfer("user:trader-2", TREASURY, D("1")), "fee:trader-2:1", "fee")

    assert overdraft.value.code == empty.value.code == "insufficient_balance"
    assert overdraft.value.details == {"accounts": [TRADER], "balances": {TRADER: "10"}}
    assert empty.value.details == {"accounts": ["user:trader-2"], "balances": {"user:trader-2": "0"}}
    assert ledger.trial_balance() == before
    assert points.items() == items_before
    assert ledger.get_posting("fee:trader-1:1") is None

    fee = ledger.post(transfer(TRADER, TREASURY, D("10")), "fee:trader-1:1", "fee")
    assert ledger.balance(TRADER) == 0
    # A repeat of a debit already applied is a repeat, not an overdraft.
    assert ledger.post(transfer(TRADER, TREASURY, D("10")), "fee:trader-1:1", "fee") == fee
    assert_ledger_balances()


def test_pools_treasury_and_issuance_may_go_negative(points: Points) -> None:
    """Given an empty ledger When an unfunded pool pays a prize and the treasury tops up a user
    Then both go negative (an accounting fact to reconcile), the users are credited, the sum is zero."""
    ledger.post(transfer(POOL, TRADER, D("5")), "prize:sample:trader-1", "prize_credit")
    ledger.post(transfer(TREASURY, "user:trader-2", D("7")), "goodwill:trader-2", "adjustment")

    assert ledger.balance(POOL) == D(-5)
    assert ledger.balance(TREASURY) == D(-7)
    assert_ledger_balances()


def test_invalid_postings_write_nothing(points: Points) -> None:
    """Given an empty ledger When a posting is unbalanced, has a float or one leg Then InvalidInput, no items."""
    for legs in (
        [(POOL, D("-10")), (TRADER, D("9.99"))],
        [(POOL, -0.1), (TRADER, 0.1)],
        [(TRADER, D("1"))],
    ):
        with pytest.raises(InvalidInput):
            ledger.post(legs, "bad:1", "prize_credit")  # type: ignore[arg-type]
    assert points.items() == []


def test_100_parallel_posts_of_one_key_post_once(points: Points) -> None:
    """Given a funded pool
    When 100 threads post the same prize credit under one key at once (a retry storm)
    Then every thread gets the same posting, trader-1 is credited once, with one entry line."""
    fund_pool()

    def credit(_: int) -> str:
        return ledger.post(transfer(POOL, TRADER, D("25")), "prize:sample:trader-1", "prize_credit").posting_id

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = set(pool.map(credit, range(100)))

    assert len(ids) == 1
    assert ledger.balance(TRADER) == D(25)
    assert ledger.balance(POOL) == D(975)
    assert [e["posting_id"] for e in points.get().body["entries"]] == list(ids)
    assert_ledger_balances()


def test_concurrent_debits_never_overdraw(points: Points) -> None:
    """Given trader-1 with 10 points When 20 threads each spend 1 under their own key at once
    Then exactly 10 post, 10 are refused insufficient_balance, and trader-1 ends at 0, never below."""
    ledger.post(transfer(ISSUANCE, TRADER, D("10")), "grant:trader-1", "grant")

    def spend(n: int) -> str:
        try:
            ledger.post(transfer(TRADER, TREASURY, D("1")), f"spend:trader-1:{n}", "spend")
            return "posted"
        except Conflict as refused:
            return refused.code

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(spend, range(20)))

    assert sorted(outcomes) == ["insufficient_balance"] * 10 + ["posted"] * 10
    assert ledger.balance(TRADER) == 0
    assert_ledger_balances()


def test_transient_cancellations_are_retried_then_ledger_busy(points: Points, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given DynamoDB cancelling the transaction twice for a concurrent transaction on the same items
    When a credit is posted Then it is retried and posts once;
    Given the conflict persisting When another credit is posted Then Conflict ledger_busy and nothing written."""
    from arena.store import dynamo

    monkeypatch.setattr(ledger, "_BACKOFF_SECONDS", 0)
    real = dynamo.transact_write
    calls = {"n": 0, "fail": 2}

    def contended(actions: list[dict[str, Any]]) -> dynamo.TransactionOutcome | None:
        calls["n"] += 1
        if calls["n"] <= calls["fail"]:
            return dynamo.TransactionOutcome(["None", "TransactionConflict", "None", "None", "None"])
        return real(actions)

    monkeypatch.setattr(dynamo, "transact_write", contended)

    ledger.post(transfer(ISSUANCE, TRADER, D("3")), "grant:retried", "grant")
    assert (calls["n"], ledger.balance(TRADER)) == (3, D(3))

    calls.update(n=0, fail=10**6)
    items_before = points.items()
    with pytest.raises(Conflict) as caught:
        ledger.post(transfer(ISSUANCE, TRADER, D("4")), "grant:busy", "grant")
    assert caught.value.code == "ledger_busy"
    assert calls["n"] == ledger.MAX_ATTEMPTS
    assert points.items() == items_before


def test_a_rollback_posts_compensating_entries(points: Points) -> None:
    """Given a prize credit of 40 to trader-1
    When it is rolled back (twice: the rollback is idempotent under its own key)
    Then the pool has its points back, trader-1 has 0, and both entries stay in the history (nothing deleted)."""
    fund_pool("100")
    credit = ledger.post(transfer(POOL, TRADER, D("40")), "prize:sample:trader-1", "prize_credit")
    points.clock.set(points.clock.moment + timedelta(minutes=5))

    rollback = ledger.reverse("prize:sample:trader-1", "prize-rollback:sample:trader-1", "prize_rollback")
    assert ledger.reverse("prize:sample:trader-1", "prize-rollback:sample:trader-1", "prize_rollback") == rollback

    assert (ledger.balance(POOL), ledger.balance(TRADER)) == (D(100), D(0))
    entries = points.get().body["entries"]
    assert [(e["posting_id"], e["amount"], e["kind"]) for e in entries] == [
        (rollback.posting_id, "-40", "prize_rollback"),
        (credit.posting_id, "40", "prize_credit"),
    ]
    assert_ledger_balances()


# ---------------------------------------------------------------------------------------------- the route


def test_history_pages_newest_first_without_loss_or_repeat(points: Points) -> None:
    """Given 23 postings to trader-1 over time, three of them in the same millisecond
    When GET /api/users/me/points is paged 5 at a time with next_cursor
    Then 5 pages (the last one short, none empty), newest first, every posting exactly once, and every page
    carries the current balance."""
    posted = []
    for n in range(23):
        if n not in (10, 11):  # postings 9, 10 and 11 share a millisecond
            points.clock.set(points.clock.moment + timedelta(seconds=1))
        posted.append(ledger.post(transfer(ISSUANCE, TRADER, D(n + 1)), f"grant:{n}", "grant"))

    pages = points.all_pages(limit=5)

    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    entries = [entry for page in pages for entry in page]
    assert sorted(e["posting_id"] for e in entries) == sorted(p.posting_id for p in posted)
    times = [e["at"] for e in entries]
    assert times == sorted(times, reverse=True)
    assert entries[0]["amount"] == "23" and entries[-1]["amount"] == "1"
    assert points.get({"limit": "1"}).body["balance"] == str(sum(range(1, 24)))


def test_an_exact_page_boundary_has_no_empty_last_page(points: Points) -> None:
    """Given 4 postings When paged 2 at a time Then two pages, the second with next_cursor null."""
    for n in range(4):
        points.clock.set(points.clock.moment + timedelta(seconds=1))
        ledger.post(transfer(ISSUANCE, TRADER, D(1)), f"grant:{n}", "grant")
    assert [len(page) for page in points.all_pages(limit=2)] == [2, 2]


def test_a_tampered_or_foreign_cursor_is_400(points: Points) -> None:
    """Given trader-1 and trader-2 with 3 entries each and trader-2's cursor to their second page
    When trader-1 pages with garbage, with trader-2's cursor, or with a cursor of the wrong shape
    Then 400 invalid_cursor each time (never another account's entries, never a 500)."""
    import base64
    import json

    for n in range(3):
        points.clock.set(points.clock.moment + timedelta(seconds=1))
        ledger.post(transfer(ISSUANCE, TRADER, D(1)), f"grant:1:{n}", "grant")
        ledger.post(transfer(ISSUANCE, "user:trader-2", D(1)), f"grant:2:{n}", "grant")
    foreign = points.get({"limit": "1"}, user_claims("trader-2")).body["next_cursor"]
    mine = points.get({"limit": "1"}).body["next_cursor"]

    def forged(key: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode().rstrip("=")

    for cursor in (
        "not-a-cursor!",
        foreign,
        forged({"account": {"S": TRADER}, "entry": {"S": "BALANCE"}}),
        forged({"account": {"S": TRADER}}),
        forged({"account": {"S": TRADER}, "entry": {"N": "1"}}),
        mine[:-4] + "AAAA",
    ):
        reply = points.get({"limit": "1", "cursor": cursor})
        assert (reply.status, reply.code) == (400, "invalid_cursor"), (cursor, reply)
    assert points.get({"limit": "1", "cursor": mine}).status == 200


def test_another_users_points_are_not_visible(points: Points) -> None:
    """Given trader-1 credited 50
    When trader-2 (and an admin) ask for their points, even naming trader-1's account in the query
    Then each sees only their own empty account; trader-1 sees the 50."""
    ledger.post(transfer(ISSUANCE, TRADER, D(50)), "grant:trader-1", "grant")

    for claims, account in ((user_claims("trader-2"), "user:trader-2"), (ADMIN, "user:admin-1")):
        reply = points.get({"account": TRADER}, claims)
        assert reply.status == 200, reply
        assert reply.body == {"account": account, "balance": "0", "entries": [], "next_cursor": None}
    assert points.get().body["balance"] == "50"


def test_without_a_token_is_401_and_a_bad_limit_is_422(points: Points) -> None:
    """Given no claims, then a limit of 0, 101 or "ten"
    When the points are read
    Then the first is 401 and the others 422 validation_failed."""
    event = api_event("ledger/get_my_points.json")
    del event["requestContext"]["authorizer"]
    assert Reply(points.module.lambda_handler(event, points.context)).status == 401
    for limit in ("0", "101", "ten"):
        reply = points.get({"limit": limit})
        assert (reply.status, reply.code) == (422, "validation_failed"), reply
