"""Model <-> stored attribute values: datetimes as ISO text, enums as values, Decimals as DynamoDB numbers."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

from pydantic import BaseModel

from arena import clock


def storable(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return storable(value.model_dump(mode="python"))
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    if isinstance(value, datetime):
        return clock.to_iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        raise TypeError("floats are never stored; use Decimal")
    return value
