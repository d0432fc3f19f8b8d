"""EmailQueue, DiscordQueue, TelegramQueue, PushQueue -> the provider of each message's channel: email through SES
(HTML + text, List-Unsubscribe) to the user's verified address, Discord through the user's verified webhook,
Telegram through the bot to the user's verified chat, push through SNS to each of the user's devices. One handler,
four functions (one per queue, each with its own concurrency and alarms): the channel comes with the message.

Idempotent: the delivery record is claimed (still open, send lease taken) before the provider is called, so a
redelivered message calls no provider twice (arena/services/notifications/channels.py). A provider's 429 or a
transient failure makes the message visible again after its retry_after / a backoff and reports it as a batch item
failure (SQS brings it back; after maxReceiveCount its DLQ). Partial batch response.
"""

from typing import Any

from arena.observability import entry_point, sqs_batch_id
from arena.services.notifications import channels
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    channels.dispatch_record(record.raw_event)


@entry_point(correlation=sqs_batch_id)
def lambda_handler(event: dict[str, Any], context: Any) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
