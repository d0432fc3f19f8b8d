"""Points ledger rules: accounts, legs and postings. Pure: no I/O, no clock.

A **posting** moves points between accounts as a list of **legs** ``(account, amount)``: a positive amount
credits the account, a negative one debits it. Double entry: the legs of a posting sum to exactly zero, so the
sum over all accounts is zero after every posting (points are never created or destroyed, only moved; new
points come from the ``issuance`` account, which goes negative by what has been issued).

Rules of a posting
------------------
* at least two legs and at most ``MAX_LEGS`` (33: one DynamoDB transaction holds 100 actions; a posting takes
  one for its idempotency item and two per leg, 67 at most, which leaves room for a caller's own actions);
* every amount is a ``Decimal`` (never a float: 0.1 as a float is already inexact), finite, non-zero, with at
  most ``MAX_DECIMAL_PLACES`` decimal places and below ``MAX_AMOUNT`` in magnitude, so a leg takes at most 36
  significant digits and a balance stays exact in DynamoDB's 38 until it passes 10^20;
* each account appears at most once (one balance update per account per transaction);
* the amounts sum to exactly zero (summed in ``arena.domain.exact.EXACT``: no rounding, ever).

Accounts
--------
``user:<user id>`` (a trader's points; never below zero), ``event-pool:<event id>`` (an event's prize pool),
``event-claims:<event id>`` (prizes of a manual-claim event held until claimed, expired or rejected),
``treasury`` (what the exchange keeps: rounding dust, unclaimed prizes) and ``issuance`` (where points come
from). Only user accounts are floored at zero; the others may go negative (a pool is funded from issuance or the
treasury, and a negative pool or treasury is an accounting fact to reconcile, not an error to refuse).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, DecimalException

from arena.domain import exact
from arena.errors import InvalidInput

MIN_LEGS = 2
MAX_LEGS = 33
MAX_DECIMAL_PLACES = 18
MAX_AMOUNT = Decimal("1e18")  # exclusive bound on a leg's magnitude
MAX_MEMO_LENGTH = 500

TREASURY = "treasury"
ISSUANCE = "issuance"
USER_PREFIX = "user:"
EVENT_POOL_PREFIX = "event-pool:"
EVENT_CLAIMS_PREFIX = "event-claims:"

# An owner id: a Cognito sub or a ULID, never ':' or '#' (they separate the parts of the table's keys).
_OWNER = r"[A-Za-z0-9][A-Za-z0-9_.@+\-]{0,127}"
_ACCOUNT = re.compile(rf"(?:user|event-pool|event-claims):{_OWNER}|treasury|issuance")
_OWNER_ID = re.compile(_OWNER)
_KIND = re.compile(r"[a-z][a-z0-9_.\-]{0,63}")
# Printable ASCII without spaces: "prize:<event>:<user>", a UUID from the caller, ...
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class Leg:
    """One side of a posting: ``amount`` > 0 credits ``account``, < 0 debits it."""

    account: str
    amount: Decimal


def _invalid(message: str, code: str, **details: object) -> InvalidInput:
    return InvalidInput(message, code=code, details=details or None)


def check_account(account: str) -> str:
    if not isinstance(account, str) or not _ACCOUNT.fullmatch(account):
        raise _invalid(
            'An account is "user:<id>", "event-pool:<event id>", "event-claims:<event id>", "treasury" or "issuance".',
            "invalid_account",
            account=str(account)[:200],
        )
    return account


def _owner(owner_id: str, what: str) -> str:
    if not isinstance(owner_id, str) or not _OWNER_ID.fullmatch(owner_id):
        raise _invalid(f"Not a valid {what} for a ledger account.", "invalid_account", id=str(owner_id)[:200])
    return owner_id


def user_account(user_id: str) -> str:
    return USER_PREFIX + _owner(user_id, "user id")


def event_pool_account(event_id: str) -> str:
    return EVENT_POOL_PREFIX + _owner(event_id, "event id")


def event_claims_account(event_id: str) -> str:
    """Where a manual-claim event's prizes wait for their owners (claimed: -> user; expired/rejected: -> pool)."""
    return EVENT_CLAIMS_PREFIX + _owner(event_id, "event id")


def may_go_negative(account: str) -> bool:
    """Only user accounts are floored at zero."""
    return not account.startswith(USER_PREFIX)


def check_amount(amount: object) -> Decimal:
    """A leg's amount: an exact, finite, non-zero Decimal within the ledger's range."""
    if not isinstance(amount, Decimal):
        # Floats are refused on purpose (inexact before we see them); ints and strings must be made Decimals
        # by the caller, where the intent is visible.
        raise _invalid("A ledger amount must be a Decimal.", "inexact_amount", type=type(amount).__name__)
    if not amount.is_finite():
        raise _invalid("A ledger amount must be finite.", "amount_out_of_range", amount=str(amount))
    if amount.is_zero():
        raise _invalid("A leg of zero moves nothing; leave it out.", "zero_leg")
    if not exact.fits_dynamodb(amount) or abs(amount) >= MAX_AMOUNT:
        raise _invalid(f"A ledger amount must be below {MAX_AMOUNT:f} in magnitude.", "amount_out_of_range")
    try:
        places = max(0, -int(amount.normalize(exact.EXACT).as_tuple().exponent))
    except DecimalException:
        raise _invalid("A ledger amount must be exact.", "amount_out_of_range") from None
    if places > MAX_DECIMAL_PLACES:
        raise _invalid(
            f"A ledger amount has at most {MAX_DECIMAL_PLACES} decimal places.",
            "amount_out_of_range",
            amount=format(amount, "f"),
        )
    return amount


def validate_legs(legs: Iterable[Leg | tuple[str, Decimal]]) -> tuple[Leg, ...]:
    """The legs of a valid posting, in canonical order (by account). Raises InvalidInput naming the rule."""
    checked = [Leg(check_account(account), check_amount(amount)) for account, amount in (_pair(leg) for leg in legs)]
    if len(checked) < MIN_LEGS:
        raise _invalid("A posting needs at least two legs.", "too_few_legs", legs=len(checked))
    if len(checked) > MAX_LEGS:
        raise _invalid(f"A posting has at most {MAX_LEGS} legs.", "too_many_legs", legs=len(checked), max=MAX_LEGS)
    accounts = [leg.account for leg in checked]
    duplicates = sorted({a for a in accounts if accounts.count(a) > 1})
    if duplicates:
        raise _invalid("Each account appears at most once in a posting.", "duplicate_account", accounts=duplicates)
    imbalance = exact.total(leg.amount for leg in checked)
    if imbalance != 0:
        raise _invalid(
            "The legs of a posting must sum to exactly zero.", "unbalanced_posting", imbalance=format(imbalance, "f")
        )
    return tuple(sorted(checked, key=lambda leg: leg.account))


def _pair(leg: Leg | tuple[str, Decimal]) -> tuple[str, Decimal]:
    if isinstance(leg, Leg):
        return leg.account, leg.amount
    account, amount = leg
    return account, amount


def transfer(source: str, destination: str, amount: Decimal) -> tuple[Leg, ...]:
    """The two legs moving ``amount`` (> 0) from ``source`` to ``destination``."""
    if check_amount(amount) < 0:
        raise _invalid("A transfer moves a positive amount.", "negative_transfer")
    return validate_legs([Leg(source, amount.copy_negate()), Leg(destination, amount)])


def reversal(legs: Iterable[Leg]) -> tuple[Leg, ...]:
    """The compensating legs that undo a posting (every amount negated): a rollback posts these."""
    return validate_legs([Leg(leg.account, leg.amount.copy_negate()) for leg in legs])


def same_legs(a: Iterable[Leg], b: Iterable[Leg]) -> bool:
    """Equal as postings: the same accounts with numerically equal amounts ("1.50" == "1.5"), in any order."""
    first = [(leg.account, leg.amount) for leg in a]
    second = [(leg.account, leg.amount) for leg in b]
    return len(first) == len(second) and dict(first) == dict(second)


def counter_accounts(legs: Iterable[Leg], account: str) -> list[str]:
    """The other accounts of a posting, as one account's entry line shows them."""
    return [leg.account for leg in legs if leg.account != account]


def check_kind(kind: str) -> str:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise _invalid(
            'A posting kind is a short lower-case name such as "prize_credit".', "invalid_kind", kind=str(kind)[:100]
        )
    return kind


def check_idempotency_key(key: str) -> str:
    if not isinstance(key, str) or not _IDEMPOTENCY_KEY.fullmatch(key):
        raise _invalid("An idempotency key is 1 to 255 printable ASCII characters without spaces.", "invalid_key")
    return key


def check_memo(memo: str | None) -> str | None:
    if memo is not None and (not isinstance(memo, str) or len(memo) > MAX_MEMO_LENGTH):
        raise _invalid(f"A memo is text of at most {MAX_MEMO_LENGTH} characters.", "invalid_memo")
    return memo or None


@dataclass(frozen=True)
class Posting:
    """A balanced set of legs, posted once under its idempotency key."""

    posting_id: str
    idempotency_key: str
    kind: str
    memo: str | None
    at: datetime
    legs: tuple[Leg, ...]

    def amount_for(self, account: str) -> Decimal:
        return exact.total(leg.amount for leg in self.legs if leg.account == account)


@dataclass(frozen=True)
class Entry:
    """One account's line of a posting: its amount there and the posting's other accounts."""

    account: str
    posting_id: str
    idempotency_key: str
    amount: Decimal
    kind: str
    memo: str | None
    at: datetime
    counter_accounts: tuple[str, ...]
