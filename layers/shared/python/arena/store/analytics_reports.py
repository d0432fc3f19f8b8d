"""What the analytics routes keep in the AnalyticsTable beside the rollups: the admin's price table (scope
`PRICES`, one item) and each completed event's post-event snapshot (scope `SNAPSHOT#<event id>`, one immutable
item holding the document's JSON text, written with a conditional put so it is written once)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.store import dynamo

PRICES_SCOPE = "PRICES"
PRICES_BUCKET = "current"
SNAPSHOT_BUCKET = "final"


def _table() -> str:
    return settings().analytics_table


def snapshot_scope(event_id: str) -> str:
    return f"SNAPSHOT#{event_id}"


@dataclass(frozen=True)
class PriceRecord:
    prices: dict[str, Decimal]  # currency name -> price of one unit (quote currency)
    version: int
    updated_by: str | None = None
    updated_at: datetime | None = None


def get_prices() -> PriceRecord:
    """The current table; version 0 and no prices before an admin sets one."""
    answer = dynamo.client().get_item(
        TableName=_table(),
        Key={"scope": {"S": PRICES_SCOPE}, "bucket": {"S": PRICES_BUCKET}},
        ConsistentRead=True,
    )
    if "Item" not in answer:
        return PriceRecord({}, 0)
    values = dynamo.from_item(answer["Item"])
    return PriceRecord(
        prices={str(k): Decimal(v) for k, v in json.loads(values["prices"]).items()},
        version=int(values["version"]),
        updated_by=values.get("updated_by"),
        updated_at=clock.from_iso(values["updated_at"]) if values.get("updated_at") else None,
    )


def put_prices(prices: dict[str, Decimal], expected_version: int, by: str, at: datetime) -> PriceRecord | None:
    """Replace the table if its version is still `expected_version` (0: none yet); None when it moved. Prices are
    stored as decimal strings in one JSON attribute: a currency name may hold any printable character."""
    condition = "attribute_not_exists(#scope)" if expected_version == 0 else "#version = :expected"
    values: dict[str, Any] = {
        "scope": PRICES_SCOPE,
        "bucket": PRICES_BUCKET,
        "prices": json.dumps({k: str(v) for k, v in sorted(prices.items())}, separators=(",", ":")),
        "version": expected_version + 1,
        "updated_by": by,
        "updated_at": clock.to_iso(at),
    }
    names = {"#scope": "scope"} if expected_version == 0 else {"#version": "version"}
    kwargs: dict[str, Any] = {
        "TableName": _table(),
        "Item": dynamo.to_item(values),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": names,
    }
    if expected_version:
        kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
    try:
        dynamo.client().put_item(**kwargs)
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return PriceRecord(dict(prices), expected_version + 1, by, at)


def get_snapshot(event_id: str) -> str | None:
    """The event's snapshot document (JSON text), None before it is written."""
    answer = dynamo.client().get_item(
        TableName=_table(),
        Key={"scope": {"S": snapshot_scope(event_id)}, "bucket": {"S": SNAPSHOT_BUCKET}},
        ConsistentRead=True,
    )
    return answer["Item"]["document"]["S"] if "Item" in answer else None


def put_snapshot(event_id: str, document: str, at: datetime) -> bool:
    """Write the snapshot once: False (and nothing written) when one exists already."""
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item={
                "scope": {"S": snapshot_scope(event_id)},
                "bucket": {"S": SNAPSHOT_BUCKET},
                "document": {"S": document},
                "written_at": {"S": clock.to_iso(at)},
            },
            ConditionExpression="attribute_not_exists(#scope)",
            ExpressionAttributeNames={"#scope": "scope"},
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True
