"""Domain events on the EventBridge bus: Source "arena", DetailType the event's name, Detail JSON.

Decimals travel as strings in their canonical form (`exact.canonical`, never floats), datetimes as UTC ISO-8601.
Callers publish only after the state change the event reports was written (a conditional write that succeeded),
so a repeated trigger publishes nothing.
"""

from __future__ import annotations

import json
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
