"""Prize claims in DynamoDB: the claim transitions of user prizes (the distribution table's ``PRIZE#`` items) and
the claims table.

Claims table, key ``pk`` (HASH) + ``sk`` (RANGE):
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

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arena import clock
from arena.config import settings
from arena.domain.claims import PrizeRef
from arena.ids import new_id
from arena.store import dynamo
from arena.store.distribution import prize_item

HISTORY_KEY = frozenset({"pk", "sk"})
REVIEW_PK = "REVIEW"
SETTLED_PK = "SETTLED"


def _table() -> str:
    return settings().claims_table


def _prizes() -> str:
    return settings().distribution_table


def _prize_key(ref: PrizeRef) -> dict[str, Any]:
    return {"event_id": {"S": ref.event_id}, "item": {"S": prize_item(ref.user_id, ref.rule_index)}}


def history_pk(user_id: str) -> str:
    return f"HISTORY#{user_id}"


# ---------------------------------------------------------------------------------------------- prizes


def get_prize(ref: PrizeRef) -> dict[str, Any] | None:
    answer = dynamo.client().get_item(TableName=_prizes(), Key=_prize_key(ref), ConsistentRead=True)
    return dynamo.from_item(answer["Item"]) if "Item" in answer else None


def user_prizes(user_id: str) -> list[dict[str, Any]]:
    """Every prize of a user across events (the sparse by_user index: only prize items carry user_id)."""
    found: list[dict[str, Any]] = []
    for page in dynamo.query_pages(
        TableName=_prizes(),
        IndexName="by_user",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    ):
        found.extend(dynamo.from_item(i) for i in page.get("Items", []))
    return [p for p in found if str(p.get("item", "")).startswith("PRIZE#")]


def event_prizes(event_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in dynamo.query_pages(
        TableName=_prizes(),
        KeyConditionExpression="event_id = :e AND begins_with(#item, :p)",
        ExpressionAttributeNames={"#item": "item"},
        ExpressionAttributeValues={":e": {"S": event_id}, ":p": {"S": "PRIZE#"}},
        ConsistentRead=True,
    ):
        found.extend(dynamo.from_item(i) for i in page.get("Items", []))
    return found


def prize_transition(
    ref: PrizeRef,
    allowed_from: tuple[str, ...],
    status: str,
    fields: dict[str, Any],
    *,
    owner: str | None = None,
    deadline_after: datetime | None = None,
    deadline_before: datetime | None = None,
) -> dict[str, Any]:
    """The transaction action moving a prize from one of `allowed_from` to `status` (and setting `fields`; None
    removes one). Optional guards: the owner, and the claim deadline still ahead of (or already behind) a moment.
    The condition is what makes each prize claimed, expired or decided once, however many requests race."""
    clause = dynamo.SetClause.of({"status": status, **fields})
    allowed = {f":from{i}": {"S": s} for i, s in enumerate(allowed_from)}
    names = {**clause.names, "#st": "status"}
    values = {**clause.values, **allowed}
    condition = f"attribute_exists(event_id) AND #st IN ({', '.join(allowed)})"
    if owner is not None:
        condition += " AND user_id = :owner"
        values[":owner"] = {"S": owner}
    if deadline_after is not None:
        condition += " AND claim_deadline > :now"
        values[":now"] = {"S": clock.to_iso(deadline_after)}
    if deadline_before is not None:
        condition += " AND claim_deadline <= :due"
        values[":due"] = {"S": clock.to_iso(deadline_before)}
    return {
        "Update": {
            "TableName": _prizes(),
            "Key": _prize_key(ref),
            "UpdateExpression": clause.expression(),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def set_prize_fields(ref: PrizeRef, fields: dict[str, Any]) -> None:
    """Record a step done after a transition (settled_at...): unconditional, the steps are idempotent."""
    clause = dynamo.SetClause.of(fields)
    dynamo.client().update_item(
        TableName=_prizes(),
        Key=_prize_key(ref),
        UpdateExpression=clause.expression(),
        ConditionExpression="attribute_exists(event_id)",
        ExpressionAttributeNames=clause.names,
        ExpressionAttributeValues=clause.values,
    )


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


# ---------------------------------------------------------------------------------------------- history


def history_entry(user_id: str, at: datetime, entry: dict[str, Any]) -> dict[str, Any]:
    """The transaction action appending one history entry (a new unique key, put only if absent: append-only)."""
    item = {"pk": history_pk(user_id), "sk": f"{clock.to_iso(at)}#{new_id()}", "user_id": user_id, **entry}
    return {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.to_item({**item, "at": clock.to_iso(at)}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def append_history(user_id: str, at: datetime, entry: dict[str, Any]) -> None:
    dynamo.client().put_item(**history_entry(user_id, at, entry)["Put"])


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    last_key: dict[str, Any] | None


def history_page(user_id: str, limit: int, start: dict[str, Any] | None) -> Page:
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": history_pk(user_id)}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    answer = dynamo.client().query(**kwargs)
    return Page([dynamo.from_item(i) for i in answer.get("Items", [])], answer.get("LastEvaluatedKey"))


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


def get_flag(user_id: str) -> dict[str, Any] | None:
    answer = dynamo.client().get_item(
        TableName=_table(), Key={"pk": {"S": f"FLAG#{user_id}"}, "sk": {"S": "FLAG"}}, ConsistentRead=True
    )
    return dynamo.from_item(answer["Item"]) if "Item" in answer else None


def put_flag(user_id: str, values: dict[str, Any]) -> None:
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item({"pk": f"FLAG#{user_id}", "sk": "FLAG", **values}))


# ---------------------------------------------------------------------------------------------- review queue


def review_sk(queued_at: str, prize_id: str) -> str:
    return f"{queued_at}#{prize_id}"


def enqueue_review(queued_at: str, prize_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": _table(),
            "Item": dynamo.to_item({"pk": REVIEW_PK, "sk": review_sk(queued_at, prize_id), **values}),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def dequeue_review(queued_at: str, prize_id: str) -> dict[str, Any]:
    return {
        "Delete": {
            "TableName": _table(),
            "Key": {"pk": {"S": REVIEW_PK}, "sk": {"S": review_sk(queued_at, prize_id)}},
        }
    }


def review_page(limit: int, start: dict[str, Any] | None) -> Page:
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": REVIEW_PK}},
        "Limit": limit,
        "ConsistentRead": True,
    }
    if start:
        kwargs["ExclusiveStartKey"] = start
    answer = dynamo.client().query(**kwargs)
    return Page([dynamo.from_item(i) for i in answer.get("Items", [])], answer.get("LastEvaluatedKey"))


# ---------------------------------------------------------------------------------------------- sweep bookkeeping


def settled_events(event_ids: list[str]) -> set[str]:
    found = dynamo.batch_get(_table(), [{"pk": SETTLED_PK, "sk": e} for e in event_ids], consistent=False)
    return {f["sk"] for f in found}


def mark_settled(event_id: str, at: datetime) -> None:
    dynamo.client().put_item(
        TableName=_table(), Item=dynamo.to_item({"pk": SETTLED_PK, "sk": event_id, "at": clock.to_iso(at)})
    )
