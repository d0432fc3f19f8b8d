"""User prizes for the claims area: the distribution table's ``PRIZE#`` items (written by store/distribution.py),
read as the one `PrizeRecord` (domain/distribution.py, mapped by `distribution.prize_record`) and moved through
their claim statuses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.claims import PrizeRef
from arena.domain.distribution import PrizeRecord
from arena.domain.statuses import PrizeStatus, RunStatus
from arena.store import distribution, dynamo


def _table() -> str:
    return settings().distribution_table


def _key(ref: PrizeRef) -> dict[str, Any]:
    return {"event_id": {"S": ref.event_id}, "item": {"S": distribution.prize_item(ref.user_id, ref.rule_index)}}


def get_prize(ref: PrizeRef) -> dict[str, Any] | None:
    """The prize item exactly as stored (an attribute never written is absent): for inspecting the table. The use
    cases read `get`."""
    answer = dynamo.client().get_item(TableName=_table(), Key=_key(ref), ConsistentRead=True)
    return dynamo.from_item(answer["Item"]) if "Item" in answer else None


def get(ref: PrizeRef) -> PrizeRecord | None:
    item = get_prize(ref)
    return distribution.prize_record(item) if item is not None else None


def of_user(user_id: str) -> list[PrizeRecord]:
    """Every prize of a user across events (the sparse by_user index: only prize items carry user_id)."""
    found: list[dict[str, Any]] = []
    for page in dynamo.query_pages(
        TableName=_table(),
        IndexName="by_user",
        KeyConditionExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
    ):
        found.extend(dynamo.from_item(i) for i in page.get("Items", []))
    return [distribution.prize_record(p) for p in found if str(p.get("item", "")).startswith(distribution.PRIZE_PREFIX)]


def of_event(event_id: str) -> list[PrizeRecord]:
    found: list[PrizeRecord] = []
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="event_id = :e AND begins_with(#item, :p)",
        ExpressionAttributeNames={"#item": "item"},
        ExpressionAttributeValues={":e": {"S": event_id}, ":p": {"S": distribution.PRIZE_PREFIX}},
        ConsistentRead=True,
    ):
        found.extend(distribution.prize_record(dynamo.from_item(i)) for i in page.get("Items", []))
    return found


def run_status(event_id: str) -> RunStatus | None:
    """The status of the event's distribution run (None before one started): only the status is read, so the claims
    area depends on nothing else of the run's record."""
    answer = dynamo.client().get_item(
        TableName=_table(),
        Key={"event_id": {"S": event_id}, "item": {"S": distribution.RUN}},
        ProjectionExpression="#st",
        ExpressionAttributeNames={"#st": "status"},
        ConsistentRead=True,
    )
    return RunStatus(answer["Item"]["status"]["S"]) if "Item" in answer else None


def transition(
    ref: PrizeRef,
    allowed_from: tuple[PrizeStatus, ...],
    status: PrizeStatus,
    fields: dict[str, Any],
    *,
    owner: str | None = None,
    deadline_after: datetime | None = None,
    deadline_before: datetime | None = None,
) -> dict[str, Any]:
    """The transaction action moving a prize from one of `allowed_from` to `status` (and setting `fields`; None
    removes one). Optional guards: the owner, and the claim deadline still ahead of (or already behind) a moment.
    The condition is what makes each prize claimed, expired or decided once, however many requests race."""
    clause = dynamo.SetClause.of({"status": status.value, **fields})
    allowed = {f":from{i}": {"S": s.value} for i, s in enumerate(allowed_from)}
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
            "TableName": _table(),
            "Key": _key(ref),
            "UpdateExpression": clause.expression(),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def mark_settled(ref: PrizeRef, at: datetime) -> None:
    """Record that what the prize's status promises was done: unconditional, the settlement steps are idempotent."""
    clause = dynamo.SetClause.of({"settled_at": clock.to_iso(at)})
    dynamo.client().update_item(
        TableName=_table(),
        Key=_key(ref),
        UpdateExpression=clause.expression(),
        ConditionExpression="attribute_exists(event_id)",
        ExpressionAttributeNames=clause.names,
        ExpressionAttributeValues=clause.values,
    )


def mark_notified(ref: PrizeRef, attribute: str, at: datetime, status: PrizeStatus | None = None) -> bool:
    """Record that a notification about the prize was published (`attribute` = when), once: True for the one caller
    that set it (and, with `status`, only while the prize has that status), False for every later one."""
    values: dict[str, Any] = {":at": {"S": clock.to_iso(at)}}
    condition = "attribute_exists(event_id) AND attribute_not_exists(#notice)"
    names = {"#notice": attribute}
    if status is not None:
        condition += " AND #st = :status"
        names["#st"] = "status"
        values[":status"] = {"S": status.value}
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key=_key(ref),
            UpdateExpression="SET #notice = :at",
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True
