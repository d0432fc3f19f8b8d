"""The claims table: what the claims area keeps besides the prizes themselves (store/user_prizes.py), as records.

Key ``pk`` (HASH) + ``sk`` (RANGE):
* ``HISTORY#<user>`` / ``<iso time>#<ulid>`` - the claim history, append-only: every claim attempt (accepted or
  refused) and every later step of the user's claims (review decision, payout outcome, fulfilment, expiry). Put
  with ``attribute_not_exists``, so an entry is never overwritten; read newest first.
* ``VELOCITY#<user>`` / ``<window start>`` - claim attempts counted in one fixed window, by a conditional ``ADD``
  that refuses past the limit (atomic: concurrent attempts cannot overshoot it); expires by TTL.
* ``FLAG#<user>`` / ``FLAG`` - the exchange's flag on an account (flagged, reason, who, when).
* ``REVIEW`` / ``<queued at>#<prize id>`` - the review queue: put with the prize's move to IN_REVIEW and deleted with
  the decision, in the same transactions. One partition: a queue of claims for humans to read stays small.
* ``SETTLED`` / ``<event id>`` - a manual-claim event with nothing left to expire or settle: the sweep skips it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from arena import clock
from arena.config import settings
from arena.ids import new_id
from arena.store import dynamo
from arena.store._convert import storable

HISTORY_KEY = frozenset({"pk", "sk"})
REVIEW_PK = "REVIEW"
SETTLED_PK = "SETTLED"

Record = TypeVar("Record")


@dataclass(frozen=True)
class HistoryRecord:
    """One entry of a user's claim history."""

    user_id: str
    at: datetime
    action: str  # claim, review, payout, fulfil or expire
    outcome: str  # the prize's status after it, or REFUSED
    actor: str  # the user, an admin, the wallet service or the sweep
    prize_id: str | None = None
    event_id: str | None = None
    type: str | None = None
    amount: Decimal | None = None
    reason: str | None = None
    # The fraud signals that held a claim for review: kept for admins and the audit, never shown to the claimant.
    review_reasons: list[str] | None = None
    note: str | None = None


@dataclass(frozen=True)
class ReviewRecord:
    """A claim held for review, in the queue until an admin decides it."""

    prize_id: str
    claim_id: str
    event_id: str
    user_id: str
    type: str
    amount: Decimal
    reasons: list[str]
    queued_at: datetime


@dataclass(frozen=True)
class FlagRecord:
    """The exchange's flag on an account: a flagged account's claims are held for review."""

    user_id: str
    flagged: bool
    reason: str
    set_by: str
    set_at: datetime


@dataclass(frozen=True)
class Page(Generic[Record]):
    items: list[Record]
    next_cursor: str | None


def _table() -> str:
    return settings().claims_table


def history_pk(user_id: str) -> str:
    return f"HISTORY#{user_id}"


def idempotency_records() -> DynamoDBPersistenceLayer:
    """Where Powertools keeps the first answer to a claim sent with an Idempotency-Key (its own table)."""
    return DynamoDBPersistenceLayer(table_name=settings().claim_idempotency_table, boto3_client=dynamo.client())


def apply(actions: list[dict[str, Any]]) -> bool:
    """Run the actions as one transaction: True when applied, False when a condition refused it (a concurrent
    request got there first, or the state is not the one expected)."""
    for _ in range(8):
        outcome = dynamo.transact_write(actions)
        if outcome is None:
            return True
        if outcome.failed_conditions():
            return False
        # A TransactionConflict with a concurrent writer on the same prize: try again; the condition decides.
    raise RuntimeError("the claim transaction kept conflicting")


def _page(
    pk: str, limit: int, cursor: str | None, *, newest_first: bool, consistent: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of a partition, and the cursor of the next (None at the end). A cursor of another partition (someone
    else's history, the queue's) is refused: never page someone else's entries."""
    start = dynamo.start_key(dynamo.decode_cursor(cursor), HISTORY_KEY, {"pk": pk})
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
        "Limit": limit,
    }
    if newest_first:
        kwargs["ScanIndexForward"] = False
    if consistent:
        kwargs["ConsistentRead"] = True
    if start:
        kwargs["ExclusiveStartKey"] = start
    answer = dynamo.client().query(**kwargs)
    last = answer.get("LastEvaluatedKey")
    return [dynamo.from_item(i) for i in answer.get("Items", [])], dynamo.encode_cursor({"k": last}) if last else None


# ---------------------------------------------------------------------------------------------- history


def history_entry(user_id: str, at: datetime, values: dict[str, Any]) -> dict[str, Any]:
    """The transaction action appending one history entry (a new unique key, put only if absent: append-only)."""
    item = {"pk": history_pk(user_id), "sk": f"{clock.to_iso(at)}#{new_id()}", "user_id": user_id, **values}
    return {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.to_item({**item, "at": clock.to_iso(at)}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def history_put(entry: HistoryRecord) -> dict[str, Any]:
    """`history_entry` for a record, for a caller's transaction."""
    values = {k: v for k, v in storable(asdict(entry)).items() if k not in ("user_id", "at")}
    return history_entry(entry.user_id, entry.at, values)


def append_history(entry: HistoryRecord) -> None:
    dynamo.client().put_item(**history_put(entry)["Put"])


def _history_record(values: dict[str, Any]) -> HistoryRecord:
    return HistoryRecord(
        user_id=values["user_id"],
        at=clock.from_iso(values["at"]),
        action=values["action"],
        outcome=values["outcome"],
        actor=values["actor"],
        prize_id=values.get("prize_id"),
        event_id=values.get("event_id"),
        type=values.get("type"),
        amount=values.get("amount"),
        reason=values.get("reason"),
        review_reasons=values.get("review_reasons"),
        note=values.get("note"),
    )


def history_page(user_id: str, limit: int, cursor: str | None) -> Page[HistoryRecord]:
    """A page of the user's history, newest first."""
    items, next_cursor = _page(history_pk(user_id), limit, cursor, newest_first=True, consistent=False)
    return Page([_history_record(i) for i in items], next_cursor)


# ---------------------------------------------------------------------------------------------- velocity


def count_attempt(user_id: str, window_start: datetime, limit: int, expires_at: datetime) -> bool:
    """Count one attempt in the user's current window: False (nothing counted) when the limit is reached."""
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key={"pk": {"S": f"VELOCITY#{user_id}"}, "sk": {"S": clock.to_iso(window_start)}},
            UpdateExpression="ADD attempts :one SET expires_at = :exp",
            ConditionExpression="attribute_not_exists(attempts) OR attempts < :limit",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":limit": {"N": str(limit)},
                ":exp": {"N": str(int(expires_at.timestamp()))},
            },
        )
        return True
    except dynamo.client().exceptions.ConditionalCheckFailedException:
        return False


# ---------------------------------------------------------------------------------------------- flags


def get_flag(user_id: str) -> FlagRecord | None:
    answer = dynamo.client().get_item(
        TableName=_table(), Key={"pk": {"S": f"FLAG#{user_id}"}, "sk": {"S": "FLAG"}}, ConsistentRead=True
    )
    if "Item" not in answer:
        return None
    values = dynamo.from_item(answer["Item"])
    return FlagRecord(
        user_id=values["user_id"],
        flagged=bool(values["flagged"]),
        reason=values["reason"],
        set_by=values["set_by"],
        set_at=clock.from_iso(values["set_at"]),
    )


def put_flag(flag: FlagRecord) -> None:
    item = {"pk": f"FLAG#{flag.user_id}", "sk": "FLAG", **storable(asdict(flag))}
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item(item))


# ---------------------------------------------------------------------------------------------- review queue


def _review_sk(queued_at: datetime, prize_id: str) -> str:
    return f"{clock.to_iso(queued_at)}#{prize_id}"


def enqueue_review(review: ReviewRecord) -> dict[str, Any]:
    """The transaction action putting a claim in the review queue."""
    item = {"pk": REVIEW_PK, "sk": _review_sk(review.queued_at, review.prize_id), **storable(asdict(review))}
    return {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.to_item(item),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def dequeue_review(queued_at: datetime, prize_id: str) -> dict[str, Any]:
    """The transaction action taking a decided claim out of the review queue."""
    return {
        "Delete": {
            "TableName": _table(),
            "Key": {"pk": {"S": REVIEW_PK}, "sk": {"S": _review_sk(queued_at, prize_id)}},
        }
    }


def _review_record(values: dict[str, Any]) -> ReviewRecord:
    return ReviewRecord(
        prize_id=values["prize_id"],
        claim_id=values["claim_id"],
        event_id=values["event_id"],
        user_id=values["user_id"],
        type=values["type"],
        amount=Decimal(values["amount"]),
        reasons=list(values.get("reasons", [])),
        queued_at=clock.from_iso(values["queued_at"]),
    )


def review_page(limit: int, cursor: str | None) -> Page[ReviewRecord]:
    """A page of the review queue, oldest first."""
    items, next_cursor = _page(REVIEW_PK, limit, cursor, newest_first=False, consistent=True)
    return Page([_review_record(i) for i in items], next_cursor)


# ---------------------------------------------------------------------------------------------- sweep bookkeeping


def settled_events(event_ids: list[str]) -> set[str]:
    found = dynamo.batch_get(_table(), [{"pk": SETTLED_PK, "sk": e} for e in event_ids], consistent=False)
    return {f["sk"] for f in found}


def mark_event_settled(event_id: str, at: datetime) -> None:
    dynamo.client().put_item(
        TableName=_table(), Item=dynamo.to_item({"pk": SETTLED_PK, "sk": event_id, "at": clock.to_iso(at)})
    )
