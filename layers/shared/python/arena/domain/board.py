"""A leaderboard snapshot as a copy-on-write bucketed index, and how a reader ranks from it.

A snapshot ("generation") is an INDEX plus the BUCKETS it names. The index is a tuple of bucket refs, best
first; each bucket is a list of entries sorted best first (board key descending). Bucket i holds the keys k with
``buckets[i].low_key <= k < buckets[i-1].low_key``: the first bucket is unbounded above and the last bucket's
low_key is ``""``, so every key has exactly one home, found by a binary search over the low keys (``locate``).
Each ref carries its bucket's entry count and qualified count, so ranks are prefix sums over the index and a page
reads only the buckets that cover it: a read costs the same however many participants there are.

A bucket is immutable once written: a change writes a new version under a new id and the new index names it
(``board_writer.apply``), so a reader holding an index sees one consistent snapshot however long it pages.

Empty board: generation 0 and NO buckets (``BoardIndex()``). A non-empty board never has an empty bucket.

Readers look up a key that must be the one in THIS generation (``rank_of``/``around`` return None otherwise, e.g.
when the participant item is newer than the snapshot).

No I/O and no clock here: buckets are loaded through injected callables.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from itertools import accumulate, pairwise


class BoardConflict(ValueError):
    """Stored state contradicts itself (directory vs buckets, bucket vs its ref): refuse rather than corrupt."""


@dataclass(frozen=True)
class BoardEntry:
    """One participant on the board. ``key`` is ``ranking.board_key(...)``; descending key order is rank order."""

    key: str
    user_id: str
    score: Decimal
    trade_count: int
    qualified: bool  # meets the event's minimums: shown, but only qualified entries get a prize rank
    version: int  # the participant item's version; changes with a version <= the stored one are stale


@dataclass(frozen=True)
class BucketRef:
    """A bucket in an index: it holds keys k with low_key <= k < previous bucket's low_key."""

    bucket_id: str
    low_key: str
    count: int
    qualified: int


@dataclass(frozen=True)
class BoardIndex:
    """One generation of the board. Empty board: generation 0 and no buckets."""

    generation: int = 0
    buckets: tuple[BucketRef, ...] = ()

    def __post_init__(self) -> None:
        refs = self.buckets
        if not isinstance(refs, tuple):
            object.__setattr__(self, "buckets", refs := tuple(refs))
        if self.generation < 0:
            raise ValueError("generation must be >= 0")
        if not refs:
            return
        if refs[-1].low_key != "":
            raise ValueError("the last bucket's low_key must be ''")
        for upper, lower in pairwise(refs):
            if not upper.low_key > lower.low_key:
                raise ValueError("bucket low keys must be strictly descending")
        if len({r.bucket_id for r in refs}) != len(refs):
            raise ValueError("bucket ids must be unique within an index")
        for r in refs:
            if r.count < 0 or not 0 <= r.qualified <= r.count:
                raise ValueError(f"bad counts in bucket {r.bucket_id}")

    @cached_property
    def total(self) -> int:
        return sum(r.count for r in self.buckets)

    @cached_property
    def qualified_total(self) -> int:
        return sum(r.qualified for r in self.buckets)

    @cached_property
    def _low_keys(self) -> tuple[str, ...]:
        return tuple(r.low_key for r in self.buckets)

    @cached_property
    def _starts(self) -> tuple[int, ...]:
        """_starts[i]: entries in buckets before i (so bucket i holds ranks _starts[i]+1 ..)."""
        return tuple(accumulate((r.count for r in self.buckets), initial=0))[:-1] if self.buckets else ()

    @cached_property
    def _qualified_starts(self) -> tuple[int, ...]:
        return tuple(accumulate((r.qualified for r in self.buckets), initial=0))[:-1] if self.buckets else ()


@dataclass(frozen=True)
class Change:
    """A participant's new state, from a stream record.

    ``old_key``: where the entry was (OldImage's board key); only a hint (see ``board_writer``). ``entry`` None removes
    the participant from the board; give the participant's ``version`` with a removal so a redelivered removal is
    recognised as stale (a removal without a version is unconditional). With an entry, its version is used.
    """

    user_id: str
    old_key: str | None
    entry: BoardEntry | None
    version: int | None = None

    @property
    def change_version(self) -> int | None:
        return self.entry.version if self.entry is not None else self.version


@dataclass(frozen=True)
class RankedEntry:
    """An entry with its rank among all entries and its prize rank among qualified entries (None if unqualified)."""

    entry: BoardEntry
    rank: int
    prize_rank: int | None


LoadBucket = Callable[[str], Sequence[BoardEntry]]


def locate(index: BoardIndex, key: str) -> int:
    """Position of the bucket whose range holds ``key`` (binary search). The empty board has none: LookupError."""
    lows = index._low_keys
    if not lows:
        raise LookupError("the board is empty")
    lo, hi = 0, len(lows) - 1  # lows[-1] == "" <= any key
    while lo < hi:
        mid = (lo + hi) // 2
        if lows[mid] <= key:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _find(entries: Sequence[BoardEntry], key: str) -> int:
    """Position of ``key`` in a bucket (descending keys), or -1."""
    lo, hi = 0, len(entries)
    while lo < hi:
        mid = (lo + hi) // 2
        if entries[mid].key > key:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < len(entries) and entries[lo].key == key else -1


def _checked(index: BoardIndex, pos: int, entries: Sequence[BoardEntry]) -> Sequence[BoardEntry]:
    ref = index.buckets[pos]
    if len(entries) != ref.count:
        raise BoardConflict(f"bucket {ref.bucket_id} holds {len(entries)} entries, its ref says {ref.count}")
    return entries


def _walk(index: BoardIndex, load_bucket: LoadBucket, offset: int, limit: int) -> list[RankedEntry]:
    """Ranks offset+1 .. offset+limit (clipped to the board), reading only the buckets that hold them."""
    end = min(offset + limit, index.total)
    if offset >= end:
        return []
    starts, q_starts, refs = index._starts, index._qualified_starts, index.buckets
    pos = bisect_right(starts, offset) - 1
    out: list[RankedEntry] = []
    rank = offset
    while rank < end:
        ref = refs[pos]
        if ref.count == 0:
            pos += 1
            continue
        entries = _checked(index, pos, load_bucket(ref.bucket_id))
        j = rank - starts[pos]
        q = q_starts[pos] + sum(1 for e in entries[:j] if e.qualified)
        stop = min(len(entries), j + end - rank)
        for e in entries[j:stop]:
            rank += 1
            if e.qualified:
                q += 1
                out.append(RankedEntry(e, rank, q))
            else:
                out.append(RankedEntry(e, rank, None))
        pos += 1
    return out


def page(index: BoardIndex, load_bucket: LoadBucket, offset: int, limit: int) -> list[RankedEntry]:
    """Entries ranked offset+1 .. offset+limit, best first; reads only the buckets covering those ranks."""
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must be >= 0")
    return _walk(index, load_bucket, offset, limit)


def _ranked_at(index: BoardIndex, pos: int, entries: Sequence[BoardEntry], j: int) -> RankedEntry:
    e = entries[j]
    rank = index._starts[pos] + j + 1
    if not e.qualified:
        return RankedEntry(e, rank, None)
    return RankedEntry(e, rank, index._qualified_starts[pos] + sum(1 for x in entries[:j] if x.qualified) + 1)


def rank_of(index: BoardIndex, bucket_entries_for: LoadBucket, key: str) -> RankedEntry | None:
    """The standing of the entry with exactly this key, reading one bucket; None if the key is not on the board
    (nothing is read for an empty board)."""
    if not index.buckets:
        return None
    pos = locate(index, key)
    entries = _checked(index, pos, bucket_entries_for(index.buckets[pos].bucket_id))
    j = _find(entries, key)
    return _ranked_at(index, pos, entries, j) if j >= 0 else None


def around(
    index: BoardIndex, load_bucket: LoadBucket, key: str, n: int
) -> tuple[list[RankedEntry], RankedEntry, list[RankedEntry]] | None:
    """Up to n entries ranked just above (best first), the entry itself, and up to n just below; None if the key is
    not on the board. Reads the key's bucket, and its neighbour(s) only when the window crosses a bucket edge."""
    if n < 0:
        raise ValueError("n must be >= 0")
    if not index.buckets:
        return None
    pos = locate(index, key)
    bucket_id = index.buckets[pos].bucket_id
    entries = _checked(index, pos, load_bucket(bucket_id))
    j = _find(entries, key)
    if j < 0:
        return None
    me = _ranked_at(index, pos, entries, j)

    def cached(bid: str) -> Sequence[BoardEntry]:
        return entries if bid == bucket_id else load_bucket(bid)

    first = max(1, me.rank - n)
    above = _walk(index, cached, first - 1, me.rank - first)
    below = _walk(index, cached, me.rank, n)
    return above, me, below
