"""Counting what a boto3 DynamoDB client sends: requests per operation, consumed capacity, items written.

Two botocore event hooks on one client:

* ``before-parameter-build.dynamodb``: asks for ``ReturnConsumedCapacity="TOTAL"`` on every operation that takes
  it, and notes in the request context which items the call would write (per table);
* ``after-call.dynamodb``: counts the call (and its error code, if any), adds the consumed capacity (a dict or a
  list of dicts) to read or write units, and counts the items actually written (a failed call writes nothing, a
  BatchWriteItem's unprocessed items are not counted).

Write units are kept twice: as DynamoDB Local reports them, and as AWS would price the same writes from the item
sizes (``aws_write_units``: 1 unit per started KB per item written, 2 in a transaction; an UpdateItem is sized by
its key and the values it sets, a lower bound; index writes are not included). DynamoDB Local prices transactions
its own way (4 units for a one-item transaction of a small item, where AWS charges 2), so both are shown.

``after-call`` fires once per API call, after botocore's own retries; ``response-received`` fires once per HTTP
attempt, so the two together also show retries. Thread-safe (the ingest service writes from a thread pool).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
CAPACITY_OPERATIONS = READ_OPERATIONS | WRITE_OPERATIONS
_CONTEXT_KEY = "bench_planned_writes"
_UNITS_KEY = "bench_aws_write_units"


@dataclass
class Tally:
    """What one client sent over some span. Subtract two snapshots to get the span between them."""

    calls: Counter = field(default_factory=Counter)  # operation -> API calls
    attempts: Counter = field(default_factory=Counter)  # operation -> HTTP attempts (calls + retries)
    errors: Counter = field(default_factory=Counter)  # "Operation:ErrorCode" -> calls
    read_units: float = 0.0
    write_units: float = 0.0
    aws_write_units: float = 0.0
    items_written: Counter = field(default_factory=Counter)  # table -> items written

    def __sub__(self, other: Tally) -> Tally:
        return Tally(
            calls=self.calls - other.calls,
            attempts=self.attempts - other.attempts,
            errors=self.errors - other.errors,
            read_units=self.read_units - other.read_units,
            write_units=self.write_units - other.write_units,
            aws_write_units=self.aws_write_units - other.aws_write_units,
            items_written=self.items_written - other.items_written,
        )

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            calls=self.calls + other.calls,
            attempts=self.attempts + other.attempts,
            errors=self.errors + other.errors,
            read_units=self.read_units + other.read_units,
            write_units=self.write_units + other.write_units,
            aws_write_units=self.aws_write_units + other.aws_write_units,
            items_written=self.items_written + other.items_written,
        )

    def copy(self) -> Tally:
        return Tally(
            Counter(self.calls),
            Counter(self.attempts),
            Counter(self.errors),
            self.read_units,
            self.write_units,
            self.aws_write_units,
            Counter(self.items_written),
        )

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.calls.items() if op in READ_OPERATIONS)

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op in WRITE_OPERATIONS)

    @property
    def requests(self) -> int:
        return sum(self.calls.values())

    @property
    def retries(self) -> int:
        return sum(self.attempts.values()) - self.requests

    @property
    def items(self) -> int:
        return sum(self.items_written.values())

    def by_operation(self) -> str:
        return ", ".join(f"{op} {n}" for op, n in sorted(self.calls.items(), key=lambda kv: -kv[1])) or "none"


def _value_size(value: dict[str, Any]) -> int:
    """AWS's item size rules: strings and binaries by length, numbers ~1 byte per 2 significant digits + 1."""
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        digits = data.lstrip("-").replace(".", "").lstrip("0").split("E")[0].split("e")[0]
        return (len(digits.rstrip("0")) + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "NS", "BS"):
        return sum(_value_size({kind[0]: v}) for v in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in data.items())
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _units(size: int) -> int:
    return max(1, -(-size // 1024))


def _update_size(action: dict[str, Any]) -> int:
    names = action.get("ExpressionAttributeNames") or {}
    return (
        item_size(action.get("Key") or {})
        + sum(len(n.encode()) for n in names.values())
        + sum(_value_size(v) for v in (action.get("ExpressionAttributeValues") or {}).values())
    )


def _aws_write_units(operation: str, params: dict[str, Any]) -> float:
    if operation == "PutItem":
        return _units(item_size(params.get("Item") or {}))
    if operation == "UpdateItem":
        return _units(_update_size(params))
    if operation == "DeleteItem":
        return 1
    if operation == "BatchWriteItem":
        return sum(
            _units(item_size(r["PutRequest"]["Item"])) if "PutRequest" in r else 1
            for requests in (params.get("RequestItems") or {}).values()
            for r in requests
        )
    if operation == "TransactWriteItems":
        total = 0
        for action in params.get("TransactItems") or []:
            if "Put" in action:
                total += 2 * _units(item_size(action["Put"].get("Item") or {}))
            elif "Update" in action:
                total += 2 * _units(_update_size(action["Update"]))
            elif "Delete" in action:
                total += 2
        return total
    return 0


def _planned_writes(operation: str, params: dict[str, Any]) -> Counter:
    planned: Counter = Counter()
    if operation in ("PutItem", "UpdateItem", "DeleteItem"):
        planned[params.get("TableName", "?")] += 1
    elif operation == "BatchWriteItem":
        for table, requests in (params.get("RequestItems") or {}).items():
            planned[table] += len(requests)
    elif operation == "TransactWriteItems":
        for action in params.get("TransactItems") or []:
            for kind in ("Put", "Update", "Delete"):  # a ConditionCheck writes nothing
                if kind in action:
                    planned[action[kind].get("TableName", "?")] += 1
    return planned


def _capacities(consumed: Any) -> list[dict[str, Any]]:
    if not consumed:
        return []
    return list(consumed) if isinstance(consumed, list) else [consumed]


class DynamoCounters:
    """Attach to a boto3 DynamoDB client; `snapshot()` now, `snapshot() - before` later."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tally = Tally()

    def attach(self, client: Any) -> DynamoCounters:
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self._before, unique_id=f"bench-before-{id(self)}")
        events.register("response-received.dynamodb", self._attempt, unique_id=f"bench-attempt-{id(self)}")
        events.register("after-call.dynamodb", self._after, unique_id=f"bench-after-{id(self)}")
        return self

    def snapshot(self) -> Tally:
        with self._lock:
            return self._tally.copy()

    # -- hooks

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if model.name in CAPACITY_OPERATIONS:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        context[_CONTEXT_KEY] = _planned_writes(model.name, params)
        context[_UNITS_KEY] = _aws_write_units(model.name, params)

    def _attempt(self, event_name: str = "", **_: Any) -> None:
        name = event_name.rsplit(".", 1)[-1] or "?"  # response-received.dynamodb.<Operation>
        with self._lock:
            self._tally.attempts[name] += 1

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        operation = model.name
        failed = getattr(http_response, "status_code", 200) >= 300
        read = write = 0.0
        for capacity in _capacities(parsed.get("ConsumedCapacity")):
            units = float(capacity.get("CapacityUnits") or 0)
            if "ReadCapacityUnits" in capacity or "WriteCapacityUnits" in capacity:
                read += float(capacity.get("ReadCapacityUnits") or 0)
                write += float(capacity.get("WriteCapacityUnits") or 0)
            elif operation in READ_OPERATIONS:
                read += units
            else:
                write += units
        written: Counter = Counter()
        aws_units = 0.0 if failed else float(context.get(_UNITS_KEY) or 0)
        if not failed:
            written = Counter(context.get(_CONTEXT_KEY) or {})
            if operation == "BatchWriteItem":
                for table, requests in (parsed.get("UnprocessedItems") or {}).items():
                    written[table] -= len(requests)
        with self._lock:
            tally = self._tally
            tally.calls[operation] += 1
            if failed:
                code = (parsed.get("Error") or {}).get("Code", str(getattr(http_response, "status_code", "?")))
                tally.errors[f"{operation}:{code}"] += 1
            tally.read_units += read
            tally.write_units += write
            tally.aws_write_units += aws_units
            tally.items_written.update(+written)
