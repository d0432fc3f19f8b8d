"""Domain events on the EventBridge bus: Source "arena", DetailType the event's name, Detail JSON.

Decimals travel as strings in their canonical form (`exact.canonical`, never floats), datetimes as UTC ISO-8601.
Callers publish only after the state change the event reports was written (a conditional write that succeeded),
so a repeated trigger publishes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import boto3
from pydantic import BaseModel

from arena import clock
from arena.config import settings
from arena.domain.exact import canonical
from arena.factories import cached

SOURCE = "arena"


@cached
def client() -> Any:
    return boto3.client("events")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return canonical(value)
    if isinstance(value, datetime):
        return clock.to_iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def detail_json(detail: dict[str, Any]) -> str:
    return json.dumps(detail, default=_default, separators=(",", ":"), sort_keys=True)


def publish(name: str, detail: dict[str, Any]) -> None:
    """Put one event on the bus; raises when EventBridge refuses it (the caller's Lambda then reports a failure)."""
    answer = client().put_events(
        Entries=[
            {
                "Source": SOURCE,
                "DetailType": name,
                "Detail": detail_json(detail),
                "EventBusName": settings().event_bus_name,
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        entry = answer["Entries"][0]
        raise RuntimeError(f"EventBridge refused {name}: {entry.get('ErrorCode')} {entry.get('ErrorMessage')}")


# PutEvents takes at most 10 entries and 256 KB per request (each entry's Source, DetailType and Detail count).
MAX_ENTRIES = 10
MAX_REQUEST_BYTES = 256 * 1024


def _size(name: str, detail: str) -> int:
    return len(SOURCE.encode()) + len(name.encode()) + len(detail.encode())


def publish_all(events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Put several events on the bus, as few requests as the limits allow, in order; raises when EventBridge refuses
    any (naming how many) after the others were sent."""
    bus = settings().event_bus_name
    batches: list[list[dict[str, Any]]] = []
    size = 0
    for name, detail in events:
        text = detail_json(detail)
        entry = {"Source": SOURCE, "DetailType": str(name), "Detail": text, "EventBusName": bus}
        entry_size = _size(str(name), text)
        if not batches or len(batches[-1]) == MAX_ENTRIES or size + entry_size > MAX_REQUEST_BYTES:
            batches.append([])
            size = 0
        batches[-1].append(entry)
        size += entry_size
    refused: list[str] = []
    for batch in batches:
        answer = client().put_events(Entries=batch)
        if answer.get("FailedEntryCount"):
            refused += [
                f"{entry['DetailType']}: {result.get('ErrorCode')}"
                for entry, result in zip(batch, answer["Entries"], strict=True)
                if result.get("ErrorCode")
            ]
    if refused:
        raise RuntimeError(f"EventBridge refused {len(refused)} event(s): {'; '.join(refused[:5])}")
