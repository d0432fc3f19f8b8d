"""Event-source pollers: what Lambda's event source mappings do for SQS queues and DynamoDB streams.

Each poller runs in its own thread, builds the event Lambda would build, calls a handler and checkpoints the
way Lambda does, including partial batch responses (ReportBatchItemFailures). `poll_once()` does one round
synchronously, for tests that want no threads. A handler that raises is logged and retried as Lambda would,
never fatal to the thread.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

logger = logging.getLogger("local.pollers")

Handler = Callable[[dict[str, Any]], Any]

# Lambda's default for streams is "retry until the record expires"; locally a poisoned record must not
# block a stream forever, so an unset or -1 MaximumRetryAttempts is bounded to this.
LOCAL_MAX_RETRY_ATTEMPTS = 5


# ---------------------------------------------------------------------------------------------- filtering


def compile_filters(filter_criteria: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    """The patterns of a FilterCriteria ({"Filters": [{"Pattern": "<json>"}]}), or None for no filtering."""
    if not filter_criteria:
        return None
    patterns = []
    for entry in filter_criteria.get("Filters") or []:
        pattern = entry.get("Pattern")
        patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern or {}))
    return patterns or None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def _numeric_match(value: Any, conditions: Sequence[Any]) -> bool:
    if not _is_number(value):
        return False
    operators = {
        "=": lambda a, b: a == b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    for operator, bound in zip(conditions[::2], conditions[1::2], strict=True):
        if not operators[operator](Decimal(str(value)), Decimal(str(bound))):
            return False
    return True


def _value_matches(value: Any, rule: Any, present: bool) -> bool:
    """One element of a pattern's value list against one value of the record."""
    if not isinstance(rule, Mapping):
        return present and value == rule
    if "exists" in rule:
        return present == bool(rule["exists"])
    if not present:
        return False
    if "prefix" in rule:
        return isinstance(value, str) and value.startswith(rule["prefix"])
    if "suffix" in rule:
        return isinstance(value, str) and value.endswith(rule["suffix"])
    if "equals-ignore-case" in rule:
        return isinstance(value, str) and value.lower() == str(rule["equals-ignore-case"]).lower()
    if "numeric" in rule:
        return _numeric_match(value, rule["numeric"])
    if "anything-but" in rule:
        excluded = rule["anything-but"]
        if isinstance(excluded, Mapping):
            return not _value_matches(value, excluded, present)
        excluded = excluded if isinstance(excluded, list) else [excluded]
        return value not in excluded
    raise ValueError(f"unsupported filter rule: {rule}")


def matches_filter(pattern: Mapping[str, Any], record: Any) -> bool:
    """Lambda event filtering (EventBridge pattern syntax) of one record against one pattern."""
    for key, expected in pattern.items():
        present = isinstance(record, Mapping) and key in record
        value = record.get(key) if present else None
        if isinstance(expected, Mapping):
            if not present or not matches_filter(expected, value):
                return False
            continue
        values = value if isinstance(value, list) else [value]
        if not any(_value_matches(item, rule, present) for rule in expected for item in values):
            return False
    return True


def passes_filters(filters: Sequence[Mapping[str, Any]] | None, record: Mapping[str, Any]) -> bool:
    """A record is delivered when there are no filters or when any one of them matches."""
    return filters is None or any(matches_filter(pattern, record) for pattern in filters)


# ---------------------------------------------------------------------------------------------- results


def failed_item_ids(result: Any, batch_ids: Sequence[str]) -> list[str] | None:
    """The item identifiers of a partial batch response, or None when the response means "whole batch failed".

    Lambda treats a response naming an empty, null or unknown itemIdentifier as a failure of the whole batch.
    """
    if result is None or not isinstance(result, Mapping):
        return []
    failures = result.get("batchItemFailures")
    if failures is None:
        return []
    if not isinstance(failures, list):
        return None
    known = set(batch_ids)
    ids = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, Mapping) else None
        if not identifier or identifier not in known:
            return None
        ids.append(identifier)
    return ids


# ---------------------------------------------------------------------------------------------- base


class Poller(ABC):
    """A background loop around `poll_once()`; `stop()` ends it within about one poll."""

    idle_interval = 0.0

    def __init__(self, handler: Handler, name: str):
        self.handler = handler
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @abstractmethod
    def poll_once(self) -> int:
        """Deliver at most one batch; returns how many records it delivered."""

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the loop to end without waiting for it (stop() waits)."""
        self._stop.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("poller %s did not stop within %.0fs", self.name, timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                delivered = self.poll_once()
            except Exception:  # the source itself failed (e.g. the engine restarted): log, back off, go on
                if self._stop.is_set():
                    return  # the stack is stopping and its engines with it: nothing to report
                logger.exception("poller %s failed to poll", self.name)
                self._stop.wait(1.0)
                continue
            if not delivered and self.idle_interval:
                self._stop.wait(self.idle_interval)

    def _invoke(self, event: dict[str, Any]) -> tuple[bool, Any]:
        """(succeeded, result) of one invocation; an exception is logged with its traceback, like Lambda."""
        try:
            return True, self.handler(event)
        except Exception:
            if self._stop.is_set():  # cut off by the stack stopping; the batch is not checkpointed either way
                logger.debug("handler of %s raised while stopping", self.name, exc_info=True)
            else:
                logger.exception("handler of %s raised on a batch of %d", self.name, len(event.get("Records", [])))
            return False, None


# ---------------------------------------------------------------------------------------------- SQS


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
        self._delete(record for record in records if record["messageId"] not in set(failed))
        return len(records)


def _filterable_sqs(record: Mapping[str, Any]) -> dict[str, Any]:
    # Filters see the body as JSON when it is JSON, else as the plain string.
    filterable = dict(record)
    with contextlib.suppress(TypeError, ValueError):
        filterable["body"] = json.loads(record["body"])
    return filterable


# ---------------------------------------------------------------------------------------------- DynamoDB


def _lambda_attribute_value(value: Any) -> Any:
    """boto3 hands binary attribute values over as bytes; Lambda events carry them base64-encoded."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Mapping):
        return {key: _lambda_attribute_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_lambda_attribute_value(item) for item in value]
    return value


def _stream_record(record: Mapping[str, Any], stream_arn: str, region: str) -> dict[str, Any]:
    dynamodb = dict(record.get("dynamodb") or {})
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        # Lambda carries it as epoch seconds (a JSON number), not as an ISO string.
        dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
    for key in ("Keys", "NewImage", "OldImage"):
        if key in dynamodb:
            dynamodb[key] = _lambda_attribute_value(dynamodb[key])
    converted = {
        "eventID": record.get("eventID"),
        "eventName": record.get("eventName"),
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }
    if record.get("userIdentity"):  # TTL deletions say who removed the item
        converted["userIdentity"] = dict(record["userIdentity"])
    return converted


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    iterator_at: float = 0.0
    last_sequence: str | None = None
    closed: bool = False  # no more records will come (NextShardIterator was null)
    buffer: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.closed and not self.buffer


class DynamoDBStreamPoller(Poller):
    """The DynamoDB stream event source mapping: read shards in order, deliver batches, checkpoint.

    Checkpoints live in memory: records read but not yet checkpointed stay in a per-shard buffer, so a retry
    re-delivers them without re-reading the stream.
    """

    idle_interval = 0.25  # Lambda polls a stream shard about four times a second
    shard_refresh_interval = 10.0
    # Reuse an iterator that returned nothing for this long before taking the next one: moto keeps every
    # iterator it hands out forever, so following NextShardIterator on each idle poll grows its memory.
    idle_iterator_lifetime = 60.0

    def __init__(
        self,
        streams_client: Any,
        stream_arn: str,
        handler: Handler,
        *,
        batch_size: int = 100,
        starting_position: str = "LATEST",
        report_batch_item_failures: bool = False,
        maximum_retry_attempts: int | None = None,
        filters: Sequence[Mapping[str, Any]] | None = None,
        retry_backoff: float = 0.2,
        region: str | None = None,
        name: str | None = None,
    ):
        super().__init__(handler, name or stream_arn.split("/")[1] + "-stream")
        self.client = streams_client
        self.stream_arn = stream_arn
        self.batch_size = max(1, int(batch_size))
        self.starting_position = starting_position
        self.report_batch_item_failures = report_batch_item_failures
        if maximum_retry_attempts is None or int(maximum_retry_attempts) < 0:
            maximum_retry_attempts = LOCAL_MAX_RETRY_ATTEMPTS
        self.maximum_retry_attempts = int(maximum_retry_attempts)
        self.filters = filters
        self.retry_backoff = retry_backoff
        self.region = region or stream_arn.split(":")[3]
        self._shards: dict[str, _Shard] = {}
        self._discovered_at = 0.0
        self._attempts = 0  # failed deliveries of the batch now at the head of a buffer

    # -- shards

    def _refresh_shards(self) -> None:
        first_discovery = not self._discovered_at
        self._discovered_at = time.monotonic()
        shards, start = [], None
        while True:
            kwargs = {"StreamArn": self.stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            description = self.client.describe_stream(**kwargs)["StreamDescription"]
            shards.extend(description.get("Shards") or [])
            start = description.get("LastEvaluatedShardId")
            if not start:
                break
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in self._shards:
                continue
            state = _Shard(shard_id, shard.get("ParentShardId"))
            ended = "EndingSequenceNumber" in (shard.get("SequenceNumberRange") or {})
            if first_discovery and self.starting_position == "LATEST":
                if ended:
                    state.closed = True  # nothing after "now" can come from a closed shard
                else:
                    self._acquire(state, "LATEST")
            else:
                # TRIM_HORIZON, and any shard created after we started: read it from its beginning.
                self._acquire(state, "TRIM_HORIZON")
            self._shards[shard_id] = state

    def _acquire(self, shard: _Shard, iterator_type: str) -> None:
        kwargs = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id, "ShardIteratorType": iterator_type}
        if iterator_type == "AFTER_SEQUENCE_NUMBER":
            kwargs["SequenceNumber"] = shard.last_sequence
        shard.iterator = self.client.get_shard_iterator(**kwargs)["ShardIterator"]
        shard.iterator_at = time.monotonic()

    def _ready(self, shard: _Shard) -> bool:
        # Children wait until their parent is read to the end, to keep per-item order.
        parent = self._shards.get(shard.parent_id) if shard.parent_id else None
        return not shard.finished and (parent is None or parent.finished)

    def _fill(self, shard: _Shard) -> None:
        if shard.closed or len(shard.buffer) >= self.batch_size or shard.iterator is None:
            return
        try:
            response = self.client.get_records(ShardIterator=shard.iterator, Limit=min(1000, self.batch_size))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code")
            if code == "ExpiredIteratorException":
                self._acquire(shard, "AFTER_SEQUENCE_NUMBER" if shard.last_sequence else "TRIM_HORIZON")
                return
            if code == "TrimmedDataAccessException":
                # Before the first record nothing can have been lost (DynamoDB Local answers so for a new table's
                # LATEST iterator): not worth a console line.
                logger.log(
                    logging.INFO if shard.last_sequence is None else logging.WARNING,
                    "%s: records of shard %s were trimmed; reading from the horizon",
                    self.name,
                    shard.shard_id,
                )
                self._acquire(shard, "TRIM_HORIZON")
                return
            raise
        records = response.get("Records") or []
        next_iterator = response.get("NextShardIterator")
        if records:
            shard.buffer.extend(_stream_record(record, self.stream_arn, self.region) for record in records)
            shard.last_sequence = records[-1]["dynamodb"]["SequenceNumber"]
        if next_iterator is None:
            shard.closed = True
            shard.iterator = None
        elif records or time.monotonic() - shard.iterator_at > self.idle_iterator_lifetime:
            shard.iterator = next_iterator
            shard.iterator_at = time.monotonic()

    # -- delivery

    def poll_once(self) -> int:
        if self._stop.is_set():
            return 0
        if not self._discovered_at or time.monotonic() - self._discovered_at > self.shard_refresh_interval:
            self._refresh_shards()
        delivered = 0
        for shard in list(self._shards.values()):
            if self._stop.is_set() or not self._ready(shard):
                continue
            self._fill(shard)
            if shard.buffer:
                delivered += self._deliver(shard)
        return delivered

    def _deliver(self, shard: _Shard) -> int:
        batch = shard.buffer[: self.batch_size]
        if self.filters is not None:
            kept = [record for record in batch if passes_filters(self.filters, record)]
            if not kept:
                del shard.buffer[: len(batch)]  # filtered out records are checkpointed, never delivered
                return 0
        else:
            kept = batch

        succeeded, result = self._invoke({"Records": kept})
        if succeeded and not self.report_batch_item_failures:
            self._checkpoint(shard, len(batch))
            return len(kept)
        if succeeded:
            failed = failed_item_ids(result, [record["dynamodb"]["SequenceNumber"] for record in kept])
            if failed == []:
                self._checkpoint(shard, len(batch))
                return len(kept)
            if failed is not None:
                # Checkpoint just before the lowest failed record: it and everything after it come again.
                lowest = min(
                    index for index, record in enumerate(batch) if record["dynamodb"]["SequenceNumber"] in set(failed)
                )
                if lowest > 0:
                    self._checkpoint(shard, lowest)
                    return len(kept)
            else:
                logger.warning("%s: invalid batchItemFailures, the whole batch will be retried: %r", self.name, result)
        self._attempts += 1
        if self._attempts > self.maximum_retry_attempts:
            logger.error(
                "%s: batch of %d records starting at %s failed %d times; skipping it",
                self.name,
                len(batch),
                batch[0]["dynamodb"]["SequenceNumber"],
                self._attempts,
            )
            self._checkpoint(shard, len(batch))
        else:
            self._stop.wait(min(5.0, self.retry_backoff * 2 ** (self._attempts - 1)))
        return len(kept)

    def _checkpoint(self, shard: _Shard, count: int) -> None:
        del shard.buffer[:count]
        self._attempts = 0
