"""arena.domain.ledger: accounts, amounts and the rules of a posting (balanced, exact, 2..33 legs, no repeats)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from arena.domain import exact
from arena.domain.ledger import (
    ISSUANCE,
    MAX_LEGS,
    TREASURY,
    Leg,
    check_account,
    check_idempotency_key,
    check_kind,
    counter_accounts,
    event_pool_account,
    may_go_negative,
    reversal,
    same_legs,
    transfer,
    user_account,
    validate_legs,
)
from arena.errors import InvalidInput
from hypothesis import given
from hypothesis import strategies as st

D = Decimal
POOL = "event-pool:01jbsampleevent0000000000"


def refused(code: str, legs: list) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput) as caught:
        validate_legs(legs)
    assert caught.value.code == code, caught.value.message


# ------------------------------------------------------------------------------------------------ accounts


@pytest.mark.parametrize(
    "account", ["user:trader-1", "user:3f2a9c1e-0b7d-4c55-9e61-5a2b8f0d1c44", POOL, TREASURY, ISSUANCE]
)
def test_valid_accounts(account: str) -> None:
    """Given a well-formed account name
    When it is checked
    Then it comes back unchanged."""
    assert check_account(account) == account


@pytest.mark.parametrize(
    "account", ["", "user:", "user", "bank:1", "user:a#b", "user:a:b", "event-pool: x", "Treasury", "POSTING#k", 7]
)
def test_invalid_accounts_are_refused(account: object) -> None:
    """Given a malformed account name or a non-string
    When it is checked
    Then InvalidInput invalid_account is raised."""
    with pytest.raises(InvalidInput) as caught:
        check_account(account)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_account"


def test_account_names_and_floors() -> None:
    """Given a user id and an event id
    When their account names are made and their floors asked
    Then they are user:/pool names, a bad user id is refused, and only user accounts may not go negative."""
    assert user_account("trader-1") == "user:trader-1"
    assert event_pool_account("01jbsampleevent0000000000") == POOL
    with pytest.raises(InvalidInput):
        user_account("a#b")
    # Only user accounts are floored at zero.
    assert not may_go_negative("user:trader-1")
    assert all(may_go_negative(a) for a in (POOL, TREASURY, ISSUANCE))


# ------------------------------------------------------------------------------------------------ postings


def test_a_balanced_posting_is_accepted_in_canonical_order() -> None:
    """Given three legs summing to zero, in no particular order
    When validated
    Then they come back as Legs sorted by account, amounts untouched."""
    legs = [("user:b", D("30.25")), (POOL, D("-100")), ("user:a", D("69.75"))]

    # When / Then
    checked = validate_legs(legs)
    assert checked == (Leg(POOL, D("-100")), Leg("user:a", D("69.75")), Leg("user:b", D("30.25")))
    assert exact.total(leg.amount for leg in checked) == 0


def test_sums_are_exact_where_floats_would_not_be() -> None:
    """Given legs whose sum floats, or Python's 28-digit default context, would get wrong
    When they are validated
    Then the ledger's exact sum accepts the balanced ones and refuses the unbalanced ones."""
    # 0.1 + 0.2 - 0.3 is not 0 in binary floating point; in the ledger it is exactly zero.
    legs = [("user:a", D("0.1")), ("user:b", D("0.2")), (TREASURY, D("-0.3"))]
    assert len(validate_legs(legs)) == 3
    # 36 significant digits: Python's default 28-digit context rounds the running sum, the ledger does not.
    big = D("999999999999999999.000000000000000001")
    off_by_one_unit = [("user:a", big), (ISSUANCE, D("-999999999999999999"))]
    assert sum(amount for _, amount in off_by_one_unit) == 0  # the default context is fooled...
    refused("unbalanced_posting", off_by_one_unit)  # ...the ledger is not
    balanced = [*off_by_one_unit, (TREASURY, D("-0.000000000000000001"))]
    assert sum(amount for _, amount in balanced) != 0
    assert len(validate_legs(balanced)) == 3
    refused("unbalanced_posting", [("user:a", D("1.000000000000000001")), (ISSUANCE, D("-1"))])


def test_unbalanced_posting_is_refused_naming_the_imbalance() -> None:
    """Given legs of 10 and -9.99
    When validated
    Then they are refused as unbalanced_posting with the imbalance 0.01."""
    with pytest.raises(InvalidInput) as caught:
        validate_legs([("user:a", D("10")), (ISSUANCE, D("-9.99"))])
    assert caught.value.code == "unbalanced_posting"
    assert caught.value.details == {"imbalance": "0.01"}


@pytest.mark.parametrize("amount", [0.5, 1, "1", True, None])
def test_non_decimal_amounts_are_refused(amount: object) -> None:
    """Given a leg whose amount is not a Decimal
    When validated
    Then it is refused as inexact_amount."""
    refused("inexact_amount", [("user:a", amount), (ISSUANCE, D("-0.5"))])


def test_zero_legs_are_refused() -> None:
    """Given postings with a zero leg (0.00, -0)
    When validated
    Then they are refused as zero_leg."""
    refused("zero_leg", [("user:a", D("10")), ("user:b", D("0.00")), (ISSUANCE, D("-10"))])
    refused("zero_leg", [("user:a", D("-0")), (ISSUANCE, D("0"))])


def test_single_and_empty_postings_are_refused() -> None:
    """Given an empty posting and a one-leg posting
    When validated
    Then both are refused as too_few_legs."""
    refused("too_few_legs", [])
    refused("too_few_legs", [("user:a", D("10"))])


def test_duplicate_accounts_are_refused() -> None:
    """Given postings naming one account twice
    When validated
    Then they are refused as duplicate_account."""
    refused("duplicate_account", [("user:a", D("10")), ("user:a", D("-10"))])
    refused("duplicate_account", [("user:a", D("5")), ("user:a", D("5")), (ISSUANCE, D("-10"))])


def test_at_most_33_legs() -> None:
    """Given a pool paying 32 users one point each: 33 legs, the most one transaction takes
    When one more user is paid in the same posting
    Then it is refused as too_many_legs."""

    def payout(users: int) -> list[tuple[str, Decimal]]:
        return [(POOL, D(-users))] + [(f"user:u{i}", D(1)) for i in range(users)]

    assert MAX_LEGS == 33
    assert len(validate_legs(payout(32))) == 33
    # When / Then
    refused("too_many_legs", payout(33))


@pytest.mark.parametrize(
    "amount", [D("NaN"), D("Infinity"), D("1e18"), D("-1e18"), D("0.0000000000000000001"), D("1" * 39)]
)
def test_amounts_out_of_range_are_refused(amount: Decimal) -> None:
    """Given a leg whose amount is out of range (too large, too precise or not finite)
    When validated
    Then it is refused as amount_out_of_range."""
    refused("amount_out_of_range", [("user:a", amount), (ISSUANCE, -amount if amount.is_finite() else D(1))])


def test_trailing_zeros_do_not_count_as_decimal_places() -> None:
    """Given an amount written with many trailing zeros
    When validated
    Then it is accepted: trailing zeros are not decimal places."""
    assert validate_legs([("user:a", D("1.50000000000000000000")), (ISSUANCE, D("-1.5"))])


def test_bad_accounts_in_legs_are_refused() -> None:
    """Given a leg on a malformed account
    When validated
    Then it is refused as invalid_account."""
    refused("invalid_account", [("bank:1", D("1")), (ISSUANCE, D("-1"))])


# ------------------------------------------------------------------------------------------------ helpers


def test_transfer_reversal_and_comparison() -> None:
    """Given a prize credit of 12.5 from the pool to a user
    When it is reversed and compared
    Then the reversal moves the same amount back, trailing zeros do not matter, and bad transfers are refused."""
    credit = transfer(POOL, "user:a", D("12.5"))
    assert credit == (Leg(POOL, D("-12.5")), Leg("user:a", D("12.5")))

    # Then its reversal moves the same amount back, and it compares equal regardless of trailing zeros
    assert reversal(credit) == (Leg(POOL, D("12.5")), Leg("user:a", D("-12.5")))
    assert same_legs(credit, [Leg("user:a", D("12.50")), Leg(POOL, D("-12.500"))])
    assert not same_legs(credit, reversal(credit))
    assert not same_legs(credit, [*credit, Leg(TREASURY, D("1"))])
    assert counter_accounts(credit, "user:a") == [POOL]

    with pytest.raises(InvalidInput):
        transfer(POOL, "user:a", D("-1"))
    with pytest.raises(InvalidInput):
        transfer("user:a", "user:a", D("1"))


@pytest.mark.parametrize("kind", ["", "Prize", "prize credit", "x" * 65])
def test_invalid_kinds_are_refused(kind: str) -> None:
    """Given a malformed posting kind
    When it is checked
    Then InvalidInput is raised."""
    with pytest.raises(InvalidInput):
        check_kind(kind)


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "é"])
def test_invalid_idempotency_keys_are_refused(key: str) -> None:
    """Given a malformed idempotency key
    When it is checked
    Then InvalidInput is raised."""
    with pytest.raises(InvalidInput):
        check_idempotency_key(key)


amounts = st.decimals(min_value=D("-1e12"), max_value=D("1e12"), places=6, allow_nan=False, allow_infinity=False)


@given(st.lists(amounts.filter(lambda a: a != 0), min_size=1, max_size=MAX_LEGS - 1))
def test_any_amounts_balanced_by_issuance_are_a_valid_posting(values: list[Decimal]) -> None:
    """Given legs to distinct users and an issuance leg taking the exact opposite of their sum
    When validated
    Then accepted, and the legs and their reversal sum to exactly zero."""
    legs = [(f"user:u{i}", value) for i, value in enumerate(values)]
    rest = exact.total(values)
    if rest != 0:
        legs.append((ISSUANCE, rest.copy_negate()))
    if len(legs) < 2:
        return

    # When validated; Then accepted, and the legs sum to exactly zero
    checked = validate_legs(legs)
    assert exact.total(leg.amount for leg in checked) == 0
    assert exact.total(leg.amount for leg in reversal(checked)) == 0
