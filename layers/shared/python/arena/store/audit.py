"""The audit table: append-only records of who did what to which subject, when and why."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arena import clock
from arena.config import settings
from arena.ids import new_id
from arena.store import dynamo


def event_subject(event_id: str) -> str:
    return f"EVENT#{event_id}"


def chat_subject(event_id: str) -> str:
    return f"CHAT#{event_id}"


def participant_subject(event_id: str, user_id: str) -> str:
    return f"PARTICIPANT#{event_id}#{user_id}"


def participants_subject(event_id: str) -> str:
    """Every participant moderation of one event in one partition: its trail reads as one query, newest first."""
    return f"PARTICIPANTS#{event_id}"


KEY_ATTRIBUTES = frozenset({"subject", "entry"})


def record_action(subject: str, actor: str, action: str, at: datetime, reason: str, **details: Any) -> dict[str, Any]:
    """A transaction action appending one audit record (never overwrites: the entry id is new)."""
    item = {
        "subject": subject,
        "entry": f"{clock.to_iso(at)}#{new_id()}",
        "actor": actor,
        "action": action,
        "reason": reason,
        "at": clock.to_iso(at),
        **details,
    }
    return {
        "Put": {
            "TableName": settings().audit_table,
            "Item": dynamo.to_item(item),
            "ConditionExpression": "attribute_not_exists(#entry)",
            "ExpressionAttributeNames": {"#entry": "entry"},
        }
    }


def append(subject: str, actor: str, action: str, at: datetime, reason: str, **details: Any) -> None:
    """Append one audit record on its own (`record_action` writes one inside a caller's transaction)."""
    dynamo.client().put_item(**record_action(subject, actor, action, at, reason, **details)["Put"])


def history(subject: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamo.query_pages(
        TableName=settings().audit_table,
        KeyConditionExpression="#subject = :s",
        ExpressionAttributeNames={"#subject": "subject"},
        ExpressionAttributeValues={":s": {"S": subject}},
    ):
        items.extend(dynamo.from_item(i) for i in page.get("Items", []))
    return items


def page(subject: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One subject's records newest first, `limit` a page; the cursor (bound to this subject) resumes strictly
    after the last one returned, so appends meanwhile never repeat or skip a record."""
    start = dynamo.start_key(dynamo.decode_cursor(cursor), KEY_ATTRIBUTES, {"subject": subject})
    kwargs: dict[str, Any] = {
        "TableName": settings().audit_table,
        "KeyConditionExpression": "#subject = :s",
        "ExpressionAttributeNames": {"#subject": "subject"},
        "ExpressionAttributeValues": {":s": {"S": subject}},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if start is not None:
        kwargs["ExclusiveStartKey"] = start
    answer = dynamo.client().query(**kwargs)
    items = [dynamo.from_item(i) for i in answer.get("Items", [])]
    last = answer.get("LastEvaluatedKey")
    if not last or not items:
        return items, None
    return items, dynamo.encode_cursor({"k": {"subject": last["subject"], "entry": last["entry"]}})
