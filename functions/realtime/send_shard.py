"""Fan-out queue -> @connections: posts one shard of a large broadcast (a message and up to
REALTIME_SHARD_SIZE connections). At least once: a redelivered shard posts again, with the same topic seq, which
clients drop; a 410 deletes that connection only. Partial batch response per shard.
"""

import json
from typing import Any

from arena.observability import entry_point, logger, sqs_batch_id
from arena.services.realtime import sending as realtime
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# A shard that fails is reported in the response (SQS retries it, then its DLQ), even when it is the only one.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    report = realtime.send_shard(json.loads(record.body))
    logger.info("shard posted", extra={"sent": report.outcome.sent, "gone": len(report.outcome.gone)})


@entry_point(correlation=sqs_batch_id)
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
