"""Reading the participants table's stream records (Lambda's DynamoDB event format): the snapshot refresher and the
activity fan-out both follow that stream, and only the store knows how an item is written."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

_deserializer = TypeDeserializer()


def image(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The record's "OldImage" or "NewImage" as plain values; None when the record has none."""
    found = (record.get("dynamodb") or {}).get(name)
    return {k: _deserializer.deserialize(v) for k, v in found.items()} if found else None


def event_id_of(values: Mapping[str, Any]) -> str:
    """The event a participant image belongs to (older items carry it only in their shard key)."""
    return values.get("event_id") or str(values["shard"]).rsplit("#", 1)[0]
