"""The leaderboard table: materialised snapshots, one partition per event.

Items (sort key `item`): HEAD, the current index (and its generation); IDX#<generation>, an immutable copy that
cursors page through; B#<bucket id>, an immutable sorted bucket of entries; U#<user>, where the user sits in the
current snapshot (written after the HEAD commit, read by "my rank"). Buckets and index copies are written before
the HEAD that names them, so a reader never follows HEAD to a missing bucket; superseded ones expire by TTL.
How buckets and the index are encoded is in `board_encoding`. A leaderboard request reads its event, the HEAD and
the participant's own items in one BatchGetItem across tables (`read_for_request`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.board import BoardEntry, BoardIndex, LoadBucket
from arena.domain.board_writer import Applied
from arena.models.events import Event
from arena.store import dynamo
from arena.store import events as event_store
from arena.store import participants as participant_store
from arena.store.board_encoding import decode_bucket, encode_bucket, pack_index, unpack_index

HEAD = "HEAD"


@dataclass(frozen=True)
class Snapshot:
    index: BoardIndex
    updated_at: datetime | None


EMPTY = Snapshot(BoardIndex(), None)


def _table() -> str:
    return settings().leaderboard_table


def head_key(event_id: str) -> dict[str, str]:
    return {"board": event_id, "item": HEAD}


def locator_key(event_id: str, user_id: str) -> dict[str, str]:
    return {"board": event_id, "item": f"U#{user_id}"}


def _bucket_key(event_id: str, bucket_id: str) -> dict[str, str]:
    return {"board": event_id, "item": f"B#{bucket_id}"}


def _index_key(event_id: str, generation: int) -> dict[str, str]:
    return {"board": event_id, "item": f"IDX#{generation:012d}"}


def snapshot_from_head(item: dict[str, Any] | None) -> Snapshot:
    if not item:
        return EMPTY
    return Snapshot(unpack_index(item["index"]), clock.from_iso(item["updated_at"]))


@dataclass(frozen=True)
class Locator:
    """Where the snapshot holds a user (key None: not on the board) and the version of the change that put it
    there. Kept after a removal as a tombstone, so an older change delivered late cannot bring the user back."""

    key: str | None
    version: int


def locator_from_item(item: dict[str, Any] | None) -> Locator | None:
    return _locator(item) if item else None


def _locator(item: dict[str, Any]) -> Locator:
    return Locator(item.get("key"), int(item.get("version", 0)))


def read_locators(event_id: str, user_ids: set[str]) -> dict[str, Locator]:
    items = dynamo.batch_get(_table(), [locator_key(event_id, u) for u in user_ids]) if user_ids else []
    return {item["item"][2:]: _locator(item) for item in items}


@dataclass(frozen=True)
class BoardReads:
    """What `read_for_request` found; a part not asked for, or not stored, is None (an asked-for head that is not
    stored yet is the EMPTY snapshot)."""

    event: Event | None = None
    snapshot: Snapshot | None = None
    participant: participant_store.ParticipantRecord | None = None
    locator: Locator | None = None


def read_for_request(event_id: str, *, event: bool, head: bool, user_id: str | None = None) -> BoardReads:
    """In ONE BatchGetItem across the events, leaderboard and participants tables: the event, the snapshot HEAD
    and, with a user, that participant and its locator (only the parts asked for)."""
    events_table, participants_table = settings().events_table, settings().participants_table
    requests: dict[str, list[dict[str, Any]]] = {}
    if event:
        requests.setdefault(events_table, []).append({"event_id": event_id})
    if user_id is not None:
        requests.setdefault(participants_table, []).append(participant_store.key(event_id, user_id))
        requests.setdefault(_table(), []).append(locator_key(event_id, user_id))
    if head:
        requests.setdefault(_table(), []).append(head_key(event_id))
    if not requests:
        return BoardReads()
    answer = dynamo.batch_get_tables(requests)
    events = answer.get(events_table, [])
    participants = answer.get(participants_table, [])
    ours = answer.get(_table(), [])
    heads = [i for i in ours if i["item"] == HEAD]
    locators = [i for i in ours if i["item"].startswith("U#")]
    return BoardReads(
        event=event_store.event_from_values(events[0]) if events else None,
        snapshot=snapshot_from_head(heads[0] if heads else None) if head else None,
        participant=participant_store.to_record(dynamo.to_item(participants[0])) if participants else None,
        locator=locator_from_item(locators[0] if locators else None),
    )


def events_with_new_head(records: list[Mapping[str, Any]]) -> list[str]:
    """This table's stream records (Lambda's format) -> the events whose HEAD changed, once each, in order."""
    seen: dict[str, None] = {}
    for record in records:
        keys = (record.get("dynamodb") or {}).get("Keys") or {}
        if keys.get("item", {}).get("S") == HEAD and "board" in keys:
            seen[keys["board"]["S"]] = None
    return list(seen)


def read_head(event_id: str) -> Snapshot:
    answer = dynamo.client().get_item(TableName=_table(), Key=dynamo.to_item(head_key(event_id)), ConsistentRead=True)
    return snapshot_from_head(dynamo.from_item(answer["Item"]) if "Item" in answer else None)


def read_index(event_id: str, generation: int) -> Snapshot | None:
    """An immutable past snapshot (for cursors); None once it has expired."""
    answer = dynamo.client().get_item(TableName=_table(), Key=dynamo.to_item(_index_key(event_id, generation)))
    return snapshot_from_head(dynamo.from_item(answer["Item"])) if "Item" in answer else None


def read_buckets(event_id: str, bucket_ids: set[str]) -> dict[str, list[BoardEntry]]:
    """Buckets by id, in one BatchGetItem per 100. Buckets never change once written, so an eventually
    consistent read (half the read units) is right; only one written a moment ago can be missed, and those few
    are read again strongly consistent."""
    if not bucket_ids:
        return {}

    def fetch(ids: set[str], consistent: bool) -> dict[str, list[BoardEntry]]:
        items = dynamo.batch_get(_table(), [_bucket_key(event_id, b) for b in ids], consistent=consistent)
        return {item["item"][2:]: decode_bucket(bytes(item["data"].value)) for item in items}

    found = fetch(bucket_ids, consistent=False)
    missing = bucket_ids - found.keys()
    if missing:
        found.update(fetch(missing, consistent=True))
    return found


def bucket_loader(event_id: str, loaded: dict[str, list[BoardEntry]]) -> LoadBucket:
    """A LoadBucket over buckets already read (`loaded`), reading any other one on demand into `loaded`."""

    def load(bucket_id: str) -> list[BoardEntry]:
        if bucket_id not in loaded:
            loaded.update(read_buckets(event_id, {bucket_id}))
        return loaded[bucket_id]

    return load


def commit(
    event_id: str,
    previous: BoardIndex,
    applied: Applied,
    now: datetime,
    retired_entries: dict[str, list[BoardEntry]] | None = None,
) -> bool:
    """Store a new generation: buckets and index copy first, then HEAD conditionally on the generation read.
    False when another writer committed first (nothing the readers follow was changed; retry from HEAD)."""
    expires = int((now + timedelta(seconds=settings().snapshot_retention_seconds)).timestamp())
    packed = pack_index(applied.index)
    dynamo.batch_write(
        _table(),
        [{**_bucket_key(event_id, b), "data": encode_bucket(e)} for b, e in applied.written.items()]
        + [
            {
                **_index_key(event_id, applied.index.generation),
                "index": packed,
                "updated_at": clock.to_iso(now),
                "expires_at": expires,
            }
        ],
    )
    head = {
        **head_key(event_id),
        "index": packed,
        "generation": applied.index.generation,
        "updated_at": clock.to_iso(now),
    }
    try:
        dynamo.client().put_item(
            TableName=_table(),
            Item=dynamo.to_item(head),
            ConditionExpression="attribute_not_exists(board) OR generation = :expected",
            ExpressionAttributeValues={":expected": {"N": str(previous.generation)}},
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return False
        raise
    _after_commit(event_id, applied, expires, retired_entries or {})
    return True


def _after_commit(event_id: str, applied: Applied, expires: int, retired_entries: dict[str, list[BoardEntry]]) -> None:
    """Locators for the users that moved (tombstones for the removed), and a TTL on the buckets no index names
    any more (re-put in batches of 25 with the entries the writer already holds; one UpdateItem each otherwise).
    Both are best effort: a missing locator makes "my rank" fall back to the participant's own key and leaves
    staleness to the board's own version check; an unexpired old bucket only costs storage."""
    locators = [
        {**locator_key(event_id, u), "key": p.key, "version": p.version, "generation": applied.index.generation}
        for u, p in applied.placements.items()
    ]
    expiring = [
        {**_bucket_key(event_id, b), "data": encode_bucket(retired_entries[b]), "expires_at": expires}
        for b in applied.retired
        if b in retired_entries
    ]
    dynamo.batch_write(_table(), locators + expiring)
    for bucket_id in (b for b in applied.retired if b not in retired_entries):
        dynamo.client().update_item(
            TableName=_table(),
            Key=dynamo.to_item(_bucket_key(event_id, bucket_id)),
            UpdateExpression="SET expires_at = :e",
            ExpressionAttributeValues={":e": {"N": str(expires)}},
        )
