"""The leaderboard push: follows the snapshot HEAD on the leaderboard table's stream, sends the top rows that
changed (at most one push per interval per event) and, beside that broadcast, tells connected participants whose
rank moved, announces participant-count milestones and publishes the generation's meaningful rank moves on the bus
for notifications (services/realtime/rank_notices.py). Idempotent per snapshot generation."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from arena.adapters import connections as poster
from arena.config import settings
from arena.domain import board
from arena.domain import realtime as rt
from arena.domain.board import BoardEntry, BoardIndex
from arena.domain.realtime import Milestone, Row, Standing
from arena.factories import cached
from arena.models.events import Event
from arena.services import trader_names
from arena.services.realtime import rank_notices
from arena.services.realtime.sending import Report, broadcast, deliver, now_iso, pool, publish
from arena.store import connections as store
from arena.store import events as event_store
from arena.store import leaderboard as snapshot_store


def event_ids_of_heads(records: list[Mapping[str, Any]]) -> list[str]:
    """The events to push for a leaderboard-table stream batch: those whose snapshot HEAD changed, once each."""
    return snapshot_store.events_with_new_head(records)


def _rows(ranked: list[board.RankedEntry]) -> list[Row]:
    """The pushed rows, traders named in public (trader_names: HMACs computed here, profiles from a 30 s cache in
    the container, so a warm push reads nothing more; a cold one, one BatchGetItem for the top rows)."""
    names = trader_names.names_of(r.entry.user_id for r in ranked)
    rows = []
    for r in ranked:
        e, n = r.entry, names[r.entry.user_id]
        rows.append(
            Row(
                r.rank,
                e.user_id,
                e.score,
                e.trade_count,
                e.qualified,
                r.prize_rank,
                n.handle,
                n.name,
                n.colour,
                n.initials,
            )
        )
    return rows


def push_leaderboard(event_id: str, sleep: Callable[[float], None] = time.sleep) -> Report:
    """Push what changed in an event's top rows since the last push, at most one push per interval (a push
    asked for sooner waits, then reads the snapshot as it is by then: the changes in between coalesce into
    it); beside that broadcast, tell connected participants whose rank moved, announce participant-count
    milestones and publish the meaningful rank moves (RanksChanged) on the bus. Idempotent per snapshot
    generation."""
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
    load = snapshot_store.bucket_loader(event_id, loaded)
    rows = _rows(board.page(index, load, 0, settings().realtime_top_n)) if index.buckets else []
    diff = rt.board_diff(state.rows, rows)
    subscribers = store.subscribers(topic) if not diff.empty else []
    seq = store.claim_board_push(topic, index.generation, rows, index.total, time.time(), take_seq=bool(subscribers))
    if seq is None:
        return Report()
    # The rest of the push (personal rank messages, milestones, the bus) shares nothing with the broadcast but
    # the snapshot read above, and goes to other topics: it runs beside the broadcast instead of after it, so
    # the invocation (and the stream's next push) waits for the longer of the two, not for their sum.
    after = _side_pool().submit(_after_broadcast, event_id, index, load, loaded, state.total)
    report = Report()
    try:
        if seq:
            data = rt.fit_diff(diff, event_id, index.generation, index.total)
            message = rt.encode(rt.envelope("leaderboard", topic, seq, now_iso(), data))
            report.add(broadcast(subscribers, message))
    finally:
        report.add(after.result())  # its failure fails the invocation, as the broadcast's does
    return report


@cached
def _side_pool() -> ThreadPoolExecutor:
    """One thread per push in flight for the work beside its broadcast (not the claim or posting pools: that
    work uses them)."""
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="push-side")


def _after_broadcast(event_id: str, index: BoardIndex, load: Any, loaded: dict, total_before: int) -> Report:
    """Rank messages to connected participants whose rank moved, participant-count milestones, then the
    generation's rank moves on the bus. Each is gated by its own claim, so a redelivered push repeats none."""
    report = Report()
    event = event_store.get(event_id)
    if event is not None:
        report.add(_push_rank_changes(event, index, load, loaded))
        report.add(_participant_milestones(event, total_before, index.total))
        rank_notices.publish_rank_moves(event, index, load)
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
    load = snapshot_store.bucket_loader(event_id, loaded)
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
            messages.append(rt.encode(rt.envelope("rank_changed", topic, seq, now_iso(), data)))
        if move.entered_prize_zone and store.claim_milestone(event.id, f"prize_zone#{move.user_id}", time.time()):
            data = {"milestone": Milestone.PRIZE_ZONE.value, "event_id": event.id, "prize_rank": move.after.prize_rank}
            milestone_seq = store.next_seq(topic) if messages else seq
            messages.append(rt.encode(rt.envelope("milestone", topic, milestone_seq, now_iso(), data)))
        return [(c, m) for m in messages for c in channels[move.user_id]]

    posts = [p for batch in pool().map(claim, moves) for p in batch]
    return deliver(posts, len({(p[0], p[1]) for p in posts}))


def _participant_milestones(event: Event, before: int, after: int) -> Report:
    report = Report()
    thresholds = [Decimal(t) for t in event.milestones.participants]
    for threshold in rt.crossed(Decimal(max(before, 0)), Decimal(after), thresholds):
        if store.claim_milestone(event.id, f"participants#{threshold}", time.time()):
            data = {"milestone": Milestone.EVENT_PARTICIPANTS.value, "event_id": event.id, "threshold": threshold}
            report.add(publish(rt.event_topic(event.id), "milestone", data))
    return report
