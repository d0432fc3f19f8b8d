"""The analytics table: rollup items written by the trade-stream consumer, and the read API dashboards use.

Items (pk `scope`, sk `bucket`):
- `EVENT#<event id>` / `minute#<start>`, `hour#<start>`, `day#<start>` (start ISO-8601 UTC, aligned): one event's
  bucket; `EVENT#<event id>` / `totals`: the event so far. Counters: volume, trades, fees, buy_volume,
  sell_volume; `markets` (market -> counters), `hours` (totals only: UTC hour of day -> counters), `joins`;
  distinct participants who traded (`traders`, a string set, or `traders_sketch`, a serialised HyperLogLog once
  past the exact limit) and distinct traders of the event's markets (`market_traders` / `market_traders_sketch`).
- `USER#<user id>` / `day#<date>`: one trader's UTC day over every market: counters and `markets` (a string set).
- `EXPORT#<id>`: export jobs (arena/store/exports.py).

Every rollup item carries `version` (optimistic locking: each write is conditional on the version read) and
`applied`, the stream positions already in it: a list of {"b": batch id, "l": last sequence number} in write
order, the newest APPLIED_KEPT kept (see arena/services/rollups.py for how a redelivered batch uses it).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.rollups import (
    BucketState,
    EventBucket,
    EventTotals,
    Resolution,
    Tally,
    UserDay,
)
from arena.domain.sketch import Distinct, HyperLogLog
from arena.store import dynamo

TOTALS = "totals"
# Stream positions remembered per item: enough for every batch that may still be retried while later batches of
# other shards write the same item.
APPLIED_KEPT = 64
# Users whose days are read at once (one query each).
READ_WORKERS = 8

_TALLY_FIELDS = ("volume", "trades", "fees", "buy_volume", "sell_volume")


def _table() -> str:
    return settings().analytics_table


def event_scope(event_id: str) -> str:
    return f"EVENT#{event_id}"


def user_scope(user_id: str) -> str:
    return f"USER#{user_id}"


def bucket_key(resolution: Resolution, start: datetime) -> str:
    return f"{resolution.value}#{clock.to_iso(start)}"


def day_key(day: date) -> str:
    return f"day#{day.isoformat()}"


@dataclass
class StoredState:
    """A rollup item as read: its state, its version (0: not written yet) and the stream positions in it."""

    state: BucketState = field(default_factory=BucketState)
    version: int = 0
    applied: list[tuple[str, int]] = field(default_factory=list)

    def last_applied(self, batch_id: str) -> int | None:
        for batch, last in self.applied:
            if batch == batch_id:
                return last
        return None


# ------------------------------------------------------------------------------------------------ encoding


def _tally_values(tally: Tally) -> dict[str, Any]:
    return {name: getattr(tally, name) for name in _TALLY_FIELDS}


def _tally(values: dict[str, Any]) -> Tally:
    return Tally(
        volume=Decimal(values.get("volume", 0)),
        trades=int(values.get("trades", 0)),
        fees=Decimal(values.get("fees", 0)),
        buy_volume=Decimal(values.get("buy_volume", 0)),
        sell_volume=Decimal(values.get("sell_volume", 0)),
    )


def _distinct_values(name: str, distinct: Distinct) -> dict[str, Any]:
    if distinct.ids is not None:
        return {name: set(distinct.ids) or None}  # DynamoDB has no empty set: absent means none
    assert distinct.sketch is not None
    return {f"{name}_sketch": distinct.sketch.to_bytes()}


def _bytes(value: Any) -> bytes:
    return bytes(getattr(value, "value", value))


def _distinct(values: dict[str, Any], name: str) -> Distinct:
    sketch = values.get(f"{name}_sketch")
    if sketch is not None:
        return Distinct(ids=None, sketch=HyperLogLog.from_bytes(_bytes(sketch)))
    return Distinct(ids=set(values.get(name) or ()))


def _state(values: dict[str, Any]) -> BucketState:
    return BucketState(
        tally=_tally(values),
        by_market={market: _tally(v) for market, v in (values.get("markets_tallies") or {}).items()},
        by_hour={int(hour): _tally(v) for hour, v in (values.get("hours") or {}).items()},
        traders=_distinct(values, "traders"),
        market_traders=_distinct(values, "market_traders"),
        joins=int(values.get("joins", 0)),
        markets=set(values.get("markets") or ()),
    )


def _stored(values: dict[str, Any] | None) -> StoredState:
    if values is None:
        return StoredState()
    return StoredState(
        state=_state(values),
        version=int(values.get("version", 0)),
        applied=[(entry["b"], int(entry["l"])) for entry in values.get("applied") or []],
    )


def _item(scope: str, bucket: str, stored: StoredState, expires_at: int | None) -> dict[str, Any]:
    state = stored.state
    return {
        "scope": scope,
        "bucket": bucket,
        **_tally_values(state.tally),
        "markets_tallies": {m: _tally_values(t) for m, t in state.by_market.items()} or None,
        "hours": {str(h): _tally_values(t) for h, t in state.by_hour.items()} or None,
        **_distinct_values("traders", state.traders),
        **_distinct_values("market_traders", state.market_traders),
        "joins": state.joins,
        "markets": set(state.markets) or None,
        "version": stored.version,
        "applied": [{"b": batch, "l": last} for batch, last in stored.applied[-APPLIED_KEPT:]],
        "expires_at": expires_at,
    }


# ------------------------------------------------------------------------------------------------ writes


def read_states(keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredState]:
    """The stored state of every (scope, bucket) key; keys not written yet map to an empty state (version 0)."""
    found = dynamo.batch_get(_table(), [{"scope": scope, "bucket": bucket} for scope, bucket in keys])
    by_key = {(item["scope"], item["bucket"]): item for item in found}
    return {key: _stored(by_key.get(key)) for key in keys}


def read_state(scope: str, bucket: str) -> StoredState:
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item({"scope": scope, "bucket": bucket}), ConsistentRead=True
    )
    item = answer.get("Item")
    return _stored(dynamo.from_item(item) if item else None)


def write_state(scope: str, bucket: str, stored: StoredState, read_version: int, expires_at: int | None) -> bool:
    """Replace one rollup item, only if it is still at `read_version` (0: absent). False when another writer got
    there first (the caller re-reads and re-applies)."""
    condition = "attribute_not_exists(#scope)" if read_version == 0 else "#version = :read"
    values = {} if read_version == 0 else {":read": dynamo.to_value(read_version)}
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item(_item(scope, bucket, stored, expires_at)),
            ConditionExpression=condition,
            ExpressionAttributeNames={"#scope": "scope"} if read_version == 0 else {"#version": "version"},
            **({"ExpressionAttributeValues": values} if values else {}),
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    return True


# ------------------------------------------------------------------------------------------------ reads


def _event_bucket(event_id: str, resolution: Resolution, start: datetime, state: BucketState) -> EventBucket:
    return EventBucket(
        event_id=event_id,
        resolution=resolution,
        start=start,
        tally=state.tally,
        by_market=dict(state.by_market),
        traders=state.traders.count(),
        market_traders=state.market_traders.count(),
        joins=state.joins,
    )


def event_buckets(event_id: str, resolution: Resolution, start: datetime, end: datetime) -> list[EventBucket]:
    """The event's buckets of `resolution` whose start is in [start, end), ascending; empty buckets omitted."""
    if end <= start:
        return []
    prefix = f"{resolution.value}#"
    buckets: list[EventBucket] = []
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="#scope = :scope AND #bucket BETWEEN :low AND :high",
        ExpressionAttributeNames={"#scope": "scope", "#bucket": "bucket"},
        ExpressionAttributeValues={
            ":scope": {"S": event_scope(event_id)},
            ":low": {"S": bucket_key(resolution, start)},
            ":high": {"S": bucket_key(resolution, end)},
        },
    ):
        for item in page.get("Items", []):
            values = dynamo.from_item(item)
            bucket_start = clock.from_iso(values["bucket"][len(prefix) :])
            if start <= bucket_start < end:
                buckets.append(_event_bucket(event_id, resolution, bucket_start, _state(values)))
    return buckets


def _totals_values(event_id: str, projection: str | None = None) -> dict[str, Any] | None:
    kwargs: dict[str, Any] = {}
    if projection:
        kwargs = {"ProjectionExpression": projection}
    answer = dynamo.client().get_item(
        TableName=_table(), Key=dynamo.to_item({"scope": event_scope(event_id), "bucket": TOTALS}), **kwargs
    )
    item = answer.get("Item")
    return dynamo.from_item(item) if item else None


def event_totals(event_id: str) -> EventTotals | None:
    """The event so far; None when nothing was rolled up for it yet."""
    values = _totals_values(event_id)
    if values is None:
        return None
    state = _state(values)
    return EventTotals(
        event_id=event_id,
        tally=state.tally,
        by_market=dict(state.by_market),
        by_hour_of_day=dict(sorted(state.by_hour.items())),
        traders=state.traders.count(),
        market_traders=state.market_traders.count(),
        joins=state.joins,
    )


def market_traders(event_id: str) -> frozenset[str] | None:
    """Everyone who traded the event's markets in its window, when kept exactly (up to the exact limit of
    arena/domain/sketch.py); None when only a sketch is kept. An event nobody traded yet: the empty set."""
    values = _totals_values(event_id, "market_traders, market_traders_sketch")
    if values is None:
        return frozenset()
    distinct = _distinct(values, "market_traders")
    return frozenset(distinct.ids) if distinct.ids is not None else None


def _user_days(user_id: str, first: date, last: date) -> list[UserDay]:
    days: list[UserDay] = []
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="#scope = :scope AND #bucket BETWEEN :low AND :high",
        ExpressionAttributeNames={"#scope": "scope", "#bucket": "bucket"},
        ExpressionAttributeValues={
            ":scope": {"S": user_scope(user_id)},
            ":low": {"S": day_key(first)},
            ":high": {"S": day_key(last)},
        },
    ):
        for item in page.get("Items", []):
            values = dynamo.from_item(item)
            state = _state(values)
            day = date.fromisoformat(values["bucket"].removeprefix("day#"))
            days.append(UserDay(user_id, day, state.tally, frozenset(state.markets)))
    return days


def user_days(user_ids: Sequence[str], first: date, last: date) -> dict[str, list[UserDay]]:
    """Each trader's days in [first, last] (inclusive), ascending; users without activity map to []."""
    unique = list(dict.fromkeys(user_ids))
    if not unique or last < first:
        return {user_id: [] for user_id in unique}
    with ThreadPoolExecutor(max_workers=min(READ_WORKERS, len(unique))) as pool:
        return dict(zip(unique, pool.map(lambda u: _user_days(u, first, last), unique), strict=True))
