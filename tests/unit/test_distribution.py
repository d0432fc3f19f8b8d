"""Prize distribution, the pure parts: amounts as stored, currency names, keys and batches of at most 25."""

from __future__ import annotations

from decimal import Decimal

from arena.domain import distribution
from arena.domain.prizes import Currency


def test_amounts_are_canonical_as_dynamodb_reads_them_back() -> None:
    """Given amounts with trailing zeros, a zero with an exponent, and a tiny amount
    When they are made canonical
    Then they are what DynamoDB reads back."""
    assert str(distribution.canonical(Decimal("1000.00000000"))) == "1000"
    assert str(distribution.canonical(Decimal("250.50"))) == "250.5"
    assert str(distribution.canonical(Decimal("0E-8"))) == "0"
    assert str(distribution.canonical(Decimal("0.00000001"))) == "1E-8"


def test_currency_names() -> None:
    """Given points, a token and a custom currency
    When they are named
    Then the names are points, token:<token> and custom:<description>."""
    assert distribution.currency_name(Currency("points", None)) == "points"
    assert distribution.currency_name(Currency("token", "USDT")) == "token:USDT"
    assert distribution.currency_name(Currency("custom", "VIP trip")) == "custom:VIP trip"


def test_keys_name_what_is_paid_not_the_attempt() -> None:
    """Given an event, a user, a rule and a batch
    When the ledger keys are made
    Then each names what is paid, never the attempt."""
    assert distribution.prize_key("e1", "u1", 0) == "prize:e1:u1:0"
    assert distribution.batch_key("e1", 3) == "prize-batch:e1:3"
    assert distribution.rollback_batch_key("e1", 3) == "prize-rollback:e1:3"
    assert distribution.pool_key("e1") == "prize-pool:e1"
    assert distribution.treasury_key("e1") == "prize-treasury:e1"


def test_batches_hold_at_most_30_awards_in_plan_order() -> None:
    """Given 70 award records, and none
    When they are cut into batches
    Then the batches hold 30, 30 and 10 in plan order, PENDING and indexed; none gives no batch."""
    records = [{"user_id": f"u{i:02d}", "rule_index": 0} for i in range(70)]
    batches = distribution._batches_of(records)
    assert [len(b["awards"]) for b in batches] == [30, 30, 10]
    assert [b["batch_index"] for b in batches] == [0, 1, 2]
    assert {b["status"] for b in batches} == {"PENDING"}
    assert [a for b in batches for a in b["awards"]] == records
    assert batches[2]["user_ids"] == [f"u{i}" for i in range(60, 70)]
    assert distribution._batches_of([]) == []
