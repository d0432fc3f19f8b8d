"""Trades and participants streams -> analytics rollups and the trade archive (arena/services/rollups.py).

At-least-once, in order per shard. Idempotent per stream position: each rollup item remembers the last record of
each recent batch it holds, so a redelivered batch (the same first record, possibly more records behind it) counts
nothing twice. A batch that fails is retried from its first record (ReportBatchItemFailures names it; the mappings
do not bisect), then sent to the rollup DLQ after MaximumRetryAttempts.
"""

from typing import Any

from arena.observability import entry_point, logger, stream_batch_id
from arena.services import rollups


@entry_point(correlation=stream_batch_id)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    try:
        outcome = rollups.rollup_and_archive(records)
    except Exception:
        logger.exception("analytics rollup failed; the batch will be retried")
        first = records[0]["dynamodb"]["SequenceNumber"] if records else ""
        return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}
    logger.info(
        "analytics rolled up",
        extra={"records": outcome.records, "trades": outcome.trades, "joins": outcome.joins, "writes": outcome.writes},
    )
    return {"batchItemFailures": []}
