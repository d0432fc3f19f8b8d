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
    # An event's announcement is pinned in the event's chat (None: the chat was off or refused it).
    chat_message_id: str | None = None
    edited_at: datetime | None = None
    withdrawn_at: datetime | None = None


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
        chat_message_id=v.get("chat_message_id"),
        edited_at=clock.from_iso(v["edited_at"]) if v.get("edited_at") else None,
        withdrawn_at=clock.from_iso(v["withdrawn_at"]) if v.get("withdrawn_at") else None,
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
        "chat_message_id": record.chat_message_id,
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


def set_chat_message(announcement_id: str, chat_message_id: str) -> None:
    dynamo.client().update_item(
        TableName=_table(),
        Key={"pk": {"S": PARTITION}, "sk": {"S": announcement_id}},
        UpdateExpression="SET chat_message_id = :m",
        ConditionExpression="attribute_exists(pk)",
        ExpressionAttributeValues={":m": {"S": chat_message_id}},
    )


def edit(announcement_id: str, title: str, body: str, at: datetime) -> AnnouncementRecord | None:
    """The new title and body of a live announcement; None when there is none (or it was withdrawn)."""
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key={"pk": {"S": PARTITION}, "sk": {"S": announcement_id}},
            UpdateExpression="SET title = :t, body = :b, edited_at = :at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(withdrawn_at)",
            ExpressionAttributeValues={":t": {"S": title}, ":b": {"S": body}, ":at": {"S": clock.to_iso(at)}},
            ReturnValues="ALL_NEW",
        )
    except dynamo.client().exceptions.ConditionalCheckFailedException:
        return None
    return _to_record(answer["Attributes"])


def withdraw(announcement_id: str, at: datetime) -> bool:
    """Mark it withdrawn; False when it was already (or does not exist): withdrawing twice changes nothing."""
    try:
        dynamo.client().update_item(
            TableName=_table(),
            Key={"pk": {"S": PARTITION}, "sk": {"S": announcement_id}},
            UpdateExpression="SET withdrawn_at = :at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(withdrawn_at)",
            ExpressionAttributeValues={":at": {"S": clock.to_iso(at)}},
        )
    except dynamo.client().exceptions.ConditionalCheckFailedException:
        return False
    return True


def event_page(event_id: str, limit: int, cursor: str | None) -> tuple[list[AnnouncementRecord], str | None]:
    """One event's live announcements, newest first. The one partition is filtered (a few a day at most, so the
    read stays small); the loop fills the page across filtered-out items."""
    start = dynamo.start_key(dynamo.decode_cursor(cursor), _KEY_ATTRIBUTES, {"pk": PARTITION})
    found: list[AnnouncementRecord] = []
    while True:
        params: dict[str, Any] = {
            "TableName": _table(),
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": "event_id = :e AND attribute_not_exists(withdrawn_at)",
            "ExpressionAttributeValues": {":pk": {"S": PARTITION}, ":e": {"S": event_id}},
            "ScanIndexForward": False,
            "Limit": limit - len(found),
        }
        if start:
            params["ExclusiveStartKey"] = start
        answer = dynamo.client().query(**params)
        found.extend(_to_record(i) for i in answer.get("Items", []))
        start = answer.get("LastEvaluatedKey")
        if not start or len(found) >= limit:
            return found, dynamo.encode_cursor({"k": start}) if start else None
