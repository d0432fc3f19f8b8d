"""Admin announcements in the NotificationsTable: one item each, pk `ANNOUNCEMENTS`, sk the announcement's id (a
ULID, so the partition reads newest first when queried backwards). Announcements are written by people, a few a
day at most: one partition holds them all. Their delivery counts live beside the other sources' counts
(`SOURCE#<announcement id>` / `COUNT#<channel>`, arena/store/notifications.py `source_counts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arena import clock
from arena.config import settings
from arena.domain.notifications import Channel
from arena.store import dynamo

PARTITION = "ANNOUNCEMENTS"
_KEY_ATTRIBUTES = frozenset({"pk", "sk"})


@dataclass(frozen=True)
class AnnouncementRecord:
    announcement_id: str
    event_id: str | None
    title: str
    body: str
    channels: tuple[Channel, ...]
    created_by: str
    created_at: datetime


def _table() -> str:
    return settings().notifications_table


def _to_record(item: dict[str, Any]) -> AnnouncementRecord:
    v = dynamo.from_item(item)
    return AnnouncementRecord(
        announcement_id=v["announcement_id"],
        event_id=v.get("event_id"),
        title=v["title"],
        body=v["body"],
        channels=tuple(Channel(c) for c in v["channels"]),
        created_by=v["created_by"],
        created_at=clock.from_iso(v["created_at"]),
    )


def put_new(record: AnnouncementRecord) -> None:
    """Store a new announcement; its id is new, so the condition only guards against an id collision."""
    values = {
        "pk": PARTITION,
        "sk": record.announcement_id,
        "announcement_id": record.announcement_id,
        "event_id": record.event_id,
        "title": record.title,
        "body": record.body,
        "channels": [c.value for c in record.channels],
        "created_by": record.created_by,
        "created_at": clock.to_iso(record.created_at),
    }
    dynamo.client().put_item(
        TableName=_table(), Item=dynamo.to_item(values), ConditionExpression="attribute_not_exists(pk)"
    )


def get(announcement_id: str) -> AnnouncementRecord | None:
    item = dynamo.client().get_item(
        TableName=_table(), Key={"pk": {"S": PARTITION}, "sk": {"S": announcement_id}}, ConsistentRead=True
    )
    return _to_record(item["Item"]) if "Item" in item else None


def page(limit: int, cursor: str | None) -> tuple[list[AnnouncementRecord], str | None]:
    """Newest first; `cursor` from the previous page (a 400 when it is not one of ours)."""
    start = dynamo.start_key(dynamo.decode_cursor(cursor), _KEY_ATTRIBUTES, {"pk": PARTITION})
    params: dict[str, Any] = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": PARTITION}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start:
        params["ExclusiveStartKey"] = start
    answer = dynamo.client().query(**params)
    last = answer.get("LastEvaluatedKey")
    return [_to_record(i) for i in answer.get("Items", [])], dynamo.encode_cursor({"k": last}) if last else None
