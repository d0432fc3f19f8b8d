"""The distribution table: one prize-distribution run per event, its batches and the user prizes it wrote.

Key: event_id (HASH) and item (RANGE):
* ``RUN`` - the run: status (PLANNED, DISTRIBUTING, VERIFIED, COMPLETED, FAILED, ROLLED_BACK), the plan's totals
  per currency, batch_count, batches_done, award_count, the plan's fingerprint. Created by a conditional put
  (attribute_not_exists), so two distribute requests start one run only.
* ``BATCH#<00000>`` - at most 30 awards (user, rule, type, token, amount...), status PENDING or DONE. A batch's
  ledger posting, its prizes, DONE and the run's batches_done are written in one transaction: all or nothing.
* ``PRIZE#<user>#<rule 000>`` - what one user got under one rule, with its status (CREDITED, PAYOUT_REQUESTED,
  CUSTOM_PENDING, CLAIMABLE, ROLLED_BACK...), its key (the payout id of a token prize) and the idempotency key of
  the batch posting that paid it. ``payout_pending`` marks a token payout not yet published (the outbox).
  ``user_id`` feeds the sparse ``by_user`` index (a user's prizes across events).
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any

from arena import clock
from arena.config import settings
from arena.store import dynamo

RUN = "RUN"
BATCH_PREFIX = "BATCH#"
PRIZE_PREFIX = "PRIZE#"
_ATTEMPTS = 8


def _table() -> str:
    return settings().distribution_table


def batch_item(index: int) -> str:
    return f"{BATCH_PREFIX}{index:05d}"


def prize_item(user_id: str, rule_index: int) -> str:
    return f"{PRIZE_PREFIX}{user_id}#{rule_index:03d}"


def _key(event_id: str, item: str) -> dict[str, Any]:
    return {"event_id": {"S": event_id}, "item": {"S": item}}


def get_run(event_id: str) -> dict[str, Any] | None:
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(event_id, RUN), ConsistentRead=True)
    return dynamo.from_item(answer["Item"]) if "Item" in answer else None


def create_run(event_id: str, run: dict[str, Any]) -> bool:
    """Put the run unless the event has one already: True when this call created it."""
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item({**run, "event_id": event_id, "item": RUN}),
            ConditionExpression="attribute_not_exists(event_id)",
        )
        return True
    except dynamo.client().exceptions.ConditionalCheckFailedException:
        return False


def set_run_status(
    event_id: str, allowed_from: tuple[str, ...], status: str, at: datetime, **extra: Any
) -> dict[str, Any] | None:
    """Conditional transition of the run; None when it is not in one of `allowed_from`."""
    clause = dynamo.SetClause.of({"status": status, "updated_at": clock.to_iso(at), **extra})
    allowed = {f":from{i}": {"S": s} for i, s in enumerate(allowed_from)}
    names = {**clause.names, "#st": "status"}
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key=_key(event_id, RUN),
            UpdateExpression="SET " + ", ".join(clause.assignments),
            ConditionExpression=f"attribute_exists(event_id) AND #st IN ({', '.join(allowed)})",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues={**clause.values, **allowed},
            ReturnValues="ALL_NEW",
        )
    except dynamo.client().exceptions.ConditionalCheckFailedException:
        return None
    return dynamo.from_item(answer["Attributes"])


def put_batches(event_id: str, batches: list[dict[str, Any]]) -> None:
    """Write every batch (deterministic keys: a repeat rewrites the same PENDING items)."""
    dynamo.batch_write(
        _table(), [{**b, "event_id": event_id, "item": batch_item(int(b["batch_index"]))} for b in batches]
    )


def _query(event_id: str, prefix: str, projection: str | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    names = {"#item": "item"}
    extra: dict[str, Any] = {}
    if projection:
        names["#st"] = "status"
        extra["ProjectionExpression"] = projection
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="event_id = :e AND begins_with(#item, :p)",
        ExpressionAttributeNames=names,
        ExpressionAttributeValues={":e": {"S": event_id}, ":p": {"S": prefix}},
        ConsistentRead=True,
        **extra,
    ):
        items.extend(dynamo.from_item(i) for i in page.get("Items", []))
    return items


def batch_statuses(event_id: str) -> list[dict[str, Any]]:
    """Every batch's index and status, without its awards (a 100,000-winner run's batches hold megabytes)."""
    return _query(event_id, BATCH_PREFIX, projection="batch_index, #st")


def batches(event_id: str) -> list[dict[str, Any]]:
    """Every batch of the event's run, in batch order."""
    return _query(event_id, BATCH_PREFIX)


def prizes(event_id: str) -> list[dict[str, Any]]:
    return _query(event_id, PRIZE_PREFIX)


def get_prizes(event_id: str, keys: list[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The stored prizes among (user, rule) keys."""
    found = dynamo.batch_get(_table(), [{"event_id": event_id, "item": prize_item(u, r)} for u, r in keys])
    return {(p["user_id"], int(p["rule_index"])): p for p in found}


def user_prizes(event_id: str, user_id: str) -> list[dict[str, Any]]:
    return _query(event_id, f"{PRIZE_PREFIX}{user_id}#")


def put_prize(event_id: str, prize: dict[str, Any]) -> None:
    """Write (or rewrite, same key) one user prize."""
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item(_prize_record(event_id, prize)))


def put_prizes(event_id: str, prizes: list[dict[str, Any]]) -> None:
    """Write (or rewrite) many user prizes, 25 to a request."""
    dynamo.batch_write(_table(), [_prize_record(event_id, p) for p in prizes])


def _prize_record(event_id: str, prize: dict[str, Any]) -> dict[str, Any]:
    return {**prize, "event_id": event_id, "item": prize_item(prize["user_id"], int(prize["rule_index"]))}


def get_batch(event_id: str, index: int) -> dict[str, Any] | None:
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(event_id, batch_item(index)), ConsistentRead=True)
    return dynamo.from_item(answer["Item"]) if "Item" in answer else None


def prize_puts(event_id: str, prizes: list[dict[str, Any]], was: list[str] | None = None) -> list[dict[str, Any]]:
    """Transaction actions writing user prizes (for a caller's transaction, e.g. with a ledger posting). With `was`
    (one status per prize), each put holds only while the stored prize still has that status: a prize a concurrent
    claim has moved on cancels the whole transaction instead of being overwritten."""
    actions = []
    for index, prize in enumerate(prizes):
        put: dict[str, Any] = {"TableName": _table(), "Item": dynamo.to_item(_prize_record(event_id, prize))}
        if was is not None:
            put["ConditionExpression"] = "#st = :was"
            put["ExpressionAttributeNames"] = {"#st": "status"}
            put["ExpressionAttributeValues"] = {":was": {"S": was[index]}}
        actions.append({"Put": put})
    return actions


def batch_done_actions(event_id: str, index: int, at: datetime) -> list[dict[str, Any]]:
    """Mark the batch DONE (only once: conditional) and count it on the run, only while the run is DISTRIBUTING
    (a rollback that has begun cancels any batch not yet written): two transaction actions."""
    return [
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(event_id, batch_item(index)),
                "UpdateExpression": "SET #st = :done, done_at = :at",
                "ConditionExpression": "attribute_exists(event_id) AND #st <> :done",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {":done": {"S": "DONE"}, ":at": {"S": clock.to_iso(at)}},
            }
        },
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(event_id, RUN),
                "UpdateExpression": "ADD batches_done :one SET updated_at = :at",
                "ConditionExpression": "attribute_exists(event_id) AND #st = :distributing",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {
                    ":one": {"N": "1"},
                    ":at": {"S": clock.to_iso(at)},
                    ":distributing": {"S": "DISTRIBUTING"},
                },
            }
        },
    ]


def write_all(actions: list[dict[str, Any]]) -> bool:
    """One transaction of `actions`: True when written; False when one of their conditions failed and nothing was
    written (the batch of `batch_done_actions` was DONE already: a repeat; or a prize of `prize_puts(was=...)` has
    moved on)."""
    for attempt in range(_ATTEMPTS):
        if attempt:  # concurrent batches meet on the run item: back off with jitter, then try again
            time.sleep(0.025 * (2**attempt) * random.random())
        outcome = dynamo.transact_write(actions)
        if outcome is None:
            return True
        if outcome.failed_conditions() and not outcome.conflicted:
            return False
    raise RuntimeError(f"distribution transaction still conflicting after {_ATTEMPTS} attempts: {outcome.codes}")


def mark_payouts_published(event_id: str, prizes: list[dict[str, Any]], at: datetime) -> None:
    """The outbox's second half: these token prizes' payout requests are on the bus."""
    for prize in prizes:
        dynamo.client().update_item(
            TableName=_table(),
            Key=_key(event_id, prize_item(prize["user_id"], int(prize["rule_index"]))),
            UpdateExpression="SET payout_published_at = :at REMOVE payout_pending",
            ExpressionAttributeValues={":at": {"S": clock.to_iso(at)}},
        )
