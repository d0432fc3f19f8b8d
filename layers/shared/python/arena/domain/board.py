"""A leaderboard snapshot as a copy-on-write bucketed index.

Shape
-----
A snapshot ("generation") is an INDEX plus the BUCKETS it names. The index is a tuple of bucket refs, best
first; each bucket is a list of entries sorted best first (board key descending). Bucket i holds the keys k with
``buckets[i].low_key <= k < buckets[i-1].low_key``: the first bucket is unbounded above and the last bucket's
low_key is ``""``, so every key has exactly one home, found by a binary search over the low keys (``locate``).
Each ref carries its bucket's entry count and qualified count, so ranks are prefix sums over the index and a page
reads only the buckets that cover it.

A bucket is immutable once written: a change writes a new version under a new id (``"{generation}.{n}"``) and the
new index names it, so a reader holding an index sees one consistent snapshot however long it pages, and the
refresher writes only the buckets that changed plus the index.

Empty board: generation 0 and NO buckets (``BoardIndex()``). A non-empty board never has an empty bucket.

Finding a participant's current entry (the writer's problem)
------------------------------------------------------------
A change must remove the participant's previous entry, wherever it is; missing it duplicates the participant.

* Directory mode (``apply(..., placements=...)``, the robust one): the caller passes, for EVERY user in the batch,
  its ``Placement`` (key on the board or None, and the version of the last change applied, tombstones included)
  exactly as of the generation it passes in, and stores ``Applied.placements`` for the new generation. ``old_key``
  is ignored, so stale, missing or wrong OldImages cannot corrupt the board, and a removal's tombstone stops a
  redelivered older change from resurrecting the participant. Cost: the directory key's bucket (usually also the
  target bucket) — no extra reads. A record that contradicts the board raises ``BoardConflict``.
  The directory is writer-only state (one small item per participant, read in bulk per batch), deliberately NOT in
  the index that every reader loads: at 1,000,000 participants a user->key map is ~50 MB (an item holds 400 KB),
  while the index is ~120 KB. Keeping it exact across crashes: store ``Applied.placements`` as a journal item
  named by the new index (written with the buckets, before the index commit); after the commit, write the journal
  into the directory with conditional writes (record generation < new generation). A writer first brings the
  directory up to the generation it read by replaying that generation's journal. A directory write lost to a
  crash is otherwise NOT repairable from the stream: a retried batch may be re-cut (bisect-on-error retries a
  prefix) and then carries none of the keys the board now holds.
* Hint mode (no ``placements``): the entry is looked up in the buckets of the batch's old keys (first change's
  first), then of its new keys (latest first); not found means "not on the board". Exact only if, for every user
  in a call, the entry on the board (if any) sits at one of those keys: true for a stream applied in per-item
  order where a redelivery replays the whole batch applied last; false for a re-cut or older batch replayed after
  a newer one committed (that duplicates a participant). Tombstones are not kept.

Staleness: a change whose version is <= the version stored for the user is ignored. Several changes for one user
in one call apply in order (so the last non-stale one wins; for an in-order stream that is simply the last).

Sizes
-----
A bucket that grows past ``max_size`` is split into ~``target_size`` pieces; one that shrinks below ``min_size``
merges with its smaller neighbour (re-split if the result is too large). Low keys of new splits are the shortest
separators between the neighbouring keys (~11 characters), which keeps the index small.

Measured (see the tests): ``encode_bucket`` takes ~47 bytes per entry with uuid user ids (~12 KB per
256-entry bucket; the uuid alone is 16 bytes of entropy), ~29 bytes with short ids like "u12345678"; raw JSON
would be ~160. ``index_to_dict`` as compact JSON is ~31 bytes per bucket: 1,000,000 entries -> 3,906 buckets ->
~120 KB (~29 KB zlib-compressed; store it compressed).

Readers look up a key that must be the one in THIS generation (``rank_of``/``around`` return None otherwise, e.g.
when the participant item is newer than the snapshot).

No I/O and no clock here: buckets are loaded through injected callables.
"""

from __future__ import annotations

import json
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal
from functools import cached_property
from itertools import accumulate, pairwise
from operator import attrgetter
from typing import Any

_by_key = attrgetter("key")

DEFAULT_TARGET_SIZE = 256
DEFAULT_MAX_SIZE = 512
DEFAULT_MIN_SIZE = 64


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

    ``old_key``: where the entry was (OldImage's board key); only a hint, see the module doc. ``entry`` None removes
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
class Placement:
    """Directory record of one participant: key on the board (None = not on it) and the last applied version."""

    key: str | None
    version: int


@dataclass(frozen=True)
class Applied:
    """What apply() did: the new index, the bucket versions to store first, the ids the new index dropped, and the
    directory records of users whose stored state changed (persist them for the new generation)."""

    index: BoardIndex
    written: dict[str, list[BoardEntry]] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)
    placements: dict[str, Placement] = field(default_factory=dict)


@dataclass(frozen=True)
class RankedEntry:
    """An entry with its rank among all entries and its prize rank among qualified entries (None if unqualified)."""

    entry: BoardEntry
    rank: int
    prize_rank: int | None


Standing = RankedEntry

LoadBucket = Callable[[str], Sequence[BoardEntry]]


# ---------------------------------------------------------------------------------------------------------------------
# Reading


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


def rank_of(index: BoardIndex, bucket_entries_for: LoadBucket, key: str) -> Standing | None:
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


# ---------------------------------------------------------------------------------------------------------------------
# Writing


def _separator(below: str, above: str) -> str:
    """Shortest s with below < s <= above (below < above): the low key between two neighbouring buckets."""
    p = 0
    limit = min(len(below), len(above))
    while p < limit and below[p] == above[p]:
        p += 1
    return above[: p + 1]


@dataclass
class _Seg:
    """A bucket of the index being built: an untouched ref, or new entries (best first) with their low key."""

    low: str
    ref: BucketRef | None = None
    entries: list[BoardEntry] | None = None
    pos: int | None = None  # position in the old index, for an untouched ref

    @property
    def count(self) -> int:
        return self.ref.count if self.ref is not None else len(self.entries or ())


class _Workspace:
    """The old index's buckets as mutable user->entry maps, each loaded at most once."""

    def __init__(self, index: BoardIndex, load_bucket: LoadBucket) -> None:
        self.index = index
        self.refs: tuple[BucketRef | None, ...] = index.buckets or (None,)  # None: the empty board's virtual bucket
        self.load_bucket = load_bucket
        self.buckets: dict[int, dict[str, BoardEntry]] = {}
        self.dirty: set[int] = set()

    def locate(self, key: str) -> int:
        return locate(self.index, key) if self.index.buckets else 0

    def bucket(self, pos: int) -> dict[str, BoardEntry]:
        got = self.buckets.get(pos)
        if got is None:
            ref = self.refs[pos]
            loaded = [] if ref is None else list(self.load_bucket(ref.bucket_id))
            got = {e.user_id: e for e in loaded}
            if ref is not None and (len(got) != ref.count or len(loaded) != ref.count):
                raise BoardConflict(f"bucket {ref.bucket_id}: {len(loaded)} entries, ref says {ref.count}")
            self.buckets[pos] = got
        return got

    def sorted_entries(self, pos: int) -> list[BoardEntry]:
        entries = sorted(self.bucket(pos).values(), key=_by_key, reverse=True)
        for a, b in pairwise(entries):
            if a.key == b.key:
                raise BoardConflict(f"users {a.user_id!r} and {b.user_id!r} share the key {a.key!r}")
        return entries


def _check_sizes(target_size: int, max_size: int, min_size: int) -> None:
    if not (min_size >= 1 and 2 * min_size <= target_size <= max_size):
        raise ValueError("need 1 <= min_size, 2 * min_size <= target_size <= max_size")


def _split(entries: list[BoardEntry], low: str, target_size: int, max_size: int) -> list[_Seg]:
    """Entries (best first) as one segment, or ~target_size pieces if there are more than max_size."""
    n = len(entries)
    if n <= max_size:
        return [_Seg(low=low, entries=entries)]
    pieces = max(2, round(n / target_size), -(-n // max_size))
    bounds = [n * i // pieces for i in range(pieces + 1)]
    segs = []
    for i in range(pieces):
        chunk = entries[bounds[i] : bounds[i + 1]]
        chunk_low = low if i == pieces - 1 else _separator(entries[bounds[i + 1]].key, chunk[-1].key)
        segs.append(_Seg(low=chunk_low, entries=chunk))
    return segs


def _find_user(work: _Workspace, user: str, keys: list[str | None]) -> tuple[BoardEntry | None, int | None]:
    """The user's entry and bucket position, looked up in the buckets of these keys in order (each bucket once)."""
    seen: set[int] = set()
    for key in keys:
        if key is None:
            continue
        pos = work.locate(key)
        if pos in seen:
            continue
        seen.add(pos)
        found = work.bucket(pos).get(user)
        if found is not None:
            return found, pos
    return None, None


def apply(
    index: BoardIndex,
    load_bucket: LoadBucket,
    changes: Iterable[Change],
    *,
    placements: Mapping[str, Placement | None] | None = None,
    target_size: int = DEFAULT_TARGET_SIZE,
    max_size: int = DEFAULT_MAX_SIZE,
    min_size: int = DEFAULT_MIN_SIZE,
    id_salt: str = "",
) -> Applied:
    """Apply a batch of participant changes copy-on-write; see the module doc for the lookup modes and staleness.

    ``placements`` (directory mode) must map EVERY user in ``changes`` to its Placement as of ``index`` (None: no
    record). New bucket ids are ``f"{generation}.{n}"`` (``f"{generation}.{id_salt}{n}"`` with a salt, for writers
    that may race on the same generation). ``load_bucket`` is called at most once per bucket id. Nothing changed →
    the same index object back, nothing written.
    """
    _check_sizes(target_size, max_size, min_size)
    by_user: dict[str, list[Change]] = {}
    for change in changes:
        if change.entry is not None:
            if change.entry.user_id != change.user_id:
                raise ValueError(f"change for {change.user_id!r} carries an entry of {change.entry.user_id!r}")
            if change.version is not None and change.version != change.entry.version:
                raise ValueError("a change's version must equal its entry's version")
        by_user.setdefault(change.user_id, []).append(change)

    work = _Workspace(index, load_bucket)
    moved: dict[str, Placement] = {}
    for user, user_changes in by_user.items():
        placed: Placement | None = None
        if placements is not None:
            # Directory mode: the record is the truth for this generation (old keys are not even looked at)
            if user not in placements:
                raise KeyError(f"placements must cover every user in the batch; {user!r} is missing")
            placed = placements[user]
            current, current_pos = _find_user(work, user, [placed.key if placed is not None else None])
            if (
                placed is not None
                and placed.key is not None
                and (current is None or current.key != placed.key or current.version != placed.version)
            ):
                raise BoardConflict(f"the directory places {user!r} at {placed!r}; the board holds {current!r}")
        else:
            # Hint mode: the old keys, then the new keys (latest first)
            keys = [c.old_key for c in user_changes] + [c.entry.key for c in reversed(user_changes) if c.entry]
            current, current_pos = _find_user(work, user, keys)
        stored_version = current.version if current is not None else placed.version if placed is not None else None

        final, final_version = current, stored_version
        for change in user_changes:
            version = change.change_version
            if version is not None and final_version is not None and version <= final_version:
                continue  # stale: already applied, or older than what is stored
            final = change.entry
            if version is not None:
                final_version = version

        if final is not current:
            if current is not None and current_pos is not None:
                del work.bucket(current_pos)[user]
                work.dirty.add(current_pos)
            if final is not None:
                pos = work.locate(final.key)
                target = work.bucket(pos)
                if user in target:
                    raise BoardConflict(f"{user!r} is already in the bucket of its new key: bad placement")
                target[user] = final
                work.dirty.add(pos)
        if final_version is not None and (final is not current or final_version != stored_version):
            moved[user] = Placement(final.key if final is not None else None, final_version)

    if not work.dirty:
        return Applied(index=index, placements=moved)
    return _rebuild(work, target_size, max_size, min_size, id_salt, moved)


def _rebuild(
    work: _Workspace, target_size: int, max_size: int, min_size: int, id_salt: str, moved: dict[str, Placement]
) -> Applied:
    segs: list[_Seg] = []
    for pos, ref in enumerate(work.refs):
        low = ref.low_key if ref is not None else ""
        if pos in work.dirty:
            segs.extend(_split(work.sorted_entries(pos), low, target_size, max_size))
        else:
            segs.append(_Seg(low=low, ref=ref, pos=pos))

    def materialise(seg: _Seg) -> list[BoardEntry]:
        if seg.entries is None:
            assert seg.pos is not None
            seg.entries = work.sorted_entries(seg.pos)
            seg.ref = None
        return seg.entries

    i = 0
    while i < len(segs):
        seg = segs[i]
        if seg.ref is None and seg.count < min_size and len(segs) > 1:
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(segs)]
            # the smaller neighbour; on a tie prefer one already in memory (no extra read)
            j = min(neighbours, key=lambda k: (segs[k].count, segs[k].ref is not None))
            upper, lower = (j, i) if j < i else (i, j)
            merged = materialise(segs[upper]) + materialise(segs[lower])
            segs[upper : lower + 1] = _split(merged, segs[lower].low, target_size, max_size)
            i = max(upper - 1, 0)
            continue
        i += 1
    if len(segs) == 1 and segs[0].count == 0:
        segs = []

    generation = work.index.generation + 1
    written: dict[str, list[BoardEntry]] = {}
    refs: list[BucketRef] = []
    for seg in segs:
        if seg.ref is not None:
            refs.append(seg.ref)
            continue
        entries = seg.entries or []
        bucket_id = f"{generation}.{id_salt}{len(written)}"
        written[bucket_id] = entries
        refs.append(BucketRef(bucket_id, seg.low, len(entries), sum(1 for e in entries if e.qualified)))
    kept = {r.bucket_id for r in refs}
    retired = [r.bucket_id for r in work.index.buckets if r.bucket_id not in kept]
    return Applied(index=BoardIndex(generation, tuple(refs)), written=written, retired=retired, placements=moved)


# ---------------------------------------------------------------------------------------------------------------------
# Storage forms

_BUCKET_FORMAT = 1
_WIDE = Context(prec=2000, Emin=-(10**6), Emax=10**6)


def _score_from_key(key: str) -> Decimal | None:
    """The score a ranking.board_key starts with (normalised), or None if the key does not parse as one."""
    head = key.split("|", 1)[0]
    try:
        if head == "O":
            return Decimal(0)
        kind, exponent, digits, end = head[0], head[1:5], head[5:-1], head[-1]
        if not (digits.isascii() and digits.isdigit() and exponent.isascii() and exponent.isdigit()):
            return None
        if kind == "P" and end == "#":
            sign, adjusted = 0, int(exponent) - 500
        elif kind == "N" and end == "~":
            sign, adjusted = 1, 9999 - int(exponent) - 500
            digits = "".join(str(9 - int(d)) for d in digits)
        else:
            return None
        return Decimal((sign, tuple(int(d) for d in digits), adjusted - len(digits) + 1))
    except (IndexError, ValueError):
        return None


def _user_from_key(key: str) -> str | None:
    cut = key.rfind("|")
    return key[cut + 1 :] if cut >= 0 else None


def _pack_score(key: str, score: Decimal) -> str | int | None:
    """None: the key's score as is; int e: the key's score at exponent e; str: the score itself."""
    derived = _score_from_key(key)
    if derived is not None and derived == score:
        if str(derived) == str(score):
            return None
        exponent = score.as_tuple().exponent
        try:
            if isinstance(exponent, int) and str(_unpack_score(key, exponent)) == str(score):
                return exponent
        except ArithmeticError:
            pass
    return str(score)


def _unpack_score(key: str, packed: str | int | None) -> Decimal:
    if isinstance(packed, str):
        return Decimal(packed)
    derived = _score_from_key(key)
    if derived is None:
        raise ValueError(f"no score in key {key!r}")
    return derived if packed is None else derived.quantize(Decimal(1).scaleb(packed, _WIDE), context=_WIDE)


def encode_bucket(entries: Iterable[BoardEntry]) -> bytes:
    """Compact bytes: a format byte, then zlib-compressed JSON columns
    [keys, user_ids, scores, trade_counts, qualified ("0"/"1" string), versions].

    Redundancy with the board key is dropped, verified exactly at encode time: a user id is 0 when it is the key's
    last "|" field, a score is null when it is the key's score as written, or its exponent when it is the same
    value written with more digits (e.g. 12.50); anything else is stored as is (scores as exact strings).
    Decoding gives back equal entries with identical score strings.
    """
    entries = list(entries)
    for e in entries:
        if not e.score.is_finite():
            raise ValueError("scores must be finite")
    columns = [
        [e.key for e in entries],
        [0 if _user_from_key(e.key) == e.user_id else e.user_id for e in entries],
        [_pack_score(e.key, e.score) for e in entries],
        [e.trade_count for e in entries],
        "".join("1" if e.qualified else "0" for e in entries),
        [e.version for e in entries],
    ]
    text = json.dumps(columns, separators=(",", ":"), ensure_ascii=False)
    # Level 6: within a few percent of 9's size at a fraction of its CPU (the refresher encodes every write).
    return bytes([_BUCKET_FORMAT]) + zlib.compress(text.encode("utf-8"), 6)


def decode_bucket(data: bytes) -> list[BoardEntry]:
    if not data or data[0] != _BUCKET_FORMAT:
        raise ValueError("unknown bucket format")
    keys, users, scores, trade_counts, qualified, versions = json.loads(zlib.decompress(data[1:]).decode("utf-8"))
    if not len(keys) == len(users) == len(scores) == len(trade_counts) == len(qualified) == len(versions):
        raise ValueError("bucket columns differ in length")
    return [
        BoardEntry(
            key=key,
            user_id=_user_from_key(key) if user == 0 else user,
            score=_unpack_score(key, score),
            trade_count=trade_count,
            qualified=q == "1",
            version=version,
        )
        for key, user, score, trade_count, q, version in zip(
            keys, users, scores, trade_counts, qualified, versions, strict=True
        )
    ]


def index_to_dict(index: BoardIndex) -> dict[str, Any]:
    """JSON-safe, columnar: {"g": generation, "ids": [...], "low": [...], "n": [...], "q": [...]}."""
    refs = index.buckets
    return {
        "g": index.generation,
        "ids": [r.bucket_id for r in refs],
        "low": [r.low_key for r in refs],
        "n": [r.count for r in refs],
        "q": [r.qualified for r in refs],
    }


def index_from_dict(d: Mapping[str, Any]) -> BoardIndex:
    ids, lows, counts, qualified = d["ids"], d["low"], d["n"], d["q"]
    if not len(ids) == len(lows) == len(counts) == len(qualified):
        raise ValueError("index columns differ in length")
    refs = tuple(
        BucketRef(str(b), str(lo), int(n), int(q)) for b, lo, n, q in zip(ids, lows, counts, qualified, strict=True)
    )
    return BoardIndex(int(d["g"]), refs)
