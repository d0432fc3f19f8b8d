"""Event-source pollers: what Lambda's event source mappings do for SQS queues and DynamoDB streams.

Each poller runs in its own thread, builds the event Lambda would build, calls a handler and checkpoints the
way Lambda does, including partial batch responses (ReportBatchItemFailures). `poll_once()` does one round
synchronously, for tests that want no threads. A handler that raises is logged and retried as Lambda would,
never fatal to the thread. By role: `base` (the loop, the partial batch response), `filters` (FilterCriteria),
`sqs`, `dynamodb_streams`. Import from here.
"""

from local.pollers.base import Handler, Poller, failed_item_ids
from local.pollers.dynamodb_streams import LOCAL_MAX_RETRY_ATTEMPTS, DynamoDBStreamPoller
from local.pollers.filters import compile_filters, matches_filter, passes_filters
from local.pollers.sqs import SqsPoller

__all__ = [
    "LOCAL_MAX_RETRY_ATTEMPTS",
    "DynamoDBStreamPoller",
    "Handler",
    "Poller",
    "SqsPoller",
    "compile_filters",
    "failed_item_ids",
    "matches_filter",
    "passes_filters",
]
