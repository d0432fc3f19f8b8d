"""The SQS event source mapping: receive a batch, invoke, delete what succeeded."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from local.pollers.base import Handler, Poller, failed_item_ids
from local.pollers.filters import passes_filters

logger = logging.getLogger("local.pollers")


def _sqs_message_attributes(attributes: Mapping[str, Any]) -> dict[str, Any]:
    converted = {}
    for name, attribute in attributes.items():
        value: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": attribute["DataType"]}
        if "StringValue" in attribute:
            value["stringValue"] = attribute["StringValue"]
        if "BinaryValue" in attribute:
            value["binaryValue"] = base64.b64encode(attribute["BinaryValue"]).decode()
        converted[name] = value
    return converted


class SqsPoller(Poller):
    """The SQS event source mapping: receive, invoke, delete what succeeded."""

    def __init__(
        self,
        sqs_client: Any,
        queue_url: str,
        queue_arn: str,
        handler: Handler,
        *,
        batch_size: int = 10,
        report_batch_item_failures: bool = False,
        filters: Sequence[Mapping[str, Any]] | None = None,
        wait_seconds: int = 1,
        region: str = "us-east-1",
        name: str | None = None,
    ):
        super().__init__(handler, name or queue_arn.rsplit(":", 1)[-1])
        self.client = sqs_client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = max(1, int(batch_size))
        self.report_batch_item_failures = report_batch_item_failures
        self.filters = filters
        self.wait_seconds = wait_seconds
        self.region = region

    def _receive(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:
            response = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.batch_size - len(messages)),
                WaitTimeSeconds=self.wait_seconds if not messages else 0,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages") or []
            messages.extend(received)
            if len(received) < 10:  # the queue has no more for now; do not wait to fill a large batch
                break
        return messages

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": _sqs_message_attributes(message.get("MessageAttributes") or {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }

    def _delete(self, records: Iterable[Mapping[str, Any]]) -> None:
        entries = [{"Id": str(index), "ReceiptHandle": record["receiptHandle"]} for index, record in enumerate(records)]
        for start in range(0, len(entries), 10):
            response = self.client.delete_message_batch(QueueUrl=self.queue_url, Entries=entries[start : start + 10])
            for failure in response.get("Failed") or []:
                logger.warning("%s: could not delete a message: %s", self.name, failure.get("Message"))

    def poll_once(self) -> int:
        if self._stop.is_set():
            return 0
        records = [self._record(message) for message in self._receive()]
        if not records:
            return 0
        if self.filters is not None:
            kept = [record for record in records if passes_filters(self.filters, _filterable_sqs(record))]
            dropped = [record for record in records if record not in kept]
            self._delete(dropped)  # Lambda deletes messages that match no filter
            records = kept
            if not records:
                return 0

        succeeded, result = self._invoke({"Records": records})
        if not succeeded:
            return len(records)  # nothing deleted: every message becomes visible again
        if not self.report_batch_item_failures:
            self._delete(records)
            return len(records)
        failed = failed_item_ids(result, [record["messageId"] for record in records])
        if failed is None:
            logger.warning("%s: invalid batchItemFailures, the whole batch will be retried: %r", self.name, result)
            return len(records)
        if failed:
            self.stats["partial_failures"] += 1
        self._delete(record for record in records if record["messageId"] not in set(failed))
        return len(records)


def _filterable_sqs(record: Mapping[str, Any]) -> dict[str, Any]:
    # Filters see the body as JSON when it is JSON, else as the plain string.
    filterable = dict(record)
    with contextlib.suppress(TypeError, ValueError):
        filterable["body"] = json.loads(record["body"])
    return filterable
