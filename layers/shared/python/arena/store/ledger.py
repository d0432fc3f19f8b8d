"""The ledger table: per-account balances and append-only entry lines, and one idempotency item per posting.

Items (partition key ``account``, sort key ``entry``):

* ``<account>`` / ``BALANCE``: ``amount`` (the balance), ``version`` (postings applied), ``updated_at``;
* ``<account>`` / ``E#<at, ISO-8601>#<posting id>``: the account's line of one posting (``amount``,
  ``posting_id``, ``idempotency_key``, ``kind``, ``memo``, ``at``, ``counter_accounts``). Never updated or deleted;
* ``POSTING#<idempotency key>`` / ``POSTING``: the whole posting, written with it, so a repeat finds it.

A posting is one TransactWriteItems (``posting_actions``): the idempotency item (``attribute_not_exists``), then
per leg an ADD to the balance (conditional on ``amount >= -debit`` for a user account's debit) and the put of
its entry line. All of it is applied or none of it is.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from arena import clock
from arena.config import settings
from arena.domain import exact
from arena.domain import ledger as rules
from arena.domain.ledger import Entry, Leg, Posting
from arena.store import dynamo

BALANCE = "BALANCE"
POSTING = "POSTING"
ENTRY_PREFIX = "E#"
POSTING_PREFIX = "POSTING#"
HISTORY_KEY = frozenset({"account", "entry"})


def _table() -> str:
    return settings().ledger_table


def posting_key(idempotency_key: str) -> dict[str, str]:
    return {"account": POSTING_PREFIX + idempotency_key, "entry": POSTING}


def entry_sort_key(at: datetime, posting_id: str) -> str:
    # ISO text sorts as time; the posting id (a ULID) orders postings of the same millisecond.
    return f"{ENTRY_PREFIX}{clock.to_iso(at)}#{posting_id}"


def _number(value: Decimal) -> dict[str, str]:
    # Fixed-point text ("0.000001", not boto3's "1E-6"): the same number to DynamoDB, plainer to read.
    return {"N": format(value, "f")}


def _key(values: dict[str, str]) -> dict[str, Any]:
    return {name: {"S": value} for name, value in values.items()}


# ---------------------------------------------------------------------------------------------- writing


def posting_actions(posting: Posting) -> list[dict[str, Any]]:
    """The transaction actions of a posting, in this order: [idempotency item, (balance, entry) per leg].

    1 + 2 * legs actions (67 at most): a caller may add its own actions (up to DynamoDB's 100) to the same
    transaction, e.g. to mark a prize paid exactly when its credit is posted."""
    table = _table()
    at = clock.to_iso(posting.at)
    actions: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": table,
                "Item": dynamo.to_item(
                    {
                        **posting_key(posting.idempotency_key),
                        "posting_id": posting.posting_id,
                        "idempotency_key": posting.idempotency_key,
                        "kind": posting.kind,
                        "memo": posting.memo,
                        "at": at,
                        "legs": [{"account": leg.account, "amount": leg.amount} for leg in posting.legs],
                    }
                ),
                "ConditionExpression": "attribute_not_exists(#account)",
                "ExpressionAttributeNames": {"#account": "account"},
            }
        }
    ]
    for leg in posting.legs:
        update: dict[str, Any] = {
            "TableName": table,
            "Key": _key({"account": leg.account, "entry": BALANCE}),
            "UpdateExpression": "SET #updated_at = :at ADD #amount :amount, #version :one",
            "ExpressionAttributeNames": {"#amount": "amount", "#version": "version", "#updated_at": "updated_at"},
            "ExpressionAttributeValues": {
                ":amount": _number(leg.amount),
                ":one": {"N": "1"},
                ":at": {"S": at},
            },
        }
        if leg.amount < 0 and not rules.may_go_negative(leg.account):
            # The balance after this debit must not be negative; a missing balance item fails the comparison.
            update["ConditionExpression"] = "#amount >= :floor"
            update["ExpressionAttributeValues"][":floor"] = _number(leg.amount.copy_negate())
        actions.append({"Update": update})
        actions.append(
            {
                "Put": {
                    "TableName": table,
                    "Item": dynamo.to_item(
                        {
                            "account": leg.account,
                            "entry": entry_sort_key(posting.at, posting.posting_id),
                            "amount": leg.amount,
                            "posting_id": posting.posting_id,
                            "idempotency_key": posting.idempotency_key,
                            "kind": posting.kind,
                            "memo": posting.memo,
                            "at": at,
                            "counter_accounts": rules.counter_accounts(posting.legs, leg.account),
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(#entry)",
                    "ExpressionAttributeNames": {"#entry": "entry"},
                }
            }
        )
    return actions


# Cancellation reasons that say "not now" rather than "no": the whole posting is tried again.
TRANSIENT = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


class WriteStatus(Enum):
    POSTED = "posted"
    KEY_TAKEN = "key_taken"  # a posting with this idempotency key exists (compare it)
    INSUFFICIENT = "insufficient"  # a user account's debit would take it below zero
    RETRY = "retry"  # another transaction touched the same items at the same moment, or throttling
    INVALID = "invalid"  # DynamoDB refused a value (a balance beyond 38 significant digits)
    ACTIONS_REFUSED = "actions_refused"  # a condition of the caller's own actions failed


@dataclass(frozen=True)
class WriteResult:
    status: WriteStatus
    accounts: tuple[str, ...] = ()  # the accounts whose balance condition failed (INSUFFICIENT)


def classify(posting: Posting, outcome: dynamo.TransactionOutcome | None) -> WriteResult:
    """What a cancelled transaction of `posting_actions(posting)` means, action by action."""
    if outcome is None:
        return WriteResult(WriteStatus.POSTED)
    codes = outcome.codes
    if codes and codes[0] == "ConditionalCheckFailed":
        return WriteResult(WriteStatus.KEY_TAKEN)
    short = tuple(
        leg.account
        for index, leg in enumerate(posting.legs)
        if 1 + 2 * index < len(codes) and codes[1 + 2 * index] == "ConditionalCheckFailed"
    )
    if short:
        return WriteResult(WriteStatus.INSUFFICIENT, short)
    own = 1 + 2 * len(posting.legs)
    if any(code == "ConditionalCheckFailed" for code in codes[own:]):
        return WriteResult(WriteStatus.ACTIONS_REFUSED)
    if any(code == "ValidationError" for code in codes):
        return WriteResult(WriteStatus.INVALID)
    if any(code in TRANSIENT for code in codes):
        return WriteResult(WriteStatus.RETRY)
    raise RuntimeError(f"ledger transaction cancelled for an unexpected reason: {codes}")


def write(posting: Posting, with_actions: Sequence[dict[str, Any]] = ()) -> WriteResult:
    """Apply a posting (and the caller's own actions, after it) in one transaction, or nothing of it."""
    return classify(posting, dynamo.transact_write([*posting_actions(posting), *with_actions]))


# ---------------------------------------------------------------------------------------------- reading


def amount_of(value: Any) -> Decimal:
    """A stored number as DynamoDB returns it: without trailing zeros ("250.50" reads back "250.5"), exactly."""
    return exact.EXACT.normalize(Decimal(value))


def _posting_from(values: dict[str, Any]) -> Posting:
    return Posting(
        posting_id=values["posting_id"],
        idempotency_key=values["idempotency_key"],
        kind=values["kind"],
        memo=values.get("memo"),
        at=clock.from_iso(values["at"]),
        legs=tuple(Leg(leg["account"], amount_of(leg["amount"])) for leg in values["legs"]),
    )


def get_posting(idempotency_key: str) -> Posting | None:
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(posting_key(idempotency_key)), ConsistentRead=True)
    return _posting_from(dynamo.from_item(answer["Item"])) if "Item" in answer else None


def balance(account: str) -> Decimal:
    answer = dynamo.client().get_item(
        TableName=_table(),
        Key=_key({"account": account, "entry": BALANCE}),
        ProjectionExpression="#amount",
        ExpressionAttributeNames={"#amount": "amount"},
        ConsistentRead=True,
    )
    return amount_of(dynamo.from_item(answer.get("Item", {})).get("amount", 0))


def _entry_from(values: dict[str, Any]) -> Entry:
    return Entry(
        account=values["account"],
        posting_id=values["posting_id"],
        idempotency_key=values["idempotency_key"],
        amount=amount_of(values["amount"]),
        kind=values["kind"],
        memo=values.get("memo"),
        at=clock.from_iso(values["at"]),
        counter_accounts=tuple(values.get("counter_accounts", ())),
    )


def entries_page(account: str, limit: int, start: dict[str, Any] | None) -> tuple[list[Entry], dict[str, Any] | None]:
    """Up to `limit` entry lines of one account, newest first, after the `start` key (exclusive); and the key to
    resume after the last one returned, None when nothing is left."""
    request: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "#account = :account AND begins_with(#entry, :prefix)",
        "ExpressionAttributeNames": {"#account": "account", "#entry": "entry"},
        "ExpressionAttributeValues": {":account": {"S": account}, ":prefix": {"S": ENTRY_PREFIX}},
        "ScanIndexForward": False,
        "ConsistentRead": True,
        # One more than asked: whether anything follows is known without an empty last page.
        "Limit": limit + 1,
    }
    if start:
        request["ExclusiveStartKey"] = start
    answer = dynamo.client().query(**request)
    items = answer.get("Items", [])
    page = items[:limit]
    more = len(items) > limit or (bool(answer.get("LastEvaluatedKey")) and bool(page))
    last = {name: page[-1][name] for name in HISTORY_KEY} if more and page else None
    return [_entry_from(dynamo.from_item(item)) for item in page], last


def all_balances() -> Iterator[tuple[str, Decimal]]:
    """Every account's balance (a full scan: reconciliation and tests, never a request path)."""
    request: dict[str, Any] = {
        "TableName": _table(),
        "FilterExpression": "#entry = :balance",
        "ExpressionAttributeNames": {"#entry": "entry", "#account": "account", "#amount": "amount"},
        "ExpressionAttributeValues": {":balance": {"S": BALANCE}},
        "ProjectionExpression": "#account, #amount",
        "ConsistentRead": True,
    }
    while True:
        answer = dynamo.client().scan(**request)
        for item in answer.get("Items", []):
            values = dynamo.from_item(item)
            yield values["account"], amount_of(values["amount"])
        if not answer.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
