"""DynamoDB plumbing: the client, exact Decimal (de)serialisation, paging cursors and transaction outcomes."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.config import Config
from botocore.exceptions import ClientError

from arena.errors import BadRequest
from arena.factories import cached

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


@cached
def client() -> Any:
    # Endpoint and region come from the standard AWS variables (AWS_ENDPOINT_URL_DYNAMODB locally).
    return boto3.client(
        "dynamodb",
        config=Config(retries={"max_attempts": 8, "mode": "adaptive"}, max_pool_connections=32),
    )


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    """Plain dict (Decimal numbers) -> DynamoDB item. None values are dropped (absent, not NULL)."""
    return {k: _serializer.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def to_value(value: Any) -> dict[str, Any]:
    return _serializer.serialize(value)


# DynamoDB's limit for a sort key value (a partition key's is 2,048): no value a cursor carries may exceed it.
MAX_KEY_BYTES = 1024
NOT_OURS = "The cursor is not one this API issued."


def encode_cursor(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """Opaque cursor -> its state. A cursor we did not make is a 400, never a 500."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeError, RecursionError):
        raise BadRequest(NOT_OURS, code="invalid_cursor") from None
    if not isinstance(state, dict):
        raise BadRequest(NOT_OURS, code="invalid_cursor")
    return state


def _key_value(value: Any) -> str | None:
    """The string of a key attribute in wire form ({"S": "..."}), when it is one DynamoDB takes as a key."""
    if not (isinstance(value, dict) and set(value) == {"S"} and isinstance(value["S"], str) and value["S"]):
        return None
    try:
        return value["S"] if len(value["S"].encode("utf-8")) <= MAX_KEY_BYTES else None
    except UnicodeEncodeError:
        return None


def start_key(
    state: dict[str, Any] | None, attributes: frozenset[str], partition: Mapping[str, str]
) -> dict[str, Any] | None:
    """The ExclusiveStartKey a cursor carries, checked to be exactly a key of the index it pages and to lie in the
    partition being queried (`partition`: its key attributes and their values). A forged or foreign cursor is a
    400 `invalid_cursor`, never a DynamoDB error and never a page of another partition."""
    if not state or state.get("k") is None:
        return None
    key = state["k"]
    values = {name: _key_value(value) for name, value in key.items()} if isinstance(key, dict) else {}
    valid = (
        set(values) == attributes
        and None not in values.values()
        and all(values.get(name) == value for name, value in partition.items())
    )
    if not valid:
        raise BadRequest(NOT_OURS, code="invalid_cursor")
    return dict(key)


def is_conditional_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


@dataclass(frozen=True)
class TransactionOutcome:
    """Per-action result of a cancelled TransactWriteItems, in the order the actions were sent."""

    codes: list[str]

    def failed_conditions(self) -> list[int]:
        return [i for i, code in enumerate(self.codes) if code == "ConditionalCheckFailed"]

    @property
    def conflicted(self) -> bool:
        # Another transaction touched the same item at the same moment: retry as a whole.
        return any(code in ("TransactionConflict",) for code in self.codes)


def transact_write(actions: list[dict[str, Any]]) -> TransactionOutcome | None:
    """All or nothing. Returns None on success, the per-action outcome when DynamoDB cancelled it."""
    try:
        client().transact_write_items(TransactItems=actions)
        return None
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
            raise
        reasons = error.response.get("CancellationReasons") or []
        return TransactionOutcome([r.get("Code", "None") for r in reasons])


def query_pages(**kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of a query (each page stops at 1 MB)."""
    while True:
        page = client().query(**kwargs)
        yield page
        last = page.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def batch_get_tables(
    requests: dict[str, list[dict[str, Any]]], *, consistent: bool = True
) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem across tables (chunks of 100 keys), retrying what DynamoDB leaves unprocessed.
    Keys are plain dicts; found items come back as plain dicts per table, in no particular order.
    `consistent=False` halves the read units; use it only for items that never change once written."""
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in requests}
    pending = [
        (table, to_item(key))
        for table, keys in requests.items()
        for key in {json.dumps(k, sort_keys=True, default=str): k for k in keys}.values()
    ]
    while pending:
        chunk, pending = pending[:100], pending[100:]
        request: dict[str, Any] = {}
        for table, key in chunk:
            request.setdefault(table, {"Keys": [], "ConsistentRead": consistent})["Keys"].append(key)
        while request:
            answer = client().batch_get_item(RequestItems=request)
            for table, items in answer.get("Responses", {}).items():
                found[table].extend(from_item(item) for item in items)
            request = answer.get("UnprocessedKeys") or {}
    return found


def batch_get(table: str, keys: list[dict[str, Any]], *, consistent: bool = True) -> list[dict[str, Any]]:
    return batch_get_tables({table: keys}, consistent=consistent)[table] if keys else []


def batch_write(table: str, puts: list[dict[str, Any]], deletes: Sequence[dict[str, Any]] = ()) -> None:
    """BatchWriteItem in chunks of 25, retrying unprocessed items. Plain dicts in."""
    requests = [{"PutRequest": {"Item": to_item(item)}} for item in puts]
    requests += [{"DeleteRequest": {"Key": to_item(key)}} for key in deletes]
    while requests:
        chunk, requests = requests[:25], requests[25:]
        pending: dict[str, Any] = {table: chunk}
        while pending:
            answer = client().batch_write_item(RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}


@dataclass
class SetClause:
    """An UpdateExpression `SET a = :a, ...` with its attribute names and values, to extend with more clauses."""

    assignments: list[str]
    names: dict[str, str]
    values: dict[str, Any]
    removals: list[str]

    @classmethod
    def of(cls, fields: dict[str, Any], prefix: str = "f") -> SetClause:
        present = {k: v for k, v in fields.items() if v is not None}
        names = {f"#{prefix}{i}": name for i, name in enumerate(present)}
        values = {f":{prefix}{i}": to_value(v) for i, v in enumerate(present.values())}
        assignments = [f"#{prefix}{i} = :{prefix}{i}" for i in range(len(present))]
        removed = [name for name, v in fields.items() if v is None]
        names.update({f"#{prefix}r{i}": name for i, name in enumerate(removed)})
        return cls(assignments, names, values, [f"#{prefix}r{i}" for i in range(len(removed))])

    def expression(self) -> str:
        parts = [f"SET {', '.join(self.assignments)}"] if self.assignments else []
        if self.removals:
            parts.append(f"REMOVE {', '.join(self.removals)}")
        return " ".join(parts)
