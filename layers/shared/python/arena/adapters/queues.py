"""SQS for the notification pipeline: send many bodies to one queue with SendMessageBatch (10 entries and 256 KB a
call), sending again what SQS reports failed, and optionally in parallel calls (a big audience's plan is a few
thousand calls; each waits on the network)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config

from arena.factories import cached

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
ATTEMPTS = 5


@cached
def client() -> Any:
    return boto3.client("sqs", config=Config(retries={"max_attempts": 8, "mode": "adaptive"}, max_pool_connections=32))


@cached
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=16, thread_name_prefix="sqs-send")


def _batches(bodies: Sequence[str]) -> list[list[str]]:
    """Bodies grouped as SendMessageBatch takes them: at most 10 and 256 KB together (a bigger body is refused by
    SQS itself: the caller's limits keep messages far below it)."""
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for body in bodies:
        length = len(body.encode())
        if current and (len(current) == MAX_ENTRIES or size + length > MAX_BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(body)
        size += length
    if current:
        batches.append(current)
    return batches


def _send_batch(queue_url: str, bodies: list[str], delay_seconds: int) -> None:
    pending = {str(i): body for i, body in enumerate(bodies)}
    for attempt in range(ATTEMPTS):
        entries = [{"Id": key, "MessageBody": body, "DelaySeconds": delay_seconds} for key, body in pending.items()]
        answer = client().send_message_batch(QueueUrl=queue_url, Entries=entries)
        failed = answer.get("Failed") or []
        permanent = [f for f in failed if f.get("SenderFault")]
        if permanent:
            raise RuntimeError(f"SQS refused {len(permanent)} messages: {permanent[0]}")
        if not failed:
            return
        pending = {f["Id"]: pending[f["Id"]] for f in failed}
        time.sleep(0.05 * 2**attempt)
    raise RuntimeError(f"SQS kept failing {len(pending)} messages")


def send_all(queue_url: str, bodies: Sequence[str], *, delay_seconds: int = 0, parallel: bool = True) -> int:
    """Send every body to the queue (at least once: a call that fails after SQS kept some is sent again whole, and
    the consumers are idempotent). Raises when SQS refuses a message for good. Returns the number of calls."""
    batches = _batches(bodies)
    if parallel and len(batches) > 1:
        list(_pool().map(lambda batch: _send_batch(queue_url, batch, delay_seconds), batches))
    else:
        for batch in batches:
            _send_batch(queue_url, batch, delay_seconds)
    return len(batches)
