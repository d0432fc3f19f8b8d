"""InAppQueue -> the users' inboxes, each new item pushed live on `user:<id>`. Up to 100 notifications a message.

Idempotent: the items are deterministic and written once per message (a conditional batch mark after them); a
redelivered message stores and pushes nothing (arena/services/notifications/inbox.py). Partial batch response.
"""

from typing import Any

from arena.domain.notifications import from_wire
from arena.observability import entry_point, sqs_batch_id
from arena.services.notifications import inbox
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    inbox.dispatch(from_wire(record.body))


@entry_point(correlation=sqs_batch_id)
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
