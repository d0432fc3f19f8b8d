"""Differential test of the bucketed board against a sorted in-memory oracle.

A simulated participant table emits stream-like changes (score updates with heavy ties, negative and decimal PnL,
disqualifications and reinstatements). Batches of random size are corrupted the way a real pipeline can corrupt
them (redelivered old changes, out-of-order duplicates, stale / None / wrong old keys) and applied with apply();
after every batch the board is compared with an oracle that applies the documented rule (a change with a version
<= the stored one is ignored) to a plain dict and sorts it.
"""

from __future__ import annotations

import copy
import random
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate
from operator import attrgetter

import pytest
from arena.domain.board import BoardEntry, BoardIndex, Change, RankedEntry, around, page, rank_of
from arena.domain.board_writer import (
    DEFAULT_MAX_SIZE,
    DEFAULT_MIN_SIZE,
    DEFAULT_TARGET_SIZE,
    Placement,
    apply,
)
from arena.domain.ranking import board_key

from tests.unit.test_board import Store as BucketStore

T0 = 1_767_225_600_000  # 2026-01-01 in epoch ms
SCORE_POOL = [
    Decimal(s)
    for s in ("-1000.5", "-250", "-0.000001", "0", "0.000001", "1", "1.5", "1.50", "12.34", "99.99", "100", "1E+3")
]
REACHED_POOL = [T0 + k * 1000 for k in range(6)]  # few distinct times: ties on score AND time are common
JOINED_POOL = [T0 - k * 60_000 for k in range(4)]  # ... and on join time, so the user id decides
# The whole field drifts between score regions over time, so regions of the key space empty out (bucket merges)
# and fill up (splits)
DRIFT = [Decimal(0), Decimal(10**6), Decimal(-(10**6)), Decimal("0.5")]
DRIFT_EVERY = 5_000


@dataclass
class World:
    """The participant table: the truth that the stream reports, one version per participant write."""

    rng: random.Random
    users: list[str]
    joined: dict[str, int] = field(default_factory=dict)
    version: dict[str, int] = field(default_factory=dict)
    key: dict[str, str | None] = field(default_factory=dict)
    trades: dict[str, int] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)  # every change ever emitted
    past_keys: dict[str, list[str]] = field(default_factory=dict)
    drift: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        for user in self.users:
            self.joined[user] = self.rng.choice(JOINED_POOL)
            self.version[user] = 0
            self.key[user] = None
            self.trades[user] = 0
            self.past_keys[user] = []

    def _score(self) -> Decimal:
        if self.rng.random() < 0.7:
            return self.rng.choice(SCORE_POOL) + self.drift
        return Decimal(self.rng.randint(-(10**7), 10**7)).scaleb(-self.rng.randint(0, 6)) + self.drift

    def update(self) -> Change:
        rng = self.rng
        user = rng.choice(self.users[:300]) if rng.random() < 0.4 else rng.choice(self.users)  # some hot users
        self.version[user] += 1
        old_key = self.key[user]
        if old_key is not None and rng.random() < 0.05:  # disqualified / no longer ranked
            change = Change(user, old_key, None, version=self.version[user])
            self.key[user] = None
        else:
            self.trades[user] += rng.randint(1, 3)
            score = self._score()
            key = board_key(score, rng.choice(REACHED_POOL), self.joined[user], user)
            entry = BoardEntry(
                key=key,
                user_id=user,
                score=score,
                trade_count=self.trades[user],
                qualified=rng.random() < 0.85,
                version=self.version[user],
            )
            change = Change(user, old_key, entry)
            self.key[user] = key
            self.past_keys[user].append(key)
        self.history.append(change)
        return change


class Oracle:
    """The board as the spec defines it: per user the last non-stale state, sorted by key descending."""

    def __init__(self) -> None:
        self.state: dict[str, tuple[BoardEntry | None, int]] = {}

    def apply(self, changes: list[Change]) -> None:
        for change in changes:
            version = change.entry.version if change.entry is not None else change.version
            assert version is not None
            stored = self.state.get(change.user_id)
            if stored is not None and version <= stored[1]:
                continue
            self.state[change.user_id] = (change.entry, version)

    def ranked(self) -> Ranking:
        entries = [e for e, _ in self.state.values() if e is not None]
        entries.sort(key=attrgetter("key"), reverse=True)
        return Ranking(entries)


class Ranking(Sequence[RankedEntry]):
    """The oracle's ranking: ranked[i] is rank i+1, with its prize rank (built lazily, the board is large)."""

    def __init__(self, entries: list[BoardEntry]) -> None:
        self.entries = entries
        self.qualified_before = list(accumulate((e.qualified for e in entries), initial=0))
        self.qualified_total = self.qualified_before[-1]

    def __len__(self) -> int:
        return len(self.entries)

    def _at(self, i: int) -> RankedEntry:
        e = self.entries[i]
        return RankedEntry(e, i + 1, self.qualified_before[i] + 1 if e.qualified else None)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self._at(j) for j in range(*i.indices(len(self.entries)))]
        return self._at(i if i >= 0 else len(self.entries) + i)


class Store(BucketStore):
    """test_board's store of every bucket version ever written, plus copies and read counts per action."""

    def load_copies(self, bucket_id: str) -> list[BoardEntry]:
        """Fresh objects, as decoded from storage (so no identity shortcut can hide a rewrite)."""
        return [copy.copy(e) for e in self.buckets[bucket_id]]

    def reads_during(self, action: Callable[[], object]) -> tuple[object, int]:
        before = sum(self.reads.values())
        result = action()
        return result, sum(self.reads.values()) - before


def _buckets_covering(index: BoardIndex, first_rank: int, last_rank: int) -> int:
    """How many buckets hold ranks first_rank..last_rank (what a minimal reader must read)."""
    if last_rank < first_rank:
        return 0
    starts = [0]
    for ref in index.buckets:
        starts.append(starts[-1] + ref.count)
    return bisect_right(starts, last_rank - 1) - bisect_right(starts, first_rank - 1) + 1


def _corrupt_old_key(rng: random.Random, world: World, change: Change) -> Change:
    """Stale / missing / wrong old keys, as an OldImage from a replay or a skipped record would give."""
    roll = rng.random()
    if roll < 0.4:
        old: str | None = None
    elif roll < 0.7 and world.past_keys[change.user_id]:
        old = rng.choice(world.past_keys[change.user_id])  # an older key of the same user
    elif roll < 0.9:
        other = rng.choice(world.users)
        old = world.key[other] or rng.choice(world.past_keys[other] or ["P0501#|x"])  # someone else's key
    else:
        old = "garbage-" + str(rng.random())
    return Change(change.user_id, old, change.entry, change.version)


def _check_structure(index: BoardIndex, store: Store, ranking: Ranking, sizes: dict[str, int]) -> None:
    # Then the index counts equal the bucket contents, every bucket is within its key range and size bounds, and the
    # buckets concatenated are exactly the oracle's ranking (so each is sorted, and no user appears twice)
    assert index.total == len(ranking)
    assert index.qualified_total == ranking.qualified_total
    everything: list[BoardEntry] = []
    upper: str | None = None
    for ref in index.buckets:
        entries = store.buckets[ref.bucket_id]
        assert len(entries) == ref.count
        assert sum(e.qualified for e in entries) == ref.qualified
        assert entries[-1].key >= ref.low_key
        assert upper is None or entries[0].key < upper
        upper = ref.low_key
        if len(index.buckets) > 1:
            assert sizes["min_size"] <= ref.count <= sizes["max_size"], ref
        else:
            assert 1 <= ref.count <= sizes["max_size"]
        everything.extend(entries)
    assert index.buckets == () or index.buckets[-1].low_key == ""
    assert everything == ranking.entries


def _check_reads(rng: random.Random, index: BoardIndex, store: Store, ranked: Ranking, absent: list[str]) -> int:
    total = len(ranked)
    mismatches = 0
    # When top-N pages and random pages of random sizes are read, Then they equal the oracle's slices, reading only
    # the buckets that hold those ranks
    for _ in range(4):
        offset = 0 if rng.random() < 0.3 else rng.randint(0, total + 5)
        limit = rng.randint(1, 300)
        got, reads = store.reads_during(lambda o=offset, n=limit: page(index, store.load, o, n))
        mismatches += got != ranked[offset : offset + limit]
        assert reads == _buckets_covering(index, offset + 1, min(offset + limit, total))
    if not ranked:
        return mismatches
    # Pick users at the top, the bottom, bucket edges and at random
    picks = [ranked[0], ranked[-1]] + [rng.choice(ranked) for _ in range(6)]
    starts = [0]
    for ref in index.buckets:
        starts.append(starts[-1] + ref.count)
    for _ in range(4):
        b = rng.randrange(len(index.buckets))
        picks += [ranked[starts[b]], ranked[starts[b + 1] - 1]]
    for want in picks:
        # When a participant asks for its rank, Then exactly one bucket is read and the standing is the oracle's
        got, reads = store.reads_during(lambda k=want.entry.key: rank_of(index, store.load, k))
        assert reads == 1
        mismatches += got != want
        # When it asks for its neighbours, Then they are the oracle's, read from its bucket and the edge neighbours
        n = rng.choice([0, 1, 3, 10, 40, 100])
        got3, reads = store.reads_during(lambda k=want.entry.key, n=n: around(index, store.load, k, n))
        r = want.rank
        expected = (ranked[max(0, r - 1 - n) : r - 1], want, ranked[r : r + n])
        mismatches += got3 != expected
        assert reads == _buckets_covering(index, max(1, r - n), min(total, r + n))
    for key in rng.sample(absent, min(3, len(absent))):
        # When the key is not on the board (a removed or outdated key), Then there is no standing
        got, reads = store.reads_during(lambda k=key: rank_of(index, store.load, k))
        mismatches += got is not None
        assert reads == 1
    return mismatches


def _run(
    *,
    seed: int,
    users: int,
    updates: int,
    directory: bool,
    sizes: dict[str, int],
    check_every: int = 1,
    max_batch: int = 500,
) -> Counter[str]:
    rng = random.Random(seed)
    world = World(rng, [f"user-{i}" for i in range(users)])  # ids of varying length: the id tie-break is exercised
    oracle, store = Oracle(), Store()
    index = BoardIndex()
    placements: dict[str, Placement] = {}
    snapshots: list[tuple[BoardIndex, Ranking]] = []
    stats: Counter[str] = Counter()
    emitted = 0
    batch_no = 0
    previous_batch: list[Change] = []
    lost: list[Change] | None = None  # a committed batch whose directory records were never written ...
    journal: dict[str, Placement] = {}  # ... but whose placements were stored with its generation
    lost_suffix: list[Change] = []
    while emitted < updates or lost is not None or lost_suffix:
        # Given a batch of fresh changes, of random size
        size = min(rng.randint(1, max_batch), updates - emitted)
        world.drift = DRIFT[(emitted // DRIFT_EVERY) % len(DRIFT)]
        fresh = [world.update() for _ in range(size)]
        emitted += size
        batch = list(fresh)
        if lost is not None:
            # ... or (directory mode, after a crash between the index commit and the directory write) the stream
            # retrying the lost batch re-cut, as bisect-on-error does: a prefix alone, the rest with the next batch;
            # the retry first brings the directory up to the committed generation from that generation's journal
            placements.update(journal)
            cut = rng.randint(0, len(lost))
            batch, lost_suffix, lost = lost[:cut], lost[cut:], None
            lost_suffix += fresh  # (fresh ones go out with the next batch)
        elif lost_suffix:
            batch, lost_suffix = lost_suffix + batch, []
        elif directory:
            # ... with redelivered older changes (stale versions), out-of-order duplicates and bad old keys
            for _ in range(rng.choice([0, 0, 5, 50])):
                batch.insert(rng.randint(0, len(batch)), rng.choice(world.history))
            if rng.random() < 0.1 and len(batch) > 1:
                i, j = sorted(rng.sample(range(len(batch)), 2))
                batch[i], batch[j] = batch[j], batch[i]
            batch = [_corrupt_old_key(rng, world, c) if rng.random() < 0.3 else c for c in batch]
        elif previous_batch and rng.random() < 0.15:
            # ... (hint mode) preceded by an exact replay of the batch applied last: its old keys are all stale now
            batch = previous_batch + batch
        stats["changes"] += len(batch)

        # When the batch is applied
        load_calls: Counter[str] = Counter()

        def counting_load(bucket_id: str, load_calls: Counter[str] = load_calls) -> list[BoardEntry]:
            load_calls[bucket_id] += 1
            return store.buckets[bucket_id]

        users_in_batch = {c.user_id for c in batch}
        result = apply(
            index,
            counting_load,
            batch,
            placements={u: placements.get(u) for u in users_in_batch} if directory else None,
            **sizes,
        )
        assert not load_calls or max(load_calls.values()) == 1  # each bucket read at most once per apply
        old_ids = {r.bucket_id for r in index.buckets}
        new_ids = {r.bucket_id for r in result.index.buckets}
        assert set(result.written) == new_ids - old_ids
        assert set(result.retired) == old_ids - new_ids
        assert not set(result.written) & set(store.buckets), "bucket ids must never be reused"
        assert result.index.generation == index.generation + (1 if result.written or result.retired else 0)
        store.buckets.update(result.written)
        crashed = directory and lost is None and not lost_suffix and rng.random() < 0.04
        if crashed:
            lost, journal = batch, result.placements  # committed; directory write lost; the batch comes again
            stats["crashes"] += 1
        else:
            placements.update(result.placements)
        index = result.index
        oracle.apply(batch)
        previous_batch = fresh
        batch_no += 1
        stats["splits"] += len(result.written) > len(result.retired)
        stats["merges"] += len(result.written) < len(result.retired)

        if directory and not crashed and rng.random() < 0.05:
            # When a batch that was fully applied is delivered again on its own, Then nothing changes at all
            again = apply(
                index, store.load_copies, batch, placements={u: placements.get(u) for u in users_in_batch}, **sizes
            )
            assert again.index is index and not again.written and not again.retired

        if batch_no % check_every == 0:
            # Then the board equals the oracle, read every way
            ranked = oracle.ranked()
            _check_structure(index, store, ranked, sizes)
            absent = [
                c.entry.key
                for c in rng.sample(world.history, min(20, len(world.history)))
                if c.entry and getattr(oracle.state.get(c.user_id, (None,))[0], "key", None) != c.entry.key
            ]
            stats["mismatches"] += _check_reads(rng, index, store, ranked, absent)
            stats["checkpoints"] += 1
            if batch_no % 20 == 0:
                snapshots.append((index, ranked))
            # And an older generation still pages exactly as it was, its buckets being immutable
            if snapshots:
                old_index, old_ranked = rng.choice(snapshots)
                offset = rng.randint(0, len(old_ranked))
                got = page(old_index, store.load, offset, 100)
                stats["mismatches"] += got != old_ranked[offset : offset + 100]
            stats["empty_checkpoints"] += not ranked
            if directory and lost is None and batch_no % 10 == 0:
                # And the directory says exactly what the board holds
                for user, (e, version) in oracle.state.items():
                    assert placements.get(user) == Placement(e.key if e is not None else None, version)
    stats["buckets"] = len(index.buckets)
    stats["on_board"] = index.total
    return stats


DEFAULT = {"target_size": DEFAULT_TARGET_SIZE, "max_size": DEFAULT_MAX_SIZE, "min_size": DEFAULT_MIN_SIZE}
SMALL = {"target_size": 24, "max_size": 48, "min_size": 8}  # many buckets: edges, splits and merges everywhere


def test_directory_mode_matches_oracle_under_redelivery_and_bad_old_keys() -> None:
    """Given 10,000 users, 100,000 score updates in batches of 1..500, redelivered stale changes, old keys that are
    stale, missing or wrong, and crashes that lose a batch's directory records until the batch is redelivered
    When they are applied in directory mode
    Then there is not a single mismatch over hundreds of checkpoints, and the structure really was exercised."""
    # stale, missing or wrong, and crashes that lose a batch's directory records until the batch is redelivered
    stats = _run(seed=7, users=10_000, updates=100_000, directory=True, sizes=SMALL)
    # Then
    assert stats["mismatches"] == 0
    assert stats["checkpoints"] >= 200
    assert stats["changes"] > 100_000  # redeliveries on top of the fresh updates
    assert stats["splits"] > 50 and stats["merges"] > 20
    assert stats["crashes"] > 5
    assert stats["on_board"] > 9_000 and stats["buckets"] > 200


def test_directory_mode_with_default_bucket_sizes() -> None:
    """Given the production bucket sizes (fewer, larger buckets) and the same corruptions
    When they are applied in directory mode
    Then the board still equals the oracle."""
    stats = _run(seed=11, users=10_000, updates=30_000, directory=True, sizes=DEFAULT, check_every=2)
    # Then
    assert stats["mismatches"] == 0
    assert stats["checkpoints"] >= 50


def test_hint_mode_matches_oracle_for_an_in_order_stream_with_replays() -> None:
    """Given no directory: old keys straight from the OldImage, 10,000 users, 100,000 updates, and exact replays of
    the last batch
    When they are applied in hint mode (the production refresher's)
    Then the hints suffice: the board equals the oracle."""
    # Given no directory (the production refresher's mode): old keys straight from the OldImage (None for
    # newcomers and reinstated users), 10,000 users and 100,000 updates, and
    # exact replays of the batch applied last (at-least-once delivery), whose old keys are then all stale
    stats = _run(seed=3, users=10_000, updates=100_000, directory=False, sizes=SMALL)
    # Then
    assert stats["mismatches"] == 0
    assert stats["checkpoints"] >= 100


@pytest.mark.parametrize("users", [1, 7])
def test_tiny_boards_match_oracle(users: int) -> None:
    """Given boards that stay below one bucket (a single small bucket, emptied and refilled), in small batches
    When updates are applied
    Then they equal the oracle too, including while empty."""
    stats = _run(seed=users, users=users, updates=2_000, directory=True, sizes=SMALL, max_batch=5)
    # Then
    assert stats["mismatches"] == 0
    assert stats["checkpoints"] >= 500
    assert stats["empty_checkpoints"] > 0 or users > 1
