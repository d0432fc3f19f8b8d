"""The distribution table: one prize-distribution run per event, its batches and the user prizes it wrote.

Key: event_id (HASH) and item (RANGE):
* ``RUN`` - the run: status (PLANNED, DISTRIBUTING, VERIFIED, COMPLETED, FAILED, ROLLED_BACK), the plan's totals
  per currency, batch_count, batches_done, award_count, the plan's fingerprint. Created by a conditional put
  (attribute_not_exists), so two distribute requests start one run only.
* ``BATCH#<00000>`` - at most ``BATCH_SIZE`` awards (user, rule, type, token, amount...), status PENDING or DONE.
  A batch's ledger posting, its prizes, DONE and the run's batches_done are written in one transaction: all or
  nothing.
* ``PRIZE#<user>#<rule 000>`` - what one user got under one rule, with its status (CREDITED, PAYOUT_REQUESTED,
  CUSTOM_PENDING, CLAIMABLE, ROLLED_BACK...), its key (the payout id of a token prize) and the idempotency key of
  the batch posting that paid it. ``payout_pending`` marks a token payout not yet published (the outbox).
  ``user_id`` feeds the sparse ``by_user`` index (a user's prizes across events).

Reads return the records of domain/distribution.py (Run, Batch, PrizeRecord); writes take them.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.distribution import Batch, PlannedPrize, PrizeRecord, Run
from arena.domain.statuses import BatchStatus, PrizeStatus, RunStatus
from arena.store import dynamo

RUN = "RUN"
BATCH_PREFIX = "BATCH#"
PRIZE_PREFIX = "PRIZE#"
_ATTEMPTS = 8


_TRANSACTION_ITEMS = 100  # TransactWriteItems' limit


def _table() -> str:
    return settings().distribution_table


def batch_item(index: int) -> str:
    return f"{BATCH_PREFIX}{index:05d}"


def prize_item(user_id: str, rule_index: int) -> str:
    return f"{PRIZE_PREFIX}{user_id}#{rule_index:03d}"


def _key(event_id: str, item: str) -> dict[str, Any]:
    return {"event_id": {"S": event_id}, "item": {"S": item}}


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _run(item: Mapping[str, Any]) -> Run:
    return Run(
        event_id=item["event_id"],
        run_id=item["run_id"],
        status=RunStatus(item["status"]),
        created_by=item["created_by"],
        created_at=item["created_at"],
        updated_at=item["updated_at"],
        award_count=int(item["award_count"]),
        batch_count=int(item["batch_count"]),
        batches_done=int(item.get("batches_done", 0)),
        pool_total=dict(item.get("pool_total", {})),
        paid=dict(item.get("paid", {})),
        treasury=dict(item.get("treasury", {})),
        counts={name: int(n) for name, n in item.get("counts", {}).items()},
        fingerprint=item.get("fingerprint", ""),
        attempt=int(item.get("attempt", 0)),
        problems=list(item.get("problems", [])),
        reason=item.get("reason"),
        rolled_back_by=item.get("rolled_back_by"),
        previous_status=item.get("previous_status"),
        rollback_published=bool(item.get("rollback_published", False)),
        refused_count=_optional_int(item.get("refused_count")),
    )


def _run_item(run: Run) -> dict[str, Any]:
    item = asdict(run)
    for name, default in (("attempt", 0), ("problems", []), ("rollback_published", False)):
        if item[name] == default:  # written when they first change
            del item[name]
    return item


def get_run(event_id: str) -> Run | None:
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(event_id, RUN), ConsistentRead=True)
    return _run(dynamo.from_item(answer["Item"])) if "Item" in answer else None


def create_run(event_id: str, run: Run) -> bool:
    """Put the run unless the event has one already: True when this call created it."""
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item({**_run_item(run), "event_id": event_id, "item": RUN}),
            ConditionExpression="attribute_not_exists(event_id)",
        )
        return True
    except dynamo.client().exceptions.ConditionalCheckFailedException:
        return False


def set_run_status(
    event_id: str, allowed_from: tuple[RunStatus, ...], status: RunStatus, at: datetime, **extra: Any
) -> Run | None:
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
    return _run(dynamo.from_item(answer["Attributes"]))


def put_batches(event_id: str, batches: list[Batch]) -> None:
    """Write each batch that is not written yet. Write-once, because two requests may plan a run at once (both read
    it PLANNED): the second must not turn a batch the first has already paid back to PENDING. The keys and contents
    are the plan's (its fingerprint was checked), so a batch that exists is already right."""
    puts = [
        {
            "Put": {
                "TableName": _table(),
                "Item": dynamo.to_item({**asdict(b), "event_id": event_id, "item": batch_item(b.batch_index)}),
                "ConditionExpression": "attribute_not_exists(#item)",
                "ExpressionAttributeNames": {"#item": "item"},
            }
        }
        for b in batches
    ]
    for start in range(0, len(puts), _TRANSACTION_ITEMS):
        chunk = puts[start : start + _TRANSACTION_ITEMS]
        if write_all(chunk):
            continue
        for put in chunk:  # some exist already: write the others one by one
            try:
                dynamo.client().put_item(**put["Put"])
            except ClientError as error:
                if not dynamo.is_conditional_failure(error):
                    raise


def _planned(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "user_id": item["user_id"],
        "rule_index": int(item["rule_index"]),
        "prize_rank": int(item["prize_rank"]),
        "type": item["type"],
        "token": item.get("token"),
        "description": item.get("description"),
        "amount": Decimal(item["amount"]),
        "key": item["key"],
    }


def _batch(item: Mapping[str, Any]) -> Batch:
    return Batch(
        batch_index=int(item["batch_index"]),
        status=BatchStatus(item["status"]),
        awards=[PlannedPrize(**_planned(a)) for a in item["awards"]],
        user_ids=list(item.get("user_ids", [])),
    )


def prize_record(item: Mapping[str, Any]) -> PrizeRecord:
    """A prize item's attributes (deserialised) -> its record: the one mapping, for this module and user_prizes."""
    return PrizeRecord(
        **_planned(item),
        event_id=item["event_id"],
        status=PrizeStatus(item["status"]),
        batch_index=_optional_int(item.get("batch_index")),
        applied_at=_time(item.get("applied_at")),
        claim_deadline=_time(item.get("claim_deadline")),
        posting_key=item.get("posting_key"),
        payout_pending=bool(item.get("payout_pending", False)),
        payout_published_at=_time(item.get("payout_published_at")),
        previous_status=PrizeStatus(item["previous_status"]) if item.get("previous_status") else None,
        rolled_back_at=_time(item.get("rolled_back_at")),
        claim_id=item.get("claim_id"),
        claimed_at=_time(item.get("claimed_at")),
        decision=item.get("decision"),
        settled_at=_time(item.get("settled_at")),
    )


def _time(value: Any) -> datetime | None:
    return clock.from_iso(value) if value else None


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


def pending_batches(event_id: str) -> list[int]:
    """The indexes of the batches not DONE, read without their awards (a 100,000-winner run's batches hold
    megabytes)."""
    statuses = _query(event_id, BATCH_PREFIX, projection="batch_index, #st")
    return [int(b["batch_index"]) for b in statuses if b["status"] != BatchStatus.DONE]


def batches(event_id: str) -> list[Batch]:
    """Every batch of the event's run, in batch order."""
    return [_batch(b) for b in _query(event_id, BATCH_PREFIX)]


def prizes(event_id: str) -> list[PrizeRecord]:
    return [prize_record(p) for p in _query(event_id, PRIZE_PREFIX)]


def get_prizes(event_id: str, keys: list[tuple[str, int]]) -> dict[tuple[str, int], PrizeRecord]:
    """The stored prizes among (user, rule) keys."""
    found = dynamo.batch_get(_table(), [{"event_id": event_id, "item": prize_item(u, r)} for u, r in keys])
    return {(p.user_id, p.rule_index): p for p in map(prize_record, found)}


def user_prizes(event_id: str, user_id: str) -> list[PrizeRecord]:
    return [prize_record(p) for p in _query(event_id, f"{PRIZE_PREFIX}{user_id}#")]


def put_prize(prize: PrizeRecord) -> None:
    """Write (or rewrite, same key) one user prize."""
    dynamo.client().put_item(TableName=_table(), Item=dynamo.to_item(_prize_item(prize)))


def put_prizes(prizes: list[PrizeRecord]) -> None:
    """Write (or rewrite) many user prizes, 25 to a request."""
    dynamo.batch_write(_table(), [_prize_item(p) for p in prizes])


def _prize_item(prize: PrizeRecord) -> dict[str, Any]:
    values = {name: clock.to_iso(v) if isinstance(v, datetime) else v for name, v in asdict(prize).items()}
    item = {**values, "item": prize_item(prize.user_id, prize.rule_index)}
    if not prize.payout_pending:
        del item["payout_pending"]
    return item


def get_batch(event_id: str, index: int) -> Batch | None:
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(event_id, batch_item(index)), ConsistentRead=True)
    return _batch(dynamo.from_item(answer["Item"])) if "Item" in answer else None


def prize_puts(prizes: list[PrizeRecord]) -> list[dict[str, Any]]:
    """Transaction actions writing user prizes (for a caller's transaction, e.g. with a ledger posting)."""
    return [{"Put": {"TableName": _table(), "Item": dynamo.to_item(_prize_item(p))}} for p in prizes]


def rolled_back_actions(prizes: list[PrizeRecord], at: datetime) -> list[dict[str, Any]]:
    """Transaction actions turning prizes ROLLED_BACK, each only while the stored prize still has the status it
    was read in: a prize a concurrent claim has moved on cancels the whole transaction instead of being
    overwritten."""
    return [
        {
            "Update": {
                "TableName": _table(),
                "Key": _key(p.event_id, prize_item(p.user_id, p.rule_index)),
                "UpdateExpression": "SET #st = :rolled, previous_status = :was, rolled_back_at = :at",
                "ConditionExpression": "#st = :was",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {
                    ":rolled": {"S": PrizeStatus.ROLLED_BACK},
                    ":was": {"S": p.status},
                    ":at": {"S": clock.to_iso(at)},
                },
            }
        }
        for p in prizes
    ]


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
                "ExpressionAttributeValues": {":done": {"S": BatchStatus.DONE}, ":at": {"S": clock.to_iso(at)}},
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
                    ":distributing": {"S": RunStatus.DISTRIBUTING},
                },
            }
        },
    ]


def write_all(actions: list[dict[str, Any]]) -> bool:
    """One transaction of `actions`: True when written; False when one of their conditions failed and nothing was
    written (the batch of `batch_done_actions` was DONE already: a repeat; or a prize of `rolled_back_actions` has
    moved on)."""
    codes: list[str] = []
    for attempt in range(_ATTEMPTS):
        if attempt:  # concurrent batches meet on the run item: back off with jitter, then try again
            time.sleep(0.025 * (2**attempt) * random.random())
        outcome = dynamo.transact_write(actions)
        if outcome is None:
            return True
        if outcome.failed_conditions() and not outcome.conflicted:
            return False
        codes = outcome.codes
    raise RuntimeError(f"distribution transaction still conflicting after {_ATTEMPTS} attempts: {codes}")


def mark_payouts_published(prizes: list[PrizeRecord], at: datetime) -> None:
    """The outbox's second half: these token prizes' payout requests are on the bus."""
    for prize in prizes:
        dynamo.client().update_item(
            TableName=_table(),
            Key=_key(prize.event_id, prize_item(prize.user_id, prize.rule_index)),
            UpdateExpression="SET payout_published_at = :at REMOVE payout_pending",
            ExpressionAttributeValues={":at": {"S": clock.to_iso(at)}},
        )
