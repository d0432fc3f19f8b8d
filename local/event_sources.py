"""The template's SQS and DynamoDB stream event sources, wired to their functions as pollers (local/pollers.py).

Each `SQS` or `DynamoDB` event of a function becomes a poller with the event's batch size, starting position,
filters, retry limit and ReportBatchItemFailures, as Lambda's event source mapping would run it; an SQS event with a
ScalingConfig gets up to its MaximumConcurrency pollers (at most ARENA_LOCAL_SQS_CONCURRENCY, default 4).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from local import template as tpl
from local.pollers import DynamoDBStreamPoller, Poller, SqsPoller, compile_filters
from local.protocols import StackHandle

if TYPE_CHECKING:
    from local.runtime import FunctionRegistry

logger = logging.getLogger("local.stack")  # the stack's own lines share one logger name


class EventSourcePollers:
    """The SQS and DynamoDB stream event sources of the template's functions, as pollers."""

    name = "event-source-pollers"
    event_types = frozenset({"SQS", "DynamoDB"})

    def __init__(self, max_sqs_concurrency: int | None = None) -> None:
        self.pollers: list[Poller] = []
        self.max_sqs_concurrency = max_sqs_concurrency or int(os.environ.get("ARENA_LOCAL_SQS_CONCURRENCY", "4"))

    def start(self, stack: StackHandle) -> None:
        queues_by_arn = {queue["arn"]: queue for queue in stack.queues.values()}
        known_streams = set(stack.stream_arns.values())
        for function, event_type, raw in tpl.iter_event_sources(stack.template, self.event_types):
            props = tpl.resolve(raw, stack.context)
            if props.get("Enabled") is False:
                continue
            handler = _invoker(stack.functions, function.logical_id)
            report = "ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or [])
            filters = compile_filters(props.get("FilterCriteria"))
            if event_type == "SQS":
                queue = queues_by_arn.get(props.get("Queue"))
                if queue is None:
                    logger.warning(
                        "%s: queue %s is not in the template; not polled", function.logical_id, props.get("Queue")
                    )
                    continue
                # Lambda runs up to ScalingConfig.MaximumConcurrency invocations of a queue's mapping at once;
                # locally that many pollers, capped (one process, a few cores), one when the template sets none.
                wanted = int((props.get("ScalingConfig") or {}).get("MaximumConcurrency") or 1)
                for copy in range(min(wanted, self.max_sqs_concurrency)):
                    poller: Poller = SqsPoller(
                        stack.client("sqs"),
                        queue["url"],
                        queue["arn"],
                        handler,
                        batch_size=props.get("BatchSize", 10),
                        report_batch_item_failures=report,
                        filters=filters,
                        region=stack.region,
                        name=f"{function.logical_id}<-{queue['name']}" + (f"#{copy}" if copy else ""),
                    )
                    poller.start()
                    self.pollers.append(poller)
                    logger.info("polling %s", poller.name)
                continue
            stream_arn = props.get("Stream")
            if stream_arn not in known_streams:
                logger.warning("%s: stream %s is not in the template; not polled", function.logical_id, stream_arn)
                continue
            poller = DynamoDBStreamPoller(
                stack.client("dynamodbstreams"),
                stream_arn,
                handler,
                batch_size=props.get("BatchSize", 100),
                starting_position=props.get("StartingPosition", "LATEST"),
                report_batch_item_failures=report,
                maximum_retry_attempts=props.get("MaximumRetryAttempts"),
                filters=filters,
                region=stack.region,
                name=f"{function.logical_id}<-{stream_arn.split('/')[1]}",
            )
            poller.start()
            self.pollers.append(poller)
            logger.info("polling %s", poller.name)

    def health(self) -> dict[str, Any]:
        """Each poller's counts (`Poller.stats`), for /local/health: a load or soak run checks no batch failed."""
        return {"event_sources": {poller.name: dict(poller.stats) for poller in self.pollers}}

    def request_stop(self) -> None:
        for poller in self.pollers:
            poller.request_stop()

    def stop(self) -> None:
        self.request_stop()  # all signalled first, so their long polls end together
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()


def _invoker(functions: FunctionRegistry, logical_id: str) -> Callable[[dict[str, Any]], Any]:
    def invoke(event: dict[str, Any]) -> Any:
        return functions.invoke(logical_id, event)

    return invoke
