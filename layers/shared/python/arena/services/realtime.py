"""Real-time use cases: WebSocket connections and subscriptions, and the fan-out that pushes to them.

Delivery guarantees, end to end:
* The fan-out consumers (the leaderboard table's stream, the participants stream, the EventBridge bus) are
  at least once; each is idempotent behind a conditional write taken before it posts: a leaderboard push claims
  its snapshot generation, a rank change claims (user, event, generation), a participant change claims its item
  version, an event milestone its name, a domain event its EventBridge id. A redelivery finds its claim taken and
  posts nothing, so nothing reaches a client twice that it would count twice.
* Posting is at most once per claim: a crash between the claim and the post, or a failed post, loses that one
  message. Every message carries its topic's sequence number, taken in the claim, so the client sees the gap and
  refetches over HTTP. Leaderboard pushes also carry the snapshot generation (`version`) and are state, not
  events: applying one twice changes nothing.
* A 410 Gone deletes exactly the connection that answered it; any other failed post is counted and skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from arena import clock
from arena.adapters import connections as poster
from arena.adapters import tokens
from arena.auth import Principal, Role, principal_from_event
from arena.config import settings
from arena.domain import board
from arena.domain import realtime as rt
from arena.domain.board import BoardEntry, BoardIndex
from arena.domain.claims import PrizeRef
from arena.domain.realtime import Milestone, Row, Standing, Topic
from arena.domain.statuses import DomainEvent
from arena.errors import BadRequest, Unauthenticated
from arena.models.events import Event
from arena.observability import logger
from arena.services import events as event_service
from arena.store import connections as store
from arena.store import distribution as distribution_store
from arena.store import events as event_store
from arena.store import leaderboard as snapshot_store

_deserializer = TypeDeserializer()


def _ts() -> str:
    return clock.to_iso(clock.now())


@cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=settings().realtime_post_workers, thread_name_prefix="claim")


# ------------------------------------------------------------------------------------------------ connections


def connect(connection_id: str, query: Mapping[str, str] | None) -> Principal:
    """$connect: verify the token from the query string, then record the connection (TTL: two hours)."""
    claims = tokens.verify((query or {}).get("token", ""))
    principal = principal_from_event({"requestContext": {"authorizer": {"jwt": {"claims": claims}}}})
    store.put_connection(connection_id, principal.user_id, [r.value for r in principal.roles], time.time())
    return principal


def disconnect(connection_id: str) -> int:
    """$disconnect (best effort in AWS; 410s and the TTL clean up the rest). Idempotent."""
    return store.delete_connection(connection_id)


def _connection(connection_id: str) -> dict[str, Any]:
    connection = store.get_connection(connection_id)
    if connection is None:
        raise Unauthenticated("This connection is not known; reconnect.", code="connection_unknown")
    return connection


def subscribe(connection_id: str, topic_name: Any) -> dict[str, Any]:
    """Subscribe this connection to a topic it may read; answers the topic's current seq, so the client knows
    the first pushed message to expect is seq + 1 (and should read the current state over HTTP once)."""
    topic = Topic.parse(topic_name)
    connection = _connection(connection_id)
    rt.authorize_subscription(connection["user_id"], bool(connection.get("is_admin")), topic)
    if not store.add_subscription(connection_id, connection["user_id"], str(topic), time.time()):
        raise Unauthenticated("This connection is not known; reconnect.", code="connection_unknown")
    return {"type": "subscribed", "topic": str(topic), "seq": store.current_seq(str(topic)), "ts": _ts()}


def unsubscribe(connection_id: str, topic_name: Any) -> dict[str, Any]:
    topic = Topic.parse(topic_name)
    connection = _connection(connection_id)
    store.remove_subscription(connection_id, connection["user_id"], str(topic))
    return {"type": "unsubscribed", "topic": str(topic), "ts": _ts()}


ANNOUNCEMENT_MAX_CHARS = 500


def announce(connection_id: str, message: Mapping[str, Any]) -> dict[str, Any]:
    """An admin or the event's manager tells everyone on `event:<id>` something (`announcement`). Not
    idempotent by design: each request is a new announcement, as each HTTP POST would be."""
    event_id, text = message.get("event_id"), message.get("text")
    if not isinstance(event_id, str) or not event_id:
        raise BadRequest("event_id must be the event's id.", code="invalid_announcement")
    if not isinstance(text, str) or not text.strip() or len(text) > ANNOUNCEMENT_MAX_CHARS:
        raise BadRequest(f"text must be 1 to {ANNOUNCEMENT_MAX_CHARS} characters.", code="invalid_announcement")
    connection = _connection(connection_id)
    roles = frozenset(Role(r) for r in connection.get("roles") or () if r in Role._value2member_map_)
    principal = Principal(user_id=connection["user_id"], roles=roles)
    event = event_service.load(event_id)
    event_service.require_manager(principal, event)
    topic = rt.event_topic(event_id)
    report = publish(topic, "announcement", {"event_id": event_id, "text": text.strip(), "by": principal.user_id})
    return {"type": "announced", "topic": topic, "delivered": report.outcome.sent, "ts": _ts()}


def ping(connection_id: str) -> dict[str, Any]:
    """Keeps the connection inside API Gateway's 10-minute idle timeout; names the connection (for support)."""
    return {"type": "pong", "connection_id": connection_id, "ts": _ts()}


# ------------------------------------------------------------------------------------------------ posting


@dataclass
class Report:
    """What one fan-out call did (logged, returned to tests and the bench)."""

    messages: int = 0
    outcome: poster.Outcome = field(default_factory=poster.Outcome)

    def add(self, other: Report) -> None:
        self.messages += other.messages
        self.outcome.add(other.outcome)


def _deliver(posts: list[tuple[str, bytes]], messages: int) -> Report:
    outcome = poster.post_many(posts)
    for connection_id in outcome.gone:
        store.delete_connection(connection_id)  # exactly the connection that answered 410, no other
    return Report(messages, outcome)


def _broadcast(connection_ids: list[str], message: bytes) -> Report:
    """One message to many connections: posted here, or, past one shard and with the fan-out queue configured,
    split into shards that parallel sender invocations post (`send_shard`), so one push's posting time stays
    that of one shard however many subscribe."""
    size, queue = settings().realtime_shard_size, settings().fanout_queue_url
    if not queue or len(connection_ids) <= size:
        return _deliver([(c, message) for c in connection_ids], 1)
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
    return _deliver([(str(c), message.encode()) for c in connection_ids], 1)


def publish(topic: str, kind: str, data: Mapping[str, Any]) -> Report:
    """One message to every subscriber of a topic. Nobody listening: no seq taken, nothing sent."""
    connection_ids = store.subscribers(topic)
    if not connection_ids:
        return Report()
    message = rt.encode(rt.envelope(kind, topic, store.next_seq(topic), _ts(), data))
    return _broadcast(connection_ids, message)


# ------------------------------------------------------------------------------------------------ leaderboard


def _row(ranked: board.RankedEntry) -> Row:
    e = ranked.entry
    return Row(ranked.rank, e.user_id, e.score, e.trade_count, e.qualified, ranked.prize_rank)


def _loader(event_id: str, loaded: dict[str, list[BoardEntry]]) -> board.LoadBucket:
    def load(bucket_id: str) -> list[BoardEntry]:
        if bucket_id not in loaded:
            loaded.update(snapshot_store.read_buckets(event_id, {bucket_id}))
        return loaded[bucket_id]

    return load


def push_leaderboard(event_id: str, sleep: Callable[[float], None] = time.sleep) -> Report:
    """Push what changed in an event's top rows since the last push, at most one push per interval (a push
    asked for sooner waits, then reads the snapshot as it is by then: the changes in between coalesce into
    it); then tell connected participants whose rank moved; then announce participant-count milestones.
    Idempotent per snapshot generation."""
    topic = rt.leaderboard_topic(event_id)
    state = store.board_state(topic)
    delay = rt.push_delay(state.pushed_at, time.time(), settings().realtime_push_interval_seconds)
    if delay > 0:
        sleep(delay)
    _wait_for_senders(sleep)
    index = snapshot_store.read_head(event_id).index
    if index.generation <= state.generation:
        return Report()  # already pushed (a redelivery, or another invocation read a newer head first)
    loaded: dict[str, list[BoardEntry]] = {}
    load = _loader(event_id, loaded)
    rows = [_row(r) for r in board.page(index, load, 0, settings().realtime_top_n)] if index.buckets else []
    diff = rt.board_diff(state.rows, rows)
    subscribers = store.subscribers(topic) if not diff.empty else []
    seq = store.claim_board_push(topic, index.generation, rows, index.total, time.time(), take_seq=bool(subscribers))
    if seq is None:
        return Report()
    report = Report()
    if seq:
        data = rt.fit_diff(diff, event_id, index.generation, index.total)
        message = rt.encode(rt.envelope("leaderboard", topic, seq, _ts(), data))
        report.add(_broadcast(subscribers, message))
    event = event_store.get(event_id)
    if event is not None:
        report.add(_push_rank_changes(event, index, load, loaded))
        report.add(_participant_milestones(event, state.total, index.total))
    return report


SENDER_WAIT_SECONDS = 20.0


def _wait_for_senders(sleep: Callable[[float], None]) -> None:
    """Back-pressure: while earlier shards are still being posted, wait (up to SENDER_WAIT_SECONDS) instead of
    queueing more; the head is read after the wait, so the changes meanwhile coalesce into one push and the
    queue never holds more than about one push's shards."""
    deadline = time.monotonic() + SENDER_WAIT_SECONDS
    while poster.queued_shards() > 0 and time.monotonic() < deadline:
        sleep(0.2)


def _standings_now(event_id: str, index: BoardIndex, users: set[str], loaded: dict) -> dict[str, Standing]:
    """Where the current snapshot holds each user; users it has never placed, or whose locator belongs to a
    snapshot newer than `index` (their key is not in it), are left out: no rank is known for them here."""
    locators = snapshot_store.read_locators(event_id, users)
    if not index.buckets:
        return {u: Standing(None, None) for u, loc in locators.items() if loc.key is None}
    wanted = {index.buckets[board.locate(index, loc.key)].bucket_id for loc in locators.values() if loc.key}
    loaded.update(snapshot_store.read_buckets(event_id, wanted - loaded.keys()))
    load = _loader(event_id, loaded)
    found: dict[str, Standing] = {}
    for user_id, locator in locators.items():
        if locator.key is None:
            found[user_id] = Standing(None, None)  # removed (disqualified): a real move off the board
            continue
        standing = board.rank_of(index, load, locator.key)
        if standing is not None:
            found[user_id] = Standing(standing.rank, standing.prize_rank)
    return found


def _push_rank_changes(event: Event, index: BoardIndex, load: Any, loaded: dict) -> Report:
    channels = store.channel_users()
    if not channels:
        return Report()
    now = _standings_now(event.id, index, set(channels), loaded)
    told = {u: s for u, (s, _) in store.told_standings(event.id, now).items()}
    moves = rt.rank_moves(told, now, rt.prize_places(event.prizes))
    if not moves:
        return Report()

    def claim(move: rt.RankMove) -> list[tuple[str, bytes]]:
        topic = rt.user_topic(move.user_id)
        seq = store.claim_rank_message(move.user_id, event.id, move.after, index.generation)
        if seq is None:
            return []
        # The claim took one seq: it goes to the first message, the next message takes its own.
        messages = []
        if move.rank_moved:
            data = move.to_wire(event.id, index.generation)
            messages.append(rt.encode(rt.envelope("rank_changed", topic, seq, _ts(), data)))
        if move.entered_prize_zone and store.claim_milestone(event.id, f"prize_zone#{move.user_id}", time.time()):
            data = {"milestone": Milestone.PRIZE_ZONE.value, "event_id": event.id, "prize_rank": move.after.prize_rank}
            milestone_seq = store.next_seq(topic) if messages else seq
            messages.append(rt.encode(rt.envelope("milestone", topic, milestone_seq, _ts(), data)))
        return [(c, m) for m in messages for c in channels[move.user_id]]

    posts = [p for batch in _pool().map(claim, moves) for p in batch]
    return _deliver(posts, len({(p[0], p[1]) for p in posts}))


def _participant_milestones(event: Event, before: int, after: int) -> Report:
    report = Report()
    thresholds = [Decimal(t) for t in event.milestones.participants]
    for threshold in rt.crossed(Decimal(max(before, 0)), Decimal(after), thresholds):
        if store.claim_milestone(event.id, f"participants#{threshold}", time.time()):
            data = {"milestone": Milestone.EVENT_PARTICIPANTS.value, "event_id": event.id, "threshold": threshold}
            report.add(publish(rt.event_topic(event.id), "milestone", data))
    return report


# ------------------------------------------------------------------------------------------------ activity


def _image(record: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    image = (record.get("dynamodb") or {}).get(name)
    return {k: _deserializer.deserialize(v) for k, v in image.items()} if image else None


@dataclass
class ActivityBatch:
    """One participants-stream batch: its records grouped per participant, then what they added per event, for
    the pushes made once the batch is through."""

    records: int = 0
    applied: int = 0
    failures: int = 0
    oldest_change: float | None = None  # epoch seconds of the oldest change (the stream's lag)
    # (event, user) -> [(version, old image, new image, sequence number)] in stream order
    pending: dict[tuple[str, str], list[tuple[int, dict | None, dict, str]]] = field(default_factory=dict)
    volume: dict[str, Decimal] = field(default_factory=dict)
    trades: dict[str, list[rt.Activity]] = field(default_factory=dict)


def collect_participant_change(record: Mapping[str, Any], batch: ActivityBatch) -> None:
    """One participants-stream record, parsed and grouped with the others of its participant (no I/O)."""
    batch.records += 1
    stream = record.get("dynamodb") or {}
    created = stream.get("ApproximateCreationDateTime")
    if created is not None:
        created = float(created)
        batch.oldest_change = created if batch.oldest_change is None else min(batch.oldest_change, created)
    old, new = _image(record, "OldImage"), _image(record, "NewImage")
    if not new or "version" not in new:
        return  # a deletion, or not a participant state (moto streams bare keys for some writes)
    event_id = new.get("event_id") or str(new["shard"]).rsplit("#", 1)[0]
    change = (int(new["version"]), old, new, str(stream.get("SequenceNumber", "")))
    batch.pending.setdefault((event_id, str(new["user_id"])), []).append(change)


@dataclass
class _Applied:
    event_id: str
    fresh: int  # records applied for the first time
    activity: rt.Activity | None
    report: Report


def _apply_participant(event_id: str, user_id: str, changes: list[tuple[int, dict | None, dict, str]]) -> _Applied:
    """All of one participant's changes in a batch with one conditional write: the changes newer than the last
    version applied count once, together (first old image -> last new image); a redelivery counts nothing."""
    applied_before = store.advance_progress(event_id, user_id, max(c[0] for c in changes), time.time())
    fresh = [c for c in changes if applied_before is not None and c[0] > applied_before]
    if not fresh:
        return _Applied(event_id, 0, None, Report())
    old, new = fresh[0][1], fresh[-1][2]
    before = rt.Progress(int((old or {}).get("trade_count", 0)), bool((old or {}).get("qualified", False)))
    after = rt.Progress(int(new.get("trade_count", 0)), bool(new.get("qualified")), bool(new.get("disqualified")))
    report = Report()
    for milestone in rt.personal_milestones(old and before, after):
        report.add(publish(rt.user_topic(user_id), "milestone", {"milestone": milestone.value, "event_id": event_id}))
    return _Applied(event_id, len(fresh), rt.activity(old, new), report)


def apply_participant_changes(batch: ActivityBatch) -> tuple[Report, list[str]]:
    """Apply the batch's grouped changes, participants in parallel: personal milestones go out now, volume and
    trades are gathered for `flush_activity`. Returns the report and, for participants that failed, the
    sequence number of their first record (the batch item failures: Lambda resumes from the lowest one, and the
    version gate makes the changes already applied count nothing the second time)."""
    report, failed = Report(), []

    def run(item: tuple[tuple[str, str], list]) -> _Applied | str:
        (event_id, user_id), changes = item
        try:
            return _apply_participant(event_id, user_id, changes)
        except Exception:
            logger.exception("participant change failed", extra={"event_id": event_id, "user_id": user_id})
            return changes[0][3]

    for outcome in _pool().map(run, list(batch.pending.items())):
        if isinstance(outcome, str):
            failed.append(outcome)
            continue
        report.add(outcome.report)
        batch.applied += outcome.fresh
        if outcome.activity is not None:
            batch.volume[outcome.event_id] = batch.volume.get(outcome.event_id, Decimal(0)) + outcome.activity.volume
            batch.trades.setdefault(outcome.event_id, []).append(outcome.activity)
    batch.failures += len(failed)
    return report, failed


def flush_activity(batch: ActivityBatch) -> Report:
    """After a batch: each event's sampled, anonymised trades; event volume milestones; one admin monitoring
    message. At most once (a crash here loses these pushes; the volume total may then lag by this batch)."""
    report = Report()
    for event_id, changes in batch.trades.items():
        delta = batch.volume.get(event_id, Decimal(0))
        sampled = rt.sample(changes, settings().realtime_trade_sample)
        data = {
            "event_id": event_id,
            "trades": sum(c.trades for c in changes),
            "volume": delta,
            "sample": [c.to_wire() for c in sampled],
        }
        if sampled:
            report.add(publish(rt.trades_topic(event_id), "trades", data))
        event = event_store.get(event_id)
        thresholds = [Decimal(v) for v in event.milestones.volume] if event else []
        if thresholds and delta > 0:
            total = store.add_volume(event_id, delta)
            for threshold in rt.crossed(total - delta, total, thresholds):
                if store.claim_milestone(event_id, f"volume#{threshold}", time.time()):
                    milestone = {
                        "milestone": Milestone.EVENT_VOLUME.value,
                        "event_id": event_id,
                        "threshold": threshold,
                    }
                    report.add(publish(rt.event_topic(event_id), "milestone", milestone))
    lag = None if batch.oldest_change is None else max(0, int((time.time() - batch.oldest_change) * 1000))
    admin = {
        "source": "participants-stream",
        "records": batch.records,
        "applied": batch.applied,
        "failures": batch.failures,
        "trades": sum(c.trades for changes in batch.trades.values() for c in changes),
        "events": sorted(batch.trades),
        "lag_ms": lag,
    }
    report.add(publish(rt.ADMIN_TOPIC, "ingest", admin))
    return report


# ------------------------------------------------------------------------------------------------ domain events

STATUS_EVENTS = {
    DomainEvent.EVENT_STARTED,
    DomainEvent.EVENT_ENDED,
    DomainEvent.RESULTS_FROZEN,
    DomainEvent.EVENT_CANCELLED,
    DomainEvent.EVENT_EXTENDED,
}
PRIZE_EVENTS = {DomainEvent.PRIZES_DISTRIBUTED, DomainEvent.PRIZES_ROLLED_BACK}


def push_domain_event(envelope: Mapping[str, Any]) -> Report:
    """An EventBridge domain event -> the event's topic, the user's channel (their payouts) and the admin topic.
    EventBridge delivers at least once; the event's id is claimed first, so a repeat posts nothing."""
    name, detail = str(envelope.get("detail-type", "")), dict(envelope.get("detail") or {})
    delivery = str(envelope.get("id") or "")
    if not delivery or not store.claim_delivery(delivery, time.time()):
        return Report()
    event_id = detail.get("event_id")
    report = Report()
    data = {"name": name, **detail}
    if event_id and name in STATUS_EVENTS:
        report.add(publish(rt.event_topic(str(event_id)), "event_status", data))
    if event_id and name in PRIZE_EVENTS:
        report.add(publish(rt.event_topic(str(event_id)), "prizes", data))
    if name == DomainEvent.PAYOUT_REQUESTED and detail.get("user_id"):
        report.add(publish(rt.user_topic(str(detail["user_id"])), "prize", data))
    if name == DomainEvent.PRIZES_DISTRIBUTED and event_id:
        report.add(_tell_winners(str(event_id)))
    report.add(publish(rt.ADMIN_TOPIC, "domain_event", data))
    return report


def _tell_winners(event_id: str) -> Report:
    """Each connected user with a private channel open learns what the distribution gave them (and, for a prize
    to claim, its id and deadline). Bounded by connected users, not by winners: one read per listening user."""
    report = Report()
    for user_id in store.channel_users():
        prizes = [_prize_message(p) for p in distribution_store.user_prizes(event_id, user_id)]
        if prizes:
            data = {"name": "PrizesAwarded", "event_id": event_id, "prizes": prizes}
            report.add(publish(rt.user_topic(user_id), "prize", data))
    return report


def _prize_message(prize: Mapping[str, Any]) -> dict[str, Any]:
    message = {
        name: prize[name]
        for name in ("type", "token", "description", "amount", "status", "prize_rank", "claim_deadline")
        if prize.get(name) is not None
    }
    if "prize_rank" in message:
        message["prize_rank"] = int(message["prize_rank"])
    if prize.get("status") == "CLAIMABLE":
        ref = PrizeRef(str(prize["event_id"]), str(prize["user_id"]), int(prize["rule_index"]))
        message["prize_id"] = ref.prize_id
    return message


def event_ids_of_heads(records: list[Mapping[str, Any]]) -> list[str]:
    """Leaderboard-table stream records -> the events whose snapshot HEAD changed, once each, in order."""
    seen: dict[str, None] = {}
    for record in records:
        keys = (record.get("dynamodb") or {}).get("Keys") or {}
        if keys.get("item", {}).get("S") == snapshot_store.HEAD and "board" in keys:
            seen[keys["board"]["S"]] = None
    return list(seen)
