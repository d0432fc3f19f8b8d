"""The trades table: one dedupe record per (trade, event), written in the same transaction as the totals, and one
feed record per valid trade (event_id FEED_EVENT_ID), the analytics rollups' input through the table's stream."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from arena import clock
from arena.config import settings
from arena.domain.rollups import TradeRow
from arena.store import dynamo, participant_stream
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


@dataclass(frozen=True)
class StreamTrade:
    """A trade item inserted into the table, read from its stream: a feed record (event_id None) or a trade's
    record for one event it counted for."""

    sequence: int  # the stream record's sequence number
    event_id: str | None
    row: TradeRow
    quantity: Decimal
    price: Decimal
    realized_pnl: Decimal | None
    counterparty_id: str | None


def inserted_trades(records: Iterable[Mapping[str, Any]]) -> list[StreamTrade]:
    """The trades a stream batch inserted, in stream order. Changes and removals (TTL) are not trades arriving, and
    equity updates' dedupe records (no market) are not trades."""
    found: list[StreamTrade] = []
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        values = participant_stream.image(record, "NewImage")
        if not values or "market" not in values or "volume" not in values:
            continue
        event_id = values["event_id"]
        found.append(
            StreamTrade(
                sequence=int(record["dynamodb"]["SequenceNumber"]),
                event_id=None if event_id == FEED_EVENT_ID else event_id,
                row=TradeRow(
                    trade_id=values["trade_id"],
                    user_id=values["user_id"],
                    market=values["market"],
                    side=values["side"],
                    volume=Decimal(values["volume"]),
                    fee=Decimal(values.get("fee") or 0),
                    executed_at=clock.from_iso(values["executed_at"]),
                ),
                quantity=Decimal(values["quantity"]),
                price=Decimal(values["price"]),
                realized_pnl=Decimal(values["realized_pnl"]) if values.get("realized_pnl") is not None else None,
                counterparty_id=values.get("counterparty_id"),
            )
        )
    return found
