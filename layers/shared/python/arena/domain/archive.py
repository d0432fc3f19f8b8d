"""The trade archive's record: one JSON object per trade and partition, the shape the Glue table `trades` describes.

Firehose converts each record to Parquet through that table (its columns) and files it under its partition,
`trade_date=YYYY-MM-DD/event_id=<id>/`, taken from the record's own `trade_date` and `event_id` fields (dynamic
partitioning). Every valid trade the feed sends is archived once under the partition `event_id=feed` (the whole
market: retention, cohorts, weekly tops) and once more under each event it counted for (an event's own questions
read one partition). Delivery is at least once: a query that must count exactly takes DISTINCT trade ids.

Amounts are decimal strings (never floats), so Parquet's decimal(38,18) and DuckDB's DECIMAL read them exactly;
`executed_at` is UTC ISO-8601 with milliseconds and a Z, which Firehose's OpenX JSON deserialiser reads as a
timestamp.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from arena.domain import exact

# The partition of every valid trade the feed sends, whether or not it counted for an event.
FEED_PARTITION = "feed"

# The Glue table's columns in order (partition keys last), and their SQL types: the one place both the template's
# table and the local DuckDB view (local/athena.py) are checked against (tests/unit/test_archive_record.py).
COLUMNS: dict[str, str] = {
    "trade_id": "string",
    "user_id": "string",
    "market": "string",
    "side": "string",
    "quantity": "decimal(38,18)",
    "price": "decimal(38,18)",
    "volume": "decimal(38,18)",
    "fee": "decimal(38,18)",
    "realized_pnl": "decimal(38,18)",
    "executed_at": "timestamp",
}
PARTITION_KEYS: dict[str, str] = {"trade_date": "string", "event_id": "string"}


@dataclass(frozen=True)
class ArchivedTrade:
    """One trade in one partition: `event_id` None is the feed partition (every valid trade, once)."""

    trade_id: str
    user_id: str
    market: str
    side: Literal["buy", "sell"]
    quantity: Decimal
    price: Decimal
    executed_at: datetime
    event_id: str | None = None
    fee: Decimal | None = None
    realized_pnl: Decimal | None = None

    @property
    def volume(self) -> Decimal:
        return exact.product(self.quantity, self.price)

    @property
    def partition(self) -> str:
        return self.event_id or FEED_PARTITION


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(trade: ArchivedTrade) -> dict[str, str | None]:
    """The JSON object Firehose receives for one trade: the table's columns plus the two partition keys."""
    return {
        "trade_id": trade.trade_id,
        "user_id": trade.user_id,
        "market": trade.market,
        "side": trade.side,
        "quantity": exact.canonical(trade.quantity),
        "price": exact.canonical(trade.price),
        "volume": exact.canonical(trade.volume),
        "fee": exact.canonical(trade.fee) if trade.fee is not None else None,
        "realized_pnl": exact.canonical(trade.realized_pnl) if trade.realized_pnl is not None else None,
        "executed_at": _iso(trade.executed_at),
        "trade_date": trade.executed_at.astimezone(UTC).date().isoformat(),
        "event_id": trade.partition,
    }
