"""Reading the participants table's stream records (Lambda's DynamoDB event format): the snapshot refresher and the
activity fan-out both follow that stream, and only the store knows how an item is written."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from arena import clock

_deserializer = TypeDeserializer()


def image(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The record's "OldImage" or "NewImage" as plain values; None when the record has none."""
    found = (record.get("dynamodb") or {}).get(name)
    return {k: _deserializer.deserialize(v) for k, v in found.items()} if found else None


def event_id_of(values: Mapping[str, Any]) -> str:
    """The event a participant image belongs to (older items carry it only in their shard key)."""
    return values.get("event_id") or str(values["shard"]).rsplit("#", 1)[0]


@dataclass(frozen=True)
class Join:
    """A participant item created: someone joined an event (or was enrolled by their first counted trade)."""

    sequence: int  # the stream record's sequence number
    event_id: str
    user_id: str
    joined_at: datetime


def joins(records: Iterable[Mapping[str, Any]]) -> list[Join]:
    """The participants a stream batch inserted, in stream order."""
    found = []
    for record in records:
        values = image(record, "NewImage") if record.get("eventName") == "INSERT" else None
        if values and values.get("joined_at"):
            found.append(
                Join(
                    sequence=int(record["dynamodb"]["SequenceNumber"]),
                    event_id=event_id_of(values),
                    user_id=values["user_id"],
                    joined_at=clock.from_iso(values["joined_at"]),
                )
            )
    return found
