"""The template's EventBridgeRule event sources, delivered locally.

For each function with an `EventBridgeRule` event, a rule with the same pattern is put on the (moto) bus with an
SQS queue as its target (moto delivers rule matches to SQS, not to in-process Lambdas); a thread long-polls that
queue and invokes the function with the EventBridge event, as Lambda's asynchronous invoke would. A failed
invocation leaves the message to come back after its visibility timeout (EventBridge's retries), so delivery is
at least once, as in AWS.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from typing import TYPE_CHECKING, Any

from local import template as tpl

if TYPE_CHECKING:
    from local.protocols import StackHandle

logger = logging.getLogger("local.eventbridge")


class EventBridgeRules:
    name = "eventbridge-rules"
    event_types = frozenset({"EventBridgeRule"})

    def __init__(self, wait_seconds: int = 1) -> None:
        self.wait_seconds = wait_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self, stack: StackHandle) -> None:
        self._stop.clear()
        events, sqs = stack.client("events"), stack.client("sqs")
        for function, _event_type, raw in tpl.iter_event_sources(stack.template, self.event_types):
            props = tpl.resolve(raw, stack.context)
            if props.get("State") == "DISABLED" or props.get("Enabled") is False:
                continue
            bus = props.get("EventBusName") or "default"
            name = re.sub(r"[^\w-]", "-", f"local-{function.logical_id}")[:64]
            queue_url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props.get("Pattern") or {}))
            events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "local", "Arn": queue_arn}])
            thread = threading.Thread(
                target=self._poll, args=(stack, sqs, queue_url, function.logical_id), name=name, daemon=True
            )
            thread.start()
            self._threads.append(thread)
            logger.info("delivering EventBridge rule %s on bus %s to %s", name, bus, function.logical_id)

    def _poll(self, stack: StackHandle, sqs: Any, queue_url: str, function_id: str) -> None:
        while not self._stop.is_set():
            try:
                answer = sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=self.wait_seconds
                )
            except Exception:
                if self._stop.is_set():
                    return
                logger.warning("receiving from %s failed; retrying", queue_url)
                self._stop.wait(1)
                continue
            for message in answer.get("Messages", []):
                # Lambda's asynchronous invoke does not hand the event out again while the function still runs: the
                # message stays hidden for the longest invocation (15 minutes), and comes back soon after a failure.
                receipt = message["ReceiptHandle"]
                sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=900)
                try:
                    stack.invoke(function_id, json.loads(message["Body"]))
                except Exception:
                    logger.error("%s raised (delivery will be retried):\n%s", function_id, traceback.format_exc())
                    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=5)
                    continue
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=receipt)

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(self.wait_seconds + 5)
        self._threads.clear()
