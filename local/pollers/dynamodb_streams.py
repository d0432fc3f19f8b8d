"""The DynamoDB stream event source mapping: read shards in order (parents first), deliver batches, checkpoint,
retry a failed batch a bounded number of times."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from local.pollers.base import Handler, Poller, failed_item_ids
from local.pollers.filters import passes_filters

logger = logging.getLogger("local.pollers")


# Lambda's default for streams is "retry until the record expires"; locally a poisoned record must not
# block a stream forever, so an unset or -1 MaximumRetryAttempts is bounded to this.
LOCAL_MAX_RETRY_ATTEMPTS = 5


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
                self.stats["partial_failures"] += 1
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
            self.stats["skipped_batches"] += 1
            self._checkpoint(shard, len(batch))
        else:
            self._stop.wait(min(5.0, self.retry_backoff * 2 ** (self._attempts - 1)))
        return len(kept)

    def _checkpoint(self, shard: _Shard, count: int) -> None:
        del shard.buffer[:count]
        self._attempts = 0
