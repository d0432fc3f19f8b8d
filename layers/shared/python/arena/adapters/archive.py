"""Kinesis Data Firehose: the trade archive (`ARCHIVE_STREAM`), which Firehose converts to Parquet and files in S3
under `trades/trade_date=.../event_id=.../` for Athena (the Glue table `trades`; domain/archive.py says the shape).

`put_trades` sends PutRecordBatch calls within Firehose's limits (500 records and 4 MiB a call, 1,000 KiB a record)
and sends again only the records a call reports failed (`FailedPutCount`, per-record `ErrorCode`), backing off
between tries; records that still fail raise `ArchiveDeliveryFailed`, so a stream consumer reports its batch failed
and the stream delivers it again. Delivery is therefore at least once: the archive may hold a trade twice, and the
queries that must count exactly take distinct trade ids (README, "The archive (Athena)").
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import boto3

from arena.config import settings
from arena.domain.archive import ArchivedTrade, record
from arena.factories import cached

MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1_000 * 1024
ATTEMPTS = 5
BASE_DELAY_SECONDS = 0.1


class ArchiveDeliveryFailed(RuntimeError):
    """Firehose kept refusing some records after every retry; the caller's batch must be delivered again."""


@cached
def client() -> Any:
    return boto3.client("firehose")


def encode(trade: ArchivedTrade) -> bytes:
    """One record: compact JSON and a newline, so objects of concatenated records read as JSON lines."""
    return (json.dumps(record(trade), separators=(",", ":"), sort_keys=True) + "\n").encode()


def chunks(records: Iterable[bytes]) -> Iterator[list[bytes]]:
    """Consecutive groups of records that each fit one PutRecordBatch call."""
    chunk: list[bytes] = []
    size = 0
    for data in records:
        if len(data) > MAX_RECORD_BYTES:
            raise ValueError(f"an archive record of {len(data)} bytes exceeds Firehose's {MAX_RECORD_BYTES}")
        if chunk and (len(chunk) == MAX_RECORDS_PER_CALL or size + len(data) > MAX_BYTES_PER_CALL):
            yield chunk
            chunk, size = [], 0
        chunk.append(data)
        size += len(data)
    if chunk:
        yield chunk


def put_trades(
    trades: Iterable[ArchivedTrade],
    *,
    stream: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Archive the trades; returns how many records Firehose accepted. Raises ArchiveDeliveryFailed when some were
    still refused after ATTEMPTS tries (those before them are delivered: a retried batch may archive them twice)."""
    name = stream or settings().archive_stream
    sent = 0
    for chunk in chunks(encode(trade) for trade in trades):
        _put_batch(name, chunk, sleep)
        sent += len(chunk)
    return sent


def _put_batch(stream: str, records: list[bytes], sleep: Callable[[float], None]) -> None:
    pending = records
    for attempt in range(ATTEMPTS):
        if attempt:
            sleep(BASE_DELAY_SECONDS * 2 ** (attempt - 1))
        answer = client().put_record_batch(DeliveryStreamName=stream, Records=[{"Data": data} for data in pending])
        if not answer.get("FailedPutCount"):
            return
        # RequestResponses has one entry per record, in order; a failed one carries ErrorCode.
        pending = [
            data for data, response in zip(pending, answer["RequestResponses"], strict=True) if "ErrorCode" in response
        ]
    raise ArchiveDeliveryFailed(f"Firehose {stream} refused {len(pending)} record(s) after {ATTEMPTS} attempts")
