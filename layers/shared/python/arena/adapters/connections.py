"""API Gateway's @connections management API: post a message to many WebSocket connections at once.

The endpoint is the WebSocket API stage's https URL (CONNECTIONS_ENDPOINT), the local stack's management port
locally, so the same boto3 client serves both. Posts run in parallel on a thread pool; a 410 Gone marks that one
connection gone (the caller deletes exactly it), and any other failure of one post is counted, logged and never
stops the rest. Delivery is at most once per call: a failed post is not retried here (the client's seq gap tells
it to refetch over HTTP). Each call counts its posts in the metrics ConnectionPostSent, ConnectionGone and
ConnectionPostFailed (`_count_posts`).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from arena.config import settings
from arena.factories import cached
from arena.observability import count, logger


@cached
def client() -> Any:
    workers = settings().realtime_post_workers
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=settings().connections_endpoint,
        # One retry at most: a slow connection must not hold the whole fan-out.
        config=Config(retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=workers),
    )


@cached
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings().realtime_post_workers, thread_name_prefix="post")


@dataclass
class Outcome:
    sent: int = 0
    gone: list[str] = field(default_factory=list)
    failed: int = 0
    queued: int = 0  # handed to sender invocations (a sharded broadcast)

    def add(self, other: Outcome) -> None:
        self.sent += other.sent
        self.gone += other.gone
        self.failed += other.failed
        self.queued += other.queued


def _post_one(connection_id: str, data: bytes) -> str:
    try:
        client().post_to_connection(ConnectionId=connection_id, Data=data)
        return "sent"
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code == "GoneException" or status == 410:
            return "gone"
        logger.warning("post to a connection failed", extra={"connection_id": connection_id, "code": code})
        return "failed"
    except Exception:  # a timeout, a reset: that connection only
        logger.exception("post to a connection failed", extra={"connection_id": connection_id})
        return "failed"


def _post_in_order(connection_id: str, messages: list[bytes]) -> list[str]:
    results = []
    for data in messages:
        result = _post_one(connection_id, data)
        results.append(result)
        if result == "gone":
            break  # the rest would be gone too
    return results


def post_many(posts: Iterable[tuple[str, bytes]]) -> Outcome:
    """Post each (connection id, data) pair; connections in parallel, one connection's messages in the order
    given (so one call never delivers a topic's seq out of order). Returns what was sent, gone (410), failed."""
    by_connection: dict[str, list[bytes]] = {}
    for connection_id, data in posts:
        by_connection.setdefault(connection_id, []).append(data)
    outcome = Outcome()
    if not by_connection:
        return outcome
    results = _pool().map(lambda item: (item[0], _post_in_order(*item)), by_connection.items())
    for connection_id, statuses in results:
        outcome.sent += statuses.count("sent")
        outcome.failed += statuses.count("failed")
        if "gone" in statuses:
            outcome.gone.append(connection_id)
    _count_posts(outcome)
    return outcome


def _count_posts(outcome: Outcome) -> None:
    """Metrics (namespace Arena): ConnectionPostSent; ConnectionGone, connections that answered 410 (deleted by
    the caller: clients that left without $disconnect); ConnectionPostFailed, posts that failed otherwise
    (throttling, timeouts, a broken endpoint: lost messages, the one to alarm on)."""
    if outcome.sent:
        count("ConnectionPostSent", outcome.sent)
    if outcome.gone:
        count("ConnectionGone", len(outcome.gone))
    if outcome.failed:
        count("ConnectionPostFailed", outcome.failed)


def post(connection_ids: Iterable[str], data: bytes) -> Outcome:
    """The same message to every connection."""
    return post_many((c, data) for c in connection_ids)


@cached
def _sqs() -> Any:
    return boto3.client("sqs")


def enqueue_shards(shards: list[dict[str, Any]]) -> None:
    """Queue broadcast shards ({"message": str, "connections": [ids]}) for the sender function, ten per call;
    raises if SQS refuses any (the caller's invocation fails and its stream batch is retried)."""
    import json

    queue_url = settings().fanout_queue_url
    for start in range(0, len(shards), 10):
        entries = [
            {"Id": str(i), "MessageBody": json.dumps(shard, separators=(",", ":"))}
            for i, shard in enumerate(shards[start : start + 10])
        ]
        answer = _sqs().send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"SQS refused {len(answer['Failed'])} fan-out shards: {answer['Failed'][0]}")


def queued_shards() -> int:
    """Shards still waiting or being posted (SQS's approximate counts; 0 without a fan-out queue)."""
    queue_url = settings().fanout_queue_url
    if not queue_url:
        return 0
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = _sqs().get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)
