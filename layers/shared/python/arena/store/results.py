"""The results table: an event's frozen final ranking, one item per ranked participant.

Key: event_id (HASH) and rank as a zero-padded 10-digit string (RANGE), so a query reads the results in rank
order and a re-freeze of the same snapshot overwrites the same keys (idempotent BatchWriteItem). Also here: the
participant states the freshness check compares with the snapshot (a query per participant shard).
"""

from __future__ import annotations

from typing import Any

from arena.config import settings
from arena.domain.lifecycle import ParticipantState
from arena.store import dynamo
from arena.store import participants as participant_store

RANK_DIGITS = 10


def _table() -> str:
    return settings().results_table


def rank_key(rank: int) -> str:
    return f"{rank:0{RANK_DIGITS}d}"


def write(event_id: str, results: list[dict[str, Any]]) -> None:
    """Put every result (each with an int `rank`); deterministic keys, so a repeat rewrites the same items."""
    dynamo.batch_write(_table(), [{**r, "event_id": event_id, "rank": rank_key(int(r["rank"]))} for r in results])


def read(event_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="event_id = :e",
        ExpressionAttributeValues={":e": {"S": event_id}},
        ConsistentRead=True,
    ):
        items.extend(dynamo.from_item(i) for i in page.get("Items", []))
    for item in items:
        item["rank"] = int(item["rank"])
    return items


def count(event_id: str) -> int:
    total = 0
    for page in dynamo.query_pages(
        TableName=_table(),
        KeyConditionExpression="event_id = :e",
        ExpressionAttributeValues={":e": {"S": event_id}},
        Select="COUNT",
    ):
        total += int(page.get("Count", 0))
    return total


def participant_states(event_id: str) -> list[ParticipantState]:
    """Every participant of the event (all shards, strongly consistent), as the freshness check needs it."""
    states: list[ParticipantState] = []
    for shard in range(participant_store.SHARDS):
        for page in dynamo.query_pages(
            TableName=settings().participants_table,
            KeyConditionExpression="#shard = :s",
            ExpressionAttributeNames={"#shard": "shard", "#v": "version", "#u": "user_id"},
            ExpressionAttributeValues={":s": {"S": f"{event_id}#{shard:02d}"}},
            ProjectionExpression="#u, #v, board_key, disqualified",
            ConsistentRead=True,
        ):
            for item in page.get("Items", []):
                v = dynamo.from_item(item)
                states.append(
                    ParticipantState(
                        user_id=v["user_id"],
                        on_board=bool(v.get("board_key")) and not v.get("disqualified"),
                        version=int(v.get("version", 0)),
                    )
                )
    return states
