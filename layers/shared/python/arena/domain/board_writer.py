"""Applying a batch of participant changes to a board snapshot, copy-on-write.

The writer reads the buckets the changes touch, writes new versions of only those (new ids
``"{generation}.{n}"``) and a new index naming them; unchanged buckets are shared with the previous generation,
so readers of the old index keep a consistent view while the new one is committed.

Finding a participant's current entry
-------------------------------------
A change must remove the participant's previous entry, wherever it is; missing it duplicates the participant.

* Directory mode (``apply(..., placements=...)``, the robust one): the caller passes, for EVERY user in the batch,
  its ``Placement`` (key on the board or None, and the version of the last change applied, tombstones included)
  exactly as of the generation it passes in, and stores ``Applied.placements`` for the new generation. ``old_key``
  is ignored, so stale, missing or wrong OldImages cannot corrupt the board, and a removal's tombstone stops a
  redelivered older change from resurrecting the participant. No extra reads: the directory key's bucket is
  usually also the target bucket. A record that contradicts the board raises ``BoardConflict``.
  The directory is writer-only state (one small item per participant, read in bulk per batch), deliberately NOT in
  the index that every reader loads: a user->key map grows with the participants, the index only with the
  buckets. Keeping it exact across crashes: store ``Applied.placements`` as a journal item named by the new index
  (written with the buckets, before the index commit); after the commit, write the journal into the directory
  with conditional writes (record generation < new generation). A writer first brings the directory up to the
  generation it read by replaying that generation's journal. A directory write lost to a crash is otherwise NOT
  repairable from the stream: a retried batch may be re-cut (bisect-on-error retries a prefix) and then carries
  none of the keys the board now holds.
* Hint mode (no ``placements``): the entry is looked up in the buckets of the batch's old keys (first change's
  first), then of its new keys (latest first); not found means "not on the board". Exact only if, for every user
  in a call, the entry on the board (if any) sits at one of those keys: true for a stream applied in per-item
  order where a redelivery replays the whole batch applied last; false for a re-cut or older batch replayed after
  a newer one committed (that duplicates a participant). Tombstones are not kept.

Staleness: a change whose version is <= the version stored for the user is ignored. Several changes for one user
in one call apply in order (so the last non-stale one wins; for an in-order stream that is simply the last).

Sizes: a bucket that grows past ``max_size`` is split into ~``target_size`` pieces; one that shrinks below
``min_size`` merges with its smaller neighbour (re-split if the result is too large). Low keys of new splits are
the shortest separators between the neighbouring keys, which keeps the index small.

No I/O and no clock here: buckets are loaded through the injected ``LoadBucket``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from operator import attrgetter

from arena.domain import board
from arena.domain.board import BoardConflict, BoardEntry, BoardIndex, BucketRef, Change, LoadBucket

_by_key = attrgetter("key")

DEFAULT_TARGET_SIZE = 256
DEFAULT_MAX_SIZE = 512
DEFAULT_MIN_SIZE = 64


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


def _separator(below: str, above: str) -> str:
    """Shortest s with below < s <= above (below < above): the low key between two neighbouring buckets."""
    p = 0
    limit = min(len(below), len(above))
    while p < limit and below[p] == above[p]:
        p += 1
    return above[: p + 1]


@dataclass
class _DraftBucket:
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
        return board.locate(self.index, key) if self.index.buckets else 0

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


def _split(entries: list[BoardEntry], low: str, target_size: int, max_size: int) -> list[_DraftBucket]:
    """Entries (best first) as one draft bucket, or ~target_size pieces if there are more than max_size."""
    n = len(entries)
    if n <= max_size:
        return [_DraftBucket(low=low, entries=entries)]
    pieces = max(2, round(n / target_size), -(-n // max_size))
    bounds = [n * i // pieces for i in range(pieces + 1)]
    drafts = []
    for i in range(pieces):
        chunk = entries[bounds[i] : bounds[i + 1]]
        chunk_low = low if i == pieces - 1 else _separator(entries[bounds[i + 1]].key, chunk[-1].key)
        drafts.append(_DraftBucket(low=chunk_low, entries=chunk))
    return drafts


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
    drafts: list[_DraftBucket] = []
    for pos, ref in enumerate(work.refs):
        low = ref.low_key if ref is not None else ""
        if pos in work.dirty:
            drafts.extend(_split(work.sorted_entries(pos), low, target_size, max_size))
        else:
            drafts.append(_DraftBucket(low=low, ref=ref, pos=pos))

    def materialise(draft: _DraftBucket) -> list[BoardEntry]:
        if draft.entries is None:
            assert draft.pos is not None
            draft.entries = work.sorted_entries(draft.pos)
            draft.ref = None
        return draft.entries

    i = 0
    while i < len(drafts):
        draft = drafts[i]
        if draft.ref is None and draft.count < min_size and len(drafts) > 1:
            neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(drafts)]
            # the smaller neighbour; on a tie prefer one already in memory (no extra read)
            j = min(neighbours, key=lambda k: (drafts[k].count, drafts[k].ref is not None))
            upper, lower = (j, i) if j < i else (i, j)
            merged = materialise(drafts[upper]) + materialise(drafts[lower])
            drafts[upper : lower + 1] = _split(merged, drafts[lower].low, target_size, max_size)
            i = max(upper - 1, 0)
            continue
        i += 1
    if len(drafts) == 1 and drafts[0].count == 0:
        drafts = []

    generation = work.index.generation + 1
    written: dict[str, list[BoardEntry]] = {}
    refs: list[BucketRef] = []
    for draft in drafts:
        if draft.ref is not None:
            refs.append(draft.ref)
            continue
        entries = draft.entries or []
        bucket_id = f"{generation}.{id_salt}{len(written)}"
        written[bucket_id] = entries
        refs.append(BucketRef(bucket_id, draft.low, len(entries), sum(1 for e in entries if e.qualified)))
    kept = {r.bucket_id for r in refs}
    retired = [r.bucket_id for r in work.index.buckets if r.bucket_id not in kept]
    return Applied(index=BoardIndex(generation, tuple(refs)), written=written, retired=retired, placements=moved)
