"""The one Logger, Tracer and Metrics every function shares, and `entry_point`, the one decorator that makes a
Lambda entry point out of a handler.

`entry_point(correlation=...)` wraps every function of template.yaml (HTTP routes through `arena.http`, WebSocket
routes through `arena.websocket`, the stream, queue, schedule and workflow handlers directly):

* metrics: everything the invocation added (`count`, `metrics.add_metric`) is flushed when it ends, returning or
  raising, as CloudWatch embedded metric format on stdout (namespace `Arena`, dimensions `service=arena` and `stage`).
  POWERTOOLS_METRICS_DISABLED=true (the local stack's and the tests' default) prints nothing and drops them.
* logs: the Lambda context on every line, and a `correlation_id` an operator can search for (below).
* traces: an X-Ray subsegment for the handler, annotated ColdStart and Service; every boto3 call inside it is a
  subsegment of its own (the Tracer patches botocore when this module is imported, before any client is made:
  every client comes from a cached factory called at run time). Responses are not recorded (pages of
  leaderboards and trade results are large and name users); exceptions are. POWERTOOLS_TRACE_DISABLED=true (the
  local stack and the tests) and any process outside Lambda trace nothing and need no X-Ray daemon.

Correlation ids, one kind per kind of trigger:

* HTTP API routes: the API Gateway request id (`correlation_paths.API_GATEWAY_HTTP`), which is also in the access
  log and the `apigw-requestid` response header.
* WebSocket routes: the API Gateway request id of the frame (`WEBSOCKET`, requestContext.requestId).
* SQS batches: `sqs_batch_id`, the messageId of the batch's first message (SQS keeps a message's id when it moves
  it to the dead-letter queue, and partial batch failures name messages by it).
* DynamoDB stream batches: `stream_batch_id`, "<first SequenceNumber>..<last SequenceNumber>", the range Lambda's
  on-failure destination reports as startSequenceNumber/endSequenceNumber (and batch item failures name records
  by their SequenceNumber).
* EventBridge rules and EventBridge Scheduler's default payload (the minute/hour safety nets): the event's `id`
  (`correlation_paths.EVENT_BRIDGE`).
* An event's one-shot lifecycle schedules: `lifecycle_schedule_name`, the schedule's name ("arena-<event>-start").
* Distribution workflow tasks: `workflow_execution_id`, the Step Functions execution ARN that
  statemachine/distribution.asl.json passes into every task's payload as `execution_id`.

When a trigger carries no such id (an empty batch, a hand-made test event), the Lambda request id stands in, so
every line carries one.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities import jmespath_utils

from arena.config import settings

logger = Logger(service="arena")
# Before any boto3 client exists (see the module docstring): patch_modules left at its default patches botocore.
tracer = Tracer(service="arena")
metrics = Metrics(namespace="Arena", service="arena")

# Every entry point flushes, and many invocations add no metric: that is not worth a warning on each of them.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

_metrics_lock = threading.Lock()  # services add metrics from their thread pools too


def count(name: str, value: int = 1) -> None:
    with _metrics_lock:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


# ------------------------------------------------------------------------------------------- correlation ids

Handler = TypeVar("Handler", bound=Callable[..., Any])
Correlation = str | Callable[[Any], Any]

HTTP = correlation_paths.API_GATEWAY_HTTP
WEBSOCKET = "requestContext.requestId"
EVENTBRIDGE = correlation_paths.EVENT_BRIDGE


def _records(event: Any) -> list[Any]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    return records if isinstance(records, list) else []


def sqs_batch_id(event: Any) -> str | None:
    """An SQS batch: its first message's messageId. That id stays with the message through retries and into the
    dead-letter queue, and partial batch failures name messages by it, so an operator holding a failed message
    (or a batch item failure) finds the batch's log lines, and the batch's other messages, from it."""
    records = _records(event)
    return records[0].get("messageId") if records and isinstance(records[0], Mapping) else None


def stream_batch_id(event: Any) -> str | None:
    """A DynamoDB stream batch: "<first SequenceNumber>..<last SequenceNumber>". Lambda's on-failure destination
    describes a batch it gave up on by exactly these two numbers (startSequenceNumber, endSequenceNumber), and batch
    item failures name records by their SequenceNumber, so either leads to the batch's log lines."""
    stream_records = [record.get("dynamodb") for record in _records(event) if isinstance(record, Mapping)]
    sequences = [r.get("SequenceNumber") for r in stream_records if isinstance(r, Mapping) and r.get("SequenceNumber")]
    return f"{sequences[0]}..{sequences[-1]}" if sequences else None


def lifecycle_schedule_name(event: Any) -> str | None:
    """An event's one-shot schedule ({"event_id", "transition"}): the schedule's name in EventBridge Scheduler."""
    if not isinstance(event, Mapping) or not event.get("event_id") or not event.get("transition"):
        return None
    from arena.adapters.schedules import schedule_name  # the adapter imports this module

    return schedule_name(str(event["event_id"]), event["transition"])


def workflow_execution_id(event: Any) -> str | None:
    """A distribution workflow task: the execution ARN its state machine passed in (`$$.Execution.Id`)."""
    return event.get("execution_id") if isinstance(event, Mapping) else None


def correlation_id(correlation: Correlation, event: Any, context: Any) -> str | None:
    """The id `correlation` (a JMESPath into the event, or a function of it) finds; else the Lambda request id."""
    try:
        if callable(correlation):
            found = correlation(event)
        else:
            found = jmespath_utils.query(envelope=correlation, data=dict(event)) if isinstance(event, Mapping) else None
    except Exception:  # a malformed trigger must still reach its handler (which answers it properly)
        found = None
    if found in (None, ""):
        found = getattr(context, "aws_request_id", None)
    return None if found in (None, "") else str(found)


# -------------------------------------------------------------------------------------------- entry points


def entry_point(correlation: Correlation) -> Callable[[Handler], Handler]:
    """Make `handler(event, context)` a Lambda entry point: metrics flushed, logs with the context and the
    correlation id, traced (see the module docstring). `correlation` is a JMESPath into the event or a function
    of the event: HTTP, WEBSOCKET, EVENTBRIDGE, sqs_batch_id, stream_batch_id, lifecycle_schedule_name,
    workflow_execution_id."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def correlated(event: Any, context: Any) -> Any:
            logger.set_correlation_id(correlation_id(correlation, event, context))
            # Stages may share an account: the stage is a dimension of every metric, and the alarms select it.
            metrics.set_default_dimensions(stage=settings().stage)
            return handler(event, context)

        traced = tracer.capture_lambda_handler(correlated, capture_response=False)
        flushed = metrics.log_metrics(logger.inject_lambda_context(traced), raise_on_empty_metrics=False)
        # Called without a Lambda context (a script, a test): no context keys to log, all the rest the same.
        flushed_without_context = metrics.log_metrics(traced, raise_on_empty_metrics=False)

        @functools.wraps(handler)
        def lambda_handler(event: Any, context: Any) -> Any:
            try:
                return (flushed if context is not None else flushed_without_context)(event, context)
            finally:
                if is_metrics_disabled():
                    metrics.clear_metrics()  # disabled means dropped, not kept until Powertools prints 100 of them

        return lambda_handler  # type: ignore[return-value]

    return decorate
