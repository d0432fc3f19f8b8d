"""The notification planner, two triggers in one function: domain events from ArenaEventBus (EventBridge rule) and
the PlanQueue's plan pages and audience walks (SQS, partial batch response).

Idempotent: notification ids come from the cause, each (notification, channel) delivery record is created once
(conditional write) and only a created one is queued; a finished page is marked and a redelivered one stops at the
mark (arena/services/notifications/planner.py).
"""

import json
from typing import Any

from arena.observability import entry_point, logger, sqs_batch_id
from arena.services.notifications import planner
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

# A plan message that fails is reported alone (SQS retries it, then the PlanDLQ), even when it is the only one.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def record_handler(record: SQSRecord) -> None:
    report = planner.plan_message(json.loads(record.body))
    logger.info("plan message", extra={"report": vars(report)})


@entry_point(correlation=lambda event: sqs_batch_id(event) if "Records" in event else event.get("id"))
def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    report = planner.plan_domain_event(event)
    logger.info("domain event planned", extra={"detail_type": event.get("detail-type"), "report": vars(report)})
    return vars(report)
