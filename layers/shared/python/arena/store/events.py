"""The events table: one item per event, two GSIs (by_status for sweeps and ingest, by_start for the catalogue)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.events import LIVE_STATUSES, EventStatus
from arena.models.events import Event
from arena.store import dynamo
from arena.store._convert import storable

CATALOG = "EVENT"
CATALOG_KEY = frozenset({"event_id", "catalog", "start_key"})
_INTERNAL = ("catalog", "start_key")


def _table() -> str:
    return settings().events_table


def _start_key(start_at: datetime, event_id: str) -> str:
    return f"{clock.to_iso(start_at)}#{event_id}"


def _to_event(item: dict[str, Any]) -> Event:
    return event_from_values(dynamo.from_item(item))


def event_from_values(values: dict[str, Any]) -> Event:
    """An event from its stored attributes (already deserialised)."""
    values = dict(values)
    values["id"] = values.pop("event_id")
    for name in _INTERNAL:
        values.pop(name, None)
    return Event.model_validate(values)


def put_new(event: Event) -> None:
    values = storable(event)
    values["event_id"] = values.pop("id")
    values["catalog"] = CATALOG
    values["start_key"] = _start_key(event.start_at, event.id)
    dynamo.client().put_item(
        TableName=_table(), Item=dynamo.to_item(values), ConditionExpression="attribute_not_exists(event_id)"
    )


def get(event_id: str) -> Event | None:
    item = dynamo.client().get_item(TableName=_table(), Key={"event_id": {"S": event_id}}, ConsistentRead=True)
    return _to_event(item["Item"]) if "Item" in item else None


def _update(event_id: str, fields: dict[str, Any], condition: str, condition_values: dict[str, Any]) -> Event | None:
    """SET/REMOVE `fields` and bump the version when `condition` holds; None when it does not."""
    clause = dynamo.SetClause.of(fields)
    clause.assignments.append("#version = #version + :one")
    clause.names["#version"] = "version"
    if "#status" in condition:
        clause.names["#status"] = "status"
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key={"event_id": {"S": event_id}},
            UpdateExpression=clause.expression(),
            ConditionExpression=condition,
            ExpressionAttributeNames=clause.names,
            ExpressionAttributeValues={**clause.values, ":one": {"N": "1"}, **condition_values},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return _to_event(answer["Attributes"])


def update_fields_at_version(
    event_id: str, expected_version: int, changes: dict[str, Any], updated_at: datetime
) -> Event | None:
    """Change only the given fields (None removes one) and bump the version, if the stored version is still
    `expected_version`; None when it is not (someone changed the event first) or the event is gone.

    Never rewrites participant_count, which joins move concurrently without touching the version.
    """
    fields = {k: storable(v) if v is not None else None for k, v in changes.items()}
    fields["updated_at"] = clock.to_iso(updated_at)
    if changes.get("start_at") is not None:
        fields["start_key"] = _start_key(changes["start_at"], event_id)
    return _update(
        event_id,
        fields,
        "attribute_exists(event_id) AND #version = :expected",
        {":expected": {"N": str(expected_version)}},
    )


def set_status(
    event_id: str, allowed_from: tuple[EventStatus, ...], status: EventStatus, updated_at: datetime, **extra: Any
) -> Event | None:
    """Conditional transition: None when the event is not in one of `allowed_from` (a late or repeated trigger)."""
    fields = {"status": status.value, "updated_at": clock.to_iso(updated_at), **storable(extra)}
    allowed = {f":from{i}": {"S": s.value} for i, s in enumerate(allowed_from)}
    return _update(event_id, fields, f"attribute_exists(event_id) AND #status IN ({', '.join(allowed)})", allowed)


def list_page(limit: int, start_key: dict[str, Any] | None) -> tuple[list[Event], dict[str, Any] | None]:
    """One page of the catalogue, latest start first."""
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "IndexName": "by_start",
        "KeyConditionExpression": "#catalog = :c",  # CATALOG is a DynamoDB reserved word
        "ExpressionAttributeNames": {"#catalog": "catalog"},
        "ExpressionAttributeValues": {":c": {"S": CATALOG}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start_key:
        kwargs["ExclusiveStartKey"] = start_key
    page = dynamo.client().query(**kwargs)
    return [_to_event(i) for i in page.get("Items", [])], page.get("LastEvaluatedKey")


def live_events() -> list[Event]:
    """Every event still stored UPCOMING, ACTIVE or FINALIZING (the clock decides which of them take trades now:
    a FINALIZING event still counts late trades executed before its end, until the lifecycle completes it)."""
    return with_status(*LIVE_STATUSES, EventStatus.FINALIZING)


def with_status(*statuses: EventStatus, started_before: datetime | None = None) -> list[Event]:
    """Events stored with any of `statuses` (the by_status GSI), optionally only those starting before a moment."""
    found: list[Event] = []
    for status in statuses:
        condition, values = "#s = :s", {":s": {"S": status.value}}
        if started_before is not None:
            condition += " AND start_key < :before"
            values[":before"] = {"S": clock.to_iso(started_before)}
        for page in dynamo.query_pages(
            TableName=_table(),
            IndexName="by_status",
            KeyConditionExpression=condition,
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=values,
        ):
            found.extend(_to_event(i) for i in page.get("Items", []))
    return found


def started_between(statuses: tuple[EventStatus, ...], after: datetime, before: datetime) -> list[Event]:
    """Events stored with any of `statuses` whose start lies in [after, before) (the by_status GSI's sort key)."""
    found: list[Event] = []
    for status in statuses:
        for page in dynamo.query_pages(
            TableName=_table(),
            IndexName="by_status",
            KeyConditionExpression="#s = :s AND start_key BETWEEN :after AND :before",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={
                ":s": {"S": status.value},
                ":after": {"S": clock.to_iso(after)},
                ":before": {"S": clock.to_iso(before)},
            },
        ):
            found.extend(e for e in (_to_event(i) for i in page.get("Items", [])) if after <= e.start_at < before)
    return found


def start_key_of(start_at: datetime, event_id: str) -> str:
    """The by_status/by_start sort key; a transition that moves start_at sets it too."""
    return _start_key(start_at, event_id)


def index_key(event: Event) -> dict[str, Any]:
    """The by_start index key of an event: where a catalogue page resumes after it."""
    return {
        "event_id": {"S": event.id},
        "catalog": {"S": CATALOG},
        "start_key": {"S": _start_key(event.start_at, event.id)},
    }
