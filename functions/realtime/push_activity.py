"""Participants stream -> personal milestones (first trade, qualification), sampled anonymised trade activity,
event volume milestones and the admin topic's ingest figures (rate, failures, lag).

At least once, idempotent: a participant's changes pass its version gate once (one conditional write per
participant per batch), so a redelivered record posts nothing. Partial batch response: a record that cannot be
parsed, or the first record of a participant whose changes failed; the per-batch pushes (activity, volume,
admin) are at most once.
"""

from typing import Any

from arena.observability import entry_point, logger, stream_batch_id
from arena.services.realtime import activity_push as realtime
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@entry_point(correlation=stream_batch_id)
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    batch = realtime.ActivityBatch()

    def record_handler(record: DynamoDBRecord) -> None:
        realtime.collect_participant_change(record.raw_event, batch)  # parse and group; no I/O

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    # One conditional write per participant, not per change: a batch often holds many changes of one trader.
    report, failed = realtime.apply_participant_changes(batch)
    failures = response.setdefault("batchItemFailures", [])
    failures += [{"itemIdentifier": sequence} for sequence in failed if sequence]
    batch.failures = len(failures)
    try:
        report.add(realtime.flush_activity(batch))
    except Exception:
        # The changes are applied; losing a sampled activity push must not replay them.
        logger.exception("activity push failed")
    logger.info("activity pushes", extra={"records": batch.records, "messages": report.messages})
    return response
