"""Leaderboard table stream (HEAD items only, by the event source's filter) -> coalesced leaderboard pushes,
rank changes and participant milestones.

At least once, idempotent: each event's push claims its snapshot generation before posting, so a redelivered
batch posts nothing. Several HEAD changes of one event in a batch make one push (it reads the newest head).
Partial batch response: a failure names only its own records; the other events' pushes stand.
"""

from typing import Any

from arena.observability import entry_point, logger, stream_batch_id
from arena.services.realtime import leaderboard_push as realtime
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@entry_point(correlation=stream_batch_id)
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    pushed: dict[str, realtime.Report] = {}

    def record_handler(record: DynamoDBRecord) -> None:
        for event_id in realtime.event_ids_of_heads([record.raw_event]):
            if event_id not in pushed:  # one push per event per batch: it reads the newest head anyway
                pushed[event_id] = realtime.push_leaderboard(event_id)

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    logger.info(
        "leaderboard pushes",
        extra={
            "events": len(pushed),
            "messages": sum(r.messages for r in pushed.values()),
            "posts": sum(r.outcome.sent for r in pushed.values()),
            "gone": sum(len(r.outcome.gone) for r in pushed.values()),
        },
    )
    return response
