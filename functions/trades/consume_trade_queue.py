"""SQS trade feed: each message body is {"trades": [...]}, the same shape as POST /api/trades.

At-least-once delivery is safe: counting is idempotent per (trade_id, event). A message whose body is not a
trade batch fails alone (partial batch response) and reaches the dead-letter queue after the redrive count;
invalid trades inside a valid batch are logged and dropped, since retrying cannot make them valid.
"""

import json

from arena.models.trades import TradeBatchIn
from arena.observability import entry_point, logger, sqs_batch_id
from arena.services import ingest as service
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

processor = BatchProcessor(event_type=EventType.SQS)


def record_handler(record: SQSRecord) -> None:
    batch = TradeBatchIn.model_validate(json.loads(record.body))
    result = service.ingest(batch.trades)
    if result.rejected:
        logger.warning(
            "trades rejected from queue message",
            extra={"message_id": record.message_id, "rejected": [r.model_dump() for r in result.rejected]},
        )


@entry_point(correlation=sqs_batch_id)
def lambda_handler(event: dict, context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
