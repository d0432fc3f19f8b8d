"""Keeping the leaderboard snapshots current from participant changes.

Delivery: DynamoDB Streams, at least once, in order per participant; a failed batch is retried whole. Applying a
change is idempotent: the snapshot keeps each participant's item version, and a change whose version is not newer
is ignored, so a redelivered batch writes nothing. Writers of one event serialise on the HEAD's generation.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from arena import clock
from arena.domain import board, board_writer
from arena.domain.board import BoardEntry, Change
from arena.observability import logger
from arena.store import leaderboard as snapshot_store
from arena.store import participant_stream

MAX_ATTEMPTS = 10


def entry_from(values: dict[str, Any]) -> BoardEntry | None:
    """A participant item's place on the board: none until its first counted trade, none while disqualified."""
    if values.get("disqualified") or not values.get("board_key"):
        return None
    return BoardEntry(
        key=values["board_key"],
        user_id=values["user_id"],
        score=Decimal(values.get("score", 0)),
        trade_count=int(values.get("trade_count", 0)),
        qualified=bool(values.get("qualified", False)),
        version=int(values.get("version", 0)),
    )


def change_from(old: dict[str, Any] | None, new: dict[str, Any] | None) -> Change:
    user_id = (new or old or {})["user_id"]
    version = int(new["version"]) if new and "version" in new else None
    return Change(
        user_id=user_id,
        old_key=(old or {}).get("board_key"),
        entry=entry_from(new) if new else None,
        version=version,
    )


def changes_by_event(records: Iterable[dict[str, Any]]) -> dict[str, list[Change]]:
    """Stream records (Lambda's DynamoDB event format) -> changes per event, in stream order."""
    grouped: dict[str, list[Change]] = {}
    for record in records:
        old, new = participant_stream.image(record, "OldImage"), participant_stream.image(record, "NewImage")
        if not (old or new):
            continue
        image = new or old or {}
        if "version" not in image:
            # Not a participant state (moto, for one, streams a bare key image for a transactional insert).
            continue
        event_id = participant_stream.event_id_of(image)
        grouped.setdefault(event_id, []).append(change_from(old, new))
    return grouped


def _not_older_than_locators(event_id: str, changes: list[Change]) -> list[Change]:
    """Drop changes older than what the snapshot already applied for their user, tombstones included: an older
    change delivered after a removal (a trade in flight when an admin disqualified) must not resurrect."""
    locators = snapshot_store.read_locators(event_id, {c.user_id for c in changes})
    return [
        c
        for c in changes
        if c.change_version is None or c.user_id not in locators or c.change_version > locators[c.user_id].version
    ]


def apply_changes(event_id: str, changes: list[Change]) -> int:
    """Apply changes to an event's snapshot; returns the generation now current. Idempotent."""
    changes = _not_older_than_locators(event_id, changes)
    for _ in range(MAX_ATTEMPTS):
        current = snapshot_store.read_head(event_id)
        index = current.index
        # Read every bucket the changes can touch in one go; apply() asks for the rest (neighbours) one by one.
        wanted: set[str] = set()
        if index.buckets:
            for change in changes:
                for key in (change.old_key, change.entry.key if change.entry else None):
                    if key is not None:
                        wanted.add(index.buckets[board.locate(index, key)].bucket_id)
        loaded = snapshot_store.read_buckets(event_id, wanted)
        load = snapshot_store.bucket_loader(event_id, loaded)

        # The salt keeps bucket ids unique even when two writers build the same generation at once.
        applied = board_writer.apply(index, load, changes, id_salt=secrets.token_hex(3) + "-")
        if applied.index is index:
            return index.generation
        if snapshot_store.commit(event_id, index, applied, clock.now(), retired_entries=loaded):
            return applied.index.generation
        logger.info("snapshot generation raced; retrying", extra={"event_id": event_id})
    raise RuntimeError(f"could not commit the snapshot of {event_id} after {MAX_ATTEMPTS} attempts")


def refresh_from_stream(records: list[dict[str, Any]]) -> dict[str, int]:
    """Apply a stream batch, event by event; returns the generation per event."""
    return {event_id: apply_changes(event_id, changes) for event_id, changes in changes_by_event(records).items()}
