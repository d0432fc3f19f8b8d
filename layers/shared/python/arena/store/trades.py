"""The trades table: one dedupe record per (trade, event), written in the same transaction as the totals."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arena import clock
from arena.config import settings
from arena.store import dynamo
from arena.store.participants import ParticipantRecord, participant_update

# TransactWriteItems takes 100 actions; one is the participant's update.
MAX_TRADES_PER_TRANSACTION = 99


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
