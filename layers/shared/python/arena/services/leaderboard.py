"""Reading the leaderboard from its materialised snapshot: pages best first, and a participant's own standing.

Cost per call, whatever the number of participants: one BatchGetItem for the event, the snapshot head (both
cached in the Lambda for `leaderboard_cache_seconds`) and, for "me", the participant and its locator; then one
BatchGetItem for the buckets the answer needs (immutable, so cached until evicted). Ranks are computed once per
snapshot, never per request.

Traders are named by public handle and name (arena/services/trader_names.py: computed, profiles cached 30 s in the
container, so at most one more BatchGetItem per 100 names not cached); user ids only for the callers
`trader_names.sees_user_ids` admits. The caller's own row says `me`.
An answer therefore depends on who asks: it is `private` to HTTP caches, and its ETag covers the rows as served.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from arena import clock
from arena.auth import Principal
from arena.cache import LambdaCache, found
from arena.config import settings
from arena.domain import board
from arena.domain.board import BoardEntry, BoardIndex, RankedEntry
from arena.domain.ranking import Qualification, Totals, qualification_gap
from arena.errors import BadRequest, NotFound, NotModified
from arena.models.events import Event
from arena.models.leaderboard import LeaderboardEntry, LeaderboardPage, MyStanding
from arena.observability import count
from arena.services import trader_names
from arena.store import dynamo
from arena.store import leaderboard as snapshot_store
from arena.store.leaderboard import Snapshot

cache = LambdaCache(on_lookup=lambda hit: count("LeaderboardCacheHit" if hit else "LeaderboardCacheMiss"))


@dataclass(frozen=True)
class Cached:
    """A response and the headers that let clients and caches keep it (ETag, Cache-Control)."""

    body: Any
    headers: dict[str, str]


def _cache_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": f"private, max-age={math.ceil(settings().leaderboard_cache_seconds)}"}


def _entries(ranked: list[RankedEntry], viewer: Principal | None, event: Event) -> list[LeaderboardEntry]:
    """The rows as this viewer may see them: public names for all, user ids only for those who act on them."""
    names = trader_names.names_of(r.entry.user_id for r in ranked)
    with_ids = trader_names.sees_user_ids(viewer, event)
    me = viewer.user_id if viewer is not None else None
    out = []
    for r in ranked:
        e, name = r.entry, names[r.entry.user_id]
        out.append(
            LeaderboardEntry(
                rank=r.rank,
                prize_rank=r.prize_rank,
                handle=name.handle,
                name=name.name,
                colour=name.colour,
                initials=name.initials,
                me=e.user_id == me,
                user_id=e.user_id if with_ids else None,
                score=e.score,
                trade_count=e.trade_count,
                qualified=e.qualified,
            )
        )
    return out


def _etag(event_id: str, generation: int, offset: int, limit: int, entries: list[LeaderboardEntry]) -> str:
    """Names the snapshot page and the rows as served (names, `me`, user ids), so a name change or another
    viewer's answer never matches."""
    digest = hashlib.blake2b(digest_size=8)
    for e in entries:
        digest.update(f"{e.handle}\x00{e.name}\x00{e.colour}\x00{e.me}\x00{e.user_id}\x01".encode())
    return f'W/"{event_id}.{generation}.{offset}.{limit}.{digest.hexdigest()}"'


def _read_context(event_id: str, user_id: str | None = None) -> tuple[Event, Snapshot, snapshot_store.BoardReads]:
    """The event and the current snapshot head (cached briefly), plus, with a user, that participant and its
    locator, in one request."""
    ttl = settings().leaderboard_cache_seconds
    event, snapshot = cache.get(("event", event_id)), cache.get(("head", event_id))
    reads = snapshot_store.read_for_request(event_id, event=not found(event), head=not found(snapshot), user_id=user_id)
    if not found(event):
        if reads.event is None:
            raise NotFound(f"No event {event_id}.", code="event_not_found")
        event = reads.event
        cache.put(("event", event_id), event, ttl)
    if not found(snapshot):
        snapshot = reads.snapshot
        cache.put(("head", event_id), snapshot, ttl)
    return event, snapshot, reads


def _bucket_loader(event_id: str, wanted: set[str]) -> board.LoadBucket:
    """Fetch the wanted buckets not in the cache in one request; the loader reads from the cache afterwards."""
    missing = {b for b in wanted if not found(cache.get(("bucket", event_id, b)))}
    for bucket_id, entries in snapshot_store.read_buckets(event_id, missing).items():
        cache.put(("bucket", event_id, bucket_id), entries)

    def load(bucket_id: str) -> list[BoardEntry]:
        entries = cache.get(("bucket", event_id, bucket_id))
        if not found(entries):
            entries = snapshot_store.read_buckets(event_id, {bucket_id})[bucket_id]
            cache.put(("bucket", event_id, bucket_id), entries)
        return entries

    return load


def _buckets_covering(index: BoardIndex, offset: int, limit: int) -> set[str]:
    wanted, start = set(), 0
    for ref in index.buckets:
        end = start + ref.count
        if end > offset and start < offset + limit:
            wanted.add(ref.bucket_id)
        start = end
    return wanted


def _snapshot_for(event_id: str, generation: int, current: Snapshot) -> Snapshot:
    if generation == current.index.generation:
        return current
    snapshot = cache.get(("index", event_id, generation))
    if not found(snapshot):
        snapshot = snapshot_store.read_index(event_id, generation)
        if snapshot is None:
            raise BadRequest("The cursor has expired; start again from the first page.", code="cursor_expired")
        cache.put(("index", event_id, generation), snapshot)
    return snapshot


# A cursor's generation names a stored snapshot (IDX#<12 digits>) and its offset a position on a board; past these
# a forged cursor would address a key DynamoDB refuses rather than a page that does not exist.
MAX_GENERATION = 10**12 - 1
MAX_OFFSET = 10**9


def _cursor_position(state: dict[str, Any], event_id: str) -> tuple[int, int]:
    """(generation, offset) of a cursor of this event's board; BadRequest for any other cursor."""
    generation, offset = state.get("g"), state.get("o")
    if not (state.get("e") == event_id and isinstance(generation, int) and isinstance(offset, int)):
        raise BadRequest("The cursor belongs to another leaderboard.", code="invalid_cursor")
    if isinstance(generation, bool) or not (0 <= generation <= MAX_GENERATION and 0 <= offset <= MAX_OFFSET):
        raise BadRequest("The cursor belongs to another leaderboard.", code="invalid_cursor")
    return generation, offset


def leaderboard_page(
    event_id: str, limit: int, cursor: str | None, if_none_match: str | None = None, viewer: Principal | None = None
) -> Cached:
    """A page of one snapshot generation as `viewer` sees it: a cursor keeps paging the generation it started on,
    so no entry is lost or repeated across pages while scores change. Raises NotModified when `if_none_match`
    still matches."""
    state = dynamo.decode_cursor(cursor)
    event, snapshot, _ = _read_context(event_id)
    index, offset = snapshot.index, 0
    if state is not None:
        generation, offset = _cursor_position(state, event_id)
        snapshot = _snapshot_for(event_id, generation, snapshot)
        index = snapshot.index
    load = _bucket_loader(event_id, _buckets_covering(index, offset, limit))
    ranked = board.page(index, load, offset, limit) if index.buckets else []
    entries = _entries(ranked, viewer, event)
    etag = _etag(event_id, index.generation, offset, limit, entries)
    if if_none_match == etag:
        raise NotModified(_cache_headers(etag))
    more = offset + len(ranked) < index.total
    next_cursor = (
        dynamo.encode_cursor({"e": event_id, "g": index.generation, "o": offset + len(ranked)}) if more else None
    )
    page = LeaderboardPage(
        event_id=event_id,
        ranking_metric=event.ranking_metric,
        entries=entries,
        total=index.total,
        version=index.generation,
        next_cursor=next_cursor,
        updated_at=snapshot.updated_at,
    )
    return Cached(page, _cache_headers(etag))


def my_standing(principal: Principal, event_id: str, around: int) -> MyStanding:
    user_id = principal.user_id
    event, snapshot, reads = _read_context(event_id, user_id)
    record = reads.participant
    if record is None:
        raise NotFound("You are not a participant of this event.", code="not_participant")
    index = snapshot.index
    # Where the snapshot holds me: the locator, else my own latest key (the snapshot may already have it).
    locator = reads.locator
    keys = [k for k in (locator.key if locator else None, record.board_key) if k]
    standing = None
    if index.buckets and keys and not record.disqualified:
        # With neighbours asked for, the window may cross into the next bucket: fetch those in the same request.
        reach = 1 if around > 0 else 0
        positions = {p for k in keys for p in range(board.locate(index, k) - reach, board.locate(index, k) + reach + 1)}
        wanted = {index.buckets[p].bucket_id for p in positions if 0 <= p < len(index.buckets)}
        load = _bucket_loader(event_id, wanted)
        for key in keys:
            standing = board.around(index, load, key, around)
            if standing is not None:
                break
    gap = qualification_gap(
        Qualification(event.qualification.min_volume, event.qualification.min_trades),
        Totals(volume=record.totals.volume, trade_count=record.totals.trade_count),
    )
    above, me, below = standing if standing is not None else ([], None, [])
    # One read for every name of the answer (cold); the rows below then find theirs cached.
    mine = trader_names.names_of([user_id, *(r.entry.user_id for r in [*above, *below])])[user_id]
    return MyStanding(
        event_id=event_id,
        user_id=user_id,
        handle=mine.handle,
        name=mine.name,
        ranked=me is not None,
        rank=me.rank if me else None,
        prize_rank=me.prize_rank if me else None,
        score=record.score,
        trade_count=record.totals.trade_count,
        qualified=not gap,
        missing={name: Decimal(value) for name, value in gap.items()},
        disqualified=record.disqualified,
        disqualified_reason=record.disqualified_reason,
        above=_entries(above, principal, event),
        below=_entries(below, principal, event),
        updated_at=snapshot.updated_at or clock.now(),
    )
