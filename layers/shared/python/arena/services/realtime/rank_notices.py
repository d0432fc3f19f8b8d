"""Rank moves and personal milestones as domain events, for notifications: the leaderboard push hands each new
snapshot generation here, which diffs the watched top of the board against the one diffed last (domain/rank_watch)
and publishes RanksChanged (and MilestoneReached `prize_zone` for participants entering the prize zone for the first
time in the event). Every participant in the window is covered, connected or not.

Idempotent per generation: the new window is recorded with a write conditional on the previous generation still
being the stored one, and only the invocation whose write succeeded publishes (a redelivered or concurrent push
publishes nothing). A publish that fails after the write is logged and counted, not retried: the next generation
diffs from the recorded window."""

from __future__ import annotations

import time
from typing import Any

from arena.adapters import domain_events
from arena.domain import board, rank_watch
from arena.domain import realtime as rt
from arena.domain.board import BoardIndex, LoadBucket
from arena.domain.rank_watch import Change, Move, Place, Window
from arena.domain.realtime import Milestone
from arena.domain.statuses import DomainEvent
from arena.models.events import Event
from arena.observability import count, logger
from arena.store import connections as store

# One RanksChanged's moves stay under EventBridge's 256 KB entry limit with room for the rest of the entry.
MAX_MOVES_BYTES = 200_000


def read_window(index: BoardIndex, load: LoadBucket, prize_places: int) -> Window:
    """The watched top of this generation: the first `watched_size` ranks, then more pages while the prize zone is
    not covered, up to rank_watch.MAX_WATCHED entries."""
    page_size = rank_watch.watched_size(prize_places)
    read: list[board.RankedEntry] = []
    while not rank_watch.window_done(
        len(read), sum(1 for r in read if r.prize_rank is not None), index.total, prize_places
    ):
        more = board.page(index, load, len(read), min(page_size, rank_watch.MAX_WATCHED - len(read)))
        if not more:
            break
        read += more
    places = [Place(r.entry.user_id, r.rank, r.prize_rank) for r in read]
    return rank_watch.window_of(index.generation, places, index.total, prize_places)


def ranks_changed_details(event_id: str, generation: int, previous: int | None, moves: list[Move]) -> list[dict]:
    """RanksChanged details for one generation: one, or several parts when the moves would not fit one event."""
    parts = rank_watch.chunks([m.to_wire() for m in moves], MAX_MOVES_BYTES)
    return [
        {
            "event_id": event_id,
            "generation": generation,
            "previous_generation": previous,
            "part": number,
            "parts": len(parts),
            "moves": part,
        }
        for number, part in enumerate(parts, start=1)
    ]


def publish_rank_moves(event: Event, index: BoardIndex, load: LoadBucket) -> int:
    """Diff this generation's watched top against the last one diffed, record it, then publish the meaningful moves
    (and first prize-zone entries as milestones). Returns how many moves were published. Idempotent (see above)."""
    previous = store.rank_window(event.id)
    if previous is not None and previous.generation >= index.generation:
        return 0  # this generation (or a newer one) was diffed already
    places = rt.prize_places(event.prizes)
    current = read_window(index, load, places)
    found = rank_watch.moves(previous or Window(0), current, places)
    now = time.time()
    if not store.claim_rank_window(event.id, current, previous.generation if previous else None, now):
        return 0  # another invocation recorded a window first: it publishes
    if not found:
        return 0
    generation = previous.generation if previous else None
    events: list[tuple[str, dict[str, Any]]] = [
        (DomainEvent.RANKS_CHANGED, d) for d in ranks_changed_details(event.id, index.generation, generation, found)
    ]
    for move in found:
        if Change.ENTERED_PRIZE_ZONE in move.changes and store.claim_personal_milestone(
            event.id, move.user_id, Milestone.PRIZE_ZONE.value, now
        ):
            detail = {
                "event_id": event.id,
                "user_id": move.user_id,
                "milestone": Milestone.PRIZE_ZONE.value,
                "prize_rank": move.prize_rank,
            }
            events.append((DomainEvent.MILESTONE_REACHED, detail))
    try:
        domain_events.publish_all(events)
    except Exception:
        count("DomainEventPublishFailed")
        logger.exception("could not publish rank moves", extra={"event_id": event.id, "generation": index.generation})
        return 0
    count("RankMovesPublished", len(found))
    return len(found)
