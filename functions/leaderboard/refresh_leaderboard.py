"""Participants stream -> leaderboard snapshots.

At-least-once, in order per participant: a redelivered batch changes nothing (versions). A batch that fails is
retried whole (ReportBatchItemFailures names its first record, so Lambda resumes from there), then sent to the
refresh DLQ after MaximumRetryAttempts.
"""

from typing import Any

from arena.observability import entry_point, logger, stream_batch_id
from arena.services import snapshots


@entry_point(correlation=stream_batch_id)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    try:
        generations = snapshots.refresh_from_stream(records)
    except Exception:
        logger.exception("leaderboard refresh failed; the batch will be retried")
        first = records[0]["dynamodb"]["SequenceNumber"] if records else ""
        return {"batchItemFailures": [{"itemIdentifier": first}] if first else []}
    logger.info("leaderboards refreshed", extra={"records": len(records), "generations": generations})
    return {"batchItemFailures": []}
