"""Posting to WebSocket connections: one message to a topic's subscribers, posted here or, past one shard, split
into shards that parallel sender invocations post; a 410 Gone deletes exactly the connection that answered it.
Every push of every use case goes through `publish` or `deliver`, so the seq, the envelope and the 410 rule are
in one place."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from arena import clock
from arena.adapters import connections as poster
from arena.config import settings
from arena.domain import realtime as rt
from arena.factories import cached
from arena.store import connections as store


def now_iso() -> str:
    """The `ts` of a message: now, ISO 8601."""
    return clock.to_iso(clock.now())


@cached
def pool() -> ThreadPoolExecutor:
    """Threads for the per-participant claims of one invocation (they wait on DynamoDB). Not the adapter's posting
    pool: a task here may itself post through that one, and one pool waiting on itself could run dry."""
    return ThreadPoolExecutor(max_workers=settings().realtime_post_workers, thread_name_prefix="claim")


@dataclass
class Report:
    """What one fan-out call did (logged, returned to tests and the bench)."""

    messages: int = 0
    outcome: poster.Outcome = field(default_factory=poster.Outcome)

    def add(self, other: Report) -> None:
        self.messages += other.messages
        self.outcome.add(other.outcome)


def deliver(posts: list[tuple[str, bytes]], messages: int) -> Report:
    outcome = poster.post_many(posts)
    for connection_id in outcome.gone:
        store.delete_connection(connection_id)  # exactly the connection that answered 410, no other
    return Report(messages, outcome)


def broadcast(connection_ids: list[str], message: bytes) -> Report:
    """One message to many connections: posted here, or, past one shard and with the fan-out queue configured,
    split into shards that parallel sender invocations post (`send_shard`), so one push's posting time stays
    that of one shard however many subscribe."""
    size, queue = settings().realtime_shard_size, settings().fanout_queue_url
    if not queue or len(connection_ids) <= size:
        return deliver([(c, message) for c in connection_ids], 1)
    text = message.decode()
    shards = [
        {"message": text, "connections": connection_ids[i : i + size]} for i in range(0, len(connection_ids), size)
    ]
    poster.enqueue_shards(shards)
    return Report(1, poster.Outcome(queued=len(connection_ids)))


def send_shard(shard: Mapping[str, Any]) -> Report:
    """The sender's side of a sharded broadcast. SQS delivers at least once, so a shard may be posted twice:
    the copies carry the same topic seq, which a client already uses to drop what it has seen."""
    connection_ids, message = shard.get("connections"), shard.get("message")
    if not isinstance(connection_ids, list) or not isinstance(message, str):
        raise ValueError("a fan-out shard needs a message and a list of connections")
    return deliver([(str(c), message.encode()) for c in connection_ids], 1)


def publish(topic: str, kind: str, data: Mapping[str, Any]) -> Report:
    """One message to every subscriber of a topic. Nobody listening: no seq taken, nothing sent."""
    connection_ids = store.subscribers(topic)
    if not connection_ids:
        return Report()
    message = rt.encode(rt.envelope(kind, topic, store.next_seq(topic), now_iso(), data))
    return broadcast(connection_ids, message)
