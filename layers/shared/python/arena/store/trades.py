"""The trades table: one dedupe record per (trade, event), written in the same transaction as the totals, and one
feed record per valid trade (event_id FEED_EVENT_ID), the analytics rollups' input through the table's stream."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arena import clock
from arena.config import settings
from arena.store import dynamo
from arena.store.participants import ParticipantRecord, participant_update

# TransactWriteItems takes 100 actions; one is the participant's update.
MAX_TRADES_PER_TRANSACTION = 99
# The sort key of a feed record: no event id (a ULID) can take it, and it sorts after them all.
FEED_EVENT_ID = "~feed"


def _table() -> str:
    return settings().trades_table


def trade_item(event_id: str, event_end: datetime, trade: dict[str, Any], ingested_at: datetime) -> dict[str, Any]:
    expires = event_end + timedelta(days=settings().trade_retention_days)
    return {
        **trade,
        "event_id": event_id,
        "ingested_at": clock.to_iso(ingested_at),
        "expires_at": int(expires.timestamp()),
    }


def record_trades(
    before: ParticipantRecord | None, after: ParticipantRecord, trades: list[dict[str, Any]]
) -> dynamo.TransactionOutcome | None:
    """Count `trades` for one participant, all or nothing.

    Each trade's put is conditional on the (trade, event) record not existing, and the participant's write on
    its version being the one read: a repeated trade or a concurrent writer cancels the whole transaction and
    nothing is half-written. The outcome says which action failed so the caller can drop duplicates or re-read.
    """
    if len(trades) > MAX_TRADES_PER_TRANSACTION:
        raise ValueError("too many trades for one transaction")
    actions: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": _table(),
                "Item": dynamo.to_item(trade),
                "ConditionExpression": "attribute_not_exists(trade_id)",
            }
        }
        for trade in trades
    ]
    actions.append(participant_update(before, after))
    return dynamo.transact_write(actions)


def feed_item(trade: dict[str, Any], executed_at: datetime) -> dict[str, Any]:
    """The feed record of one valid trade. Its content depends on the trade only (no ingest time), so writing it
    again leaves the item unchanged."""
    expires = executed_at + timedelta(days=settings().feed_record_retention_days)
    return {**trade, "event_id": FEED_EVENT_ID, "expires_at": int(expires.timestamp())}


def record_feed(items: list[dict[str, Any]]) -> None:
    """Write the feed records of a batch of unique valid trades (25 a request).

    Idempotent: a repeated trade writes the same item again. The rollups count only a record's INSERT (the first
    time its key exists), and DynamoDB writes no stream record for a put that changes nothing, so a trade the
    exchange sends twice is counted once in analytics. A plain put rather than a conditional one: BatchWriteItem
    takes 25 items a request, where conditional puts take one request each.
    """
    dynamo.batch_write(_table(), items)
