"""Properties and examples of the bucketed, copy-on-write leaderboard (arena.domain.board)."""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from arena.domain.board import (
    BoardConflict,
    BoardEntry,
    BoardIndex,
    BucketRef,
    Change,
    RankedEntry,
    around,
    locate,
    page,
    rank_of,
)
from arena.domain.board_writer import Placement, apply
from arena.domain.ranking import board_key
from arena.store.board_encoding import decode_bucket, encode_bucket, index_from_dict, index_to_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

T0 = 1_767_225_600_000
TINY = {"target_size": 4, "max_size": 8, "min_size": 2}  # many buckets from few entries
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Store:
    """Every bucket version ever written; buckets are immutable, so old generations stay readable."""

    def __init__(self) -> None:
        self.buckets: dict[str, list[BoardEntry]] = {}
        self.reads: Counter[str] = Counter()

    def load(self, bucket_id: str) -> list[BoardEntry]:
        self.reads[bucket_id] += 1
        return self.buckets[bucket_id]

    def apply(self, index: BoardIndex, changes: list[Change], **kwargs) -> BoardIndex:
        result = apply(index, self.load, changes, **kwargs)
        assert not set(result.written) & set(self.buckets)
        self.buckets.update(result.written)
        return result.index

    def all_entries(self, index: BoardIndex) -> list[BoardEntry]:
        return [e for ref in index.buckets for e in self.buckets[ref.bucket_id]]


def entry(user: str, score: str | Decimal, reached: int = 0, joined: int = 0, *, version: int = 1, q: bool = True):
    s = Decimal(score)
    return BoardEntry(board_key(s, T0 + reached, T0 + joined, user), user, s, 1, q, version)


def insert_all(entries: list[BoardEntry], **sizes) -> tuple[Store, BoardIndex]:
    store = Store()
    index = store.apply(BoardIndex(), [Change(e.user_id, None, e) for e in entries], **(sizes or TINY))
    return store, index


# --- strategies ------------------------------------------------------------------------------------------------------

scores = st.sampled_from(["-1000.5", "-1", "-0.001", "0", "0.00", "0.001", "1", "1.5", "1.50", "2", "1E+2", "100"])
user_ids = st.text(alphabet="abcAB-_|0é", min_size=1, max_size=6)


@st.composite
def participants(draw, min_size: int = 0, max_size: int = 60) -> list[BoardEntry]:
    users = draw(st.lists(user_ids, min_size=min_size, max_size=max_size, unique=True))
    return [
        entry(
            u,
            draw(scores),
            draw(st.integers(0, 3)),
            draw(st.integers(0, 3)),
            version=draw(st.integers(1, 5)),
            q=draw(st.booleans()),
        )
        for u in users
    ]


@st.composite
def batches(draw, users: list[str], count: int) -> list[list[Change]]:
    """Random later batches for known and new users; versions rise per user, as a participant table's do."""
    version = Counter(dict.fromkeys(users, 10))
    out = []
    for _ in range(count):
        batch = []
        for _ in range(draw(st.integers(1, 12))):
            user = draw(st.sampled_from(users)) if users and draw(st.booleans()) else draw(user_ids)
            version[user] += 1
            if draw(st.integers(0, 5)) == 0:
                batch.append(Change(user, None, None, version=version[user]))
            else:
                e = entry(user, draw(scores), draw(st.integers(0, 3)), 0, version=version[user], q=draw(st.booleans()))
                batch.append(Change(user, None, e))
        out.append(batch)
    return out


def directory(store: Store, index: BoardIndex, changes: list[Change] | None = None) -> dict[str, Placement | None]:
    """Where each user sits (from the buckets themselves); with changes: exactly the batch's users, None if absent."""
    placed: dict[str, Placement | None] = {e.user_id: Placement(e.key, e.version) for e in store.all_entries(index)}
    return placed if changes is None else {c.user_id: placed.get(c.user_id) for c in changes}


# --- (1) tie-breaking ------------------------------------------------------------------------------------------------


@PROPS
@given(participants(min_size=1))
def test_ranking_breaks_ties_by_time_reached_then_time_joined_then_user_id(people: list[BoardEntry]) -> None:
    """Given participants with many equal scores (1.5 == 1.50), equal reached and equal joined times
    When the whole board is read
    Then the order is: higher score; equal score -> reached earlier; then joined earlier; then the user id, in"""
    by_user = {e.user_id: e for e in people}
    store, index = insert_all(people)
    # When
    ranked = page(index, store.load, 0, len(people) + 1)

    # Then
    # descending code-point order (it is the key's last field, and the key is read descending)
    def parts(e: BoardEntry) -> tuple:
        _, inv_reached, inv_joined, _ = e.key.split("|", 3)
        return (-e.score, -int(inv_reached), -int(inv_joined))

    expected = sorted(people, key=lambda e: e.user_id, reverse=True)
    expected.sort(key=parts)
    assert [r.entry for r in ranked] == expected
    assert [r.rank for r in ranked] == list(range(1, len(people) + 1))
    assert all(by_user[r.entry.user_id] is r.entry for r in ranked)


def test_tie_breaking_examples() -> None:
    """Given equal scores written differently, and times that decide
    When the board is read
    Then earlier reached beats later, earlier joined beats later, and then the larger user id comes first"""
    late = entry("a", "1.50", reached=5)
    early = entry("z", "1.5", reached=1)
    early_joined_first = entry("y", "1.5", reached=1, joined=-10)
    same_all_b = entry("b", "-2", 3, 3)
    same_all_c = entry("c", "-2", 3, 3)
    store, index = insert_all([late, early, early_joined_first, same_all_b, same_all_c])
    # When
    order = [r.entry.user_id for r in page(index, store.load, 0, 10)]
    # Then
    assert order == ["y", "z", "a", "c", "b"]


# --- (2) pagination over one generation -------------------------------------------------------------------------------


@PROPS
@given(st.data())
def test_paging_one_generation_returns_every_entry_once_while_newer_generations_appear(data) -> None:
    """Given a board, a generation held by a reader, and writers producing newer generations between its pages
    When the reader walks the held generation in pages of random sizes
    Then it sees every entry of its generation exactly once, best first, with consecutive ranks and prize ranks"""
    people = data.draw(participants(max_size=40))
    store, index = insert_all(people)
    held = index
    expected = store.all_entries(held)
    later = data.draw(batches([e.user_id for e in people], count=6))
    # When
    walked: list[RankedEntry] = []
    latest = held
    while True:
        got = page(held, store.load, len(walked), data.draw(st.integers(1, 7)))
        if not got:
            break
        walked.extend(got)
        if later:
            batch = later.pop()
            latest = store.apply(latest, batch, placements=directory(store, latest, batch), **TINY)
    # Then
    assert [r.entry for r in walked] == expected
    assert [r.rank for r in walked] == list(range(1, len(expected) + 1))
    qualified = [r.prize_rank for r in walked if r.entry.qualified]
    assert qualified == list(range(1, len(qualified) + 1))
    assert all(r.prize_rank is None for r in walked if not r.entry.qualified)
    assert len({r.entry.user_id for r in walked}) == len(walked)


# --- (3) idempotence -------------------------------------------------------------------------------------------------


@PROPS
@given(st.data(), st.booleans())
def test_applying_the_same_batch_twice_changes_nothing_the_second_time(data, with_directory: bool) -> None:
    """Given a board and a batch (with repeated users, removals and reinstatements)
    When it is applied, and then delivered and applied again
    Then the second application is a no-op: the same index object back, nothing written or retired"""
    people = data.draw(participants(max_size=30))
    store, index = insert_all(people)
    (batch,) = data.draw(batches([e.user_id for e in people], count=1))
    on_board = {e.user_id: e.key for e in store.all_entries(index)}
    # ... whose old keys are what the OldImages would say (the key each user had before the batch)
    seen: dict[str, str | None] = dict(on_board)
    hinted = []
    for c in batch:
        hinted.append(Change(c.user_id, seen.get(c.user_id), c.entry, c.version))
        seen[c.user_id] = c.entry.key if c.entry else None

    def run(idx: BoardIndex):
        placements = directory(store, idx, hinted) if with_directory else None
        return apply(idx, store.load, hinted, placements=placements, **TINY)

    # When
    first = run(index)
    store.buckets.update(first.written)
    second = run(first.index)
    # Then
    assert second.index is first.index
    assert second.written == {} and second.retired == []
    assert store.all_entries(second.index) == store.all_entries(first.index)


# --- (4) storage forms -----------------------------------------------------------------------------------------------

any_decimals = st.decimals(allow_nan=False, allow_infinity=False)


@st.composite
def stored_entries(draw) -> BoardEntry:
    user = draw(st.text(max_size=12))
    score = draw(
        any_decimals | st.sampled_from([Decimal("12.500000"), Decimal("-0"), Decimal("0.00"), Decimal("1E+3")])
    )
    if draw(st.booleans()):
        key = board_key(score, draw(st.integers(-5, 10**13 + 5)), draw(st.integers(0, 10**13)), user)
    else:
        key = draw(st.text(max_size=30))
    return BoardEntry(key, user, score, draw(st.integers()), draw(st.booleans()), draw(st.integers()))


@settings(max_examples=300, deadline=None)
@given(st.lists(stored_entries(), max_size=20))
def test_bucket_encoding_round_trips_exactly(entries: list[BoardEntry]) -> None:
    """Given entries of any text, any finite decimal (any exponent, -0, trailing zeros) and any integers
    When they are encoded and decoded
    Then they come back equal, with the very same decimal strings"""
    # When
    back = decode_bucket(encode_bucket(entries))
    # Then
    assert back == entries
    assert [str(e.score) for e in back] == [str(e.score) for e in entries]
    assert [type(e.trade_count) for e in back] == [int] * len(entries)


@PROPS
@given(participants())
def test_index_dict_round_trips_through_json(people: list[BoardEntry]) -> None:
    """Given any board's index
    When it goes to a JSON document and back
    Then it is the same index"""
    _, index = insert_all(people)
    # When
    back = index_from_dict(json.loads(json.dumps(index_to_dict(index))))
    # Then
    assert back == index
    assert back.total == index.total and back.qualified_total == index.qualified_total


def test_encoded_size_of_a_typical_bucket() -> None:
    """Given a full bucket of typical entries: uuid user ids, PnL with 6 decimals, reach and join times in ms
    When it is encoded
    Then it takes under 50 bytes per entry (about 47: the uuid alone is 16 bytes of entropy), and decodes back"""
    rng = random.Random(1)
    entries = []
    for _ in range(256):
        user = str(uuid.UUID(int=rng.getrandbits(128)))
        score = Decimal(rng.randrange(-(10**10), 10**11)).scaleb(-6)
        e = BoardEntry(
            board_key(score, T0 + rng.randrange(14 * 86_400_000), T0 - rng.randrange(7 * 86_400_000), user),
            user,
            score,
            rng.randrange(1, 5000),
            rng.random() < 0.8,
            rng.randrange(1, 5000),
        )
        entries.append(e)
    entries.sort(key=lambda e: e.key, reverse=True)
    # When
    data = encode_bucket(entries)
    # Then
    assert len(data) / len(entries) < 50
    assert decode_bucket(data) == entries


def test_decode_rejects_unknown_formats() -> None:
    """Given bytes that are not a bucket
    When they are decoded
    Then decoding refuses them."""
    with pytest.raises(ValueError):
        decode_bucket(b"")
    with pytest.raises(ValueError):
        decode_bucket(b"\x09xyz")


# --- examples: empty boards ------------------------------------------------------------------------------------------


def test_empty_board_reads_nothing_and_answers_nothing() -> None:
    """Given the empty board: generation 0, no buckets
    When it is paged, ranked, located and round-tripped
    Then it has no entries, pages or standing, reads nothing, and reads back equal."""
    store, index = Store(), BoardIndex()
    # Then it has no entries, no pages, no standing and no bucket to locate, and reads nothing for it
    assert index.generation == 0 and index.buckets == () and index.total == 0 and index.qualified_total == 0
    assert page(index, store.load, 0, 10) == []
    assert rank_of(index, store.load, "P0501#|x") is None
    assert around(index, store.load, "P0501#|x", 3) is None
    with pytest.raises(LookupError):
        locate(index, "x")
    assert sum(store.reads.values()) == 0
    assert index_from_dict(index_to_dict(index)) == index


def test_nothing_to_do_returns_the_same_index() -> None:
    """Given the empty board
    When nothing, or only the removal of an absent user, is applied
    Then the very same index comes back, nothing is written, and the removal is kept as a tombstone."""
    index = BoardIndex()
    for changes in ([], [Change("ghost", None, None, version=3)]):
        result = apply(index, Store().load, changes)
        # Then the very same index comes back and nothing is written
        assert result.index is index and result.written == {} and result.retired == []
    # And the removal is remembered as a tombstone for the directory
    assert apply(index, Store().load, [Change("ghost", None, None, version=3)]).placements == {
        "ghost": Placement(None, 3)
    }


def test_first_entry_creates_one_bucket_and_removing_it_empties_the_board() -> None:
    """Given the empty board, When one participant arrives
    Then one bucket, covering every key, holds it
    When it leaves
    Then the board is empty again (no buckets), at the next generation, and its bucket is retired"""
    store = Store()
    a = entry("a", "5")
    first = apply(BoardIndex(), store.load, [Change("a", None, a)])
    store.buckets.update(first.written)
    # Then
    assert first.index == BoardIndex(1, (BucketRef("1.0", "", 1, 1),))
    assert first.written == {"1.0": [a]} and first.retired == []
    # When
    gone = apply(first.index, store.load, [Change("a", a.key, None, version=2)])
    # Then
    assert gone.index == BoardIndex(2, ())
    assert gone.retired == ["1.0"] and gone.written == {}
    assert gone.placements == {"a": Placement(None, 2)}


# --- examples: split and merge ---------------------------------------------------------------------------------------


def test_a_bucket_past_max_size_splits_into_target_sized_buckets() -> None:
    """Given one full bucket (max_size 8)
    When a ninth participant arrives
    Then the bucket splits into pieces of about target_size (4), under new ids, and the old one is retired"""
    people = [entry(f"u{i}", str(i)) for i in range(8)]
    store, index = insert_all(people)
    assert [r.count for r in index.buckets] == [8]
    # When
    newcomer = entry("u99", "3.5")
    result = apply(index, store.load, [Change("u99", None, newcomer)], **TINY)
    store.buckets.update(result.written)
    # Then
    assert [r.count for r in result.index.buckets] == [4, 5]
    assert list(result.written) == ["2.0", "2.1"] and result.retired == ["1.0"]
    # And the low keys are short separators that keep every key in exactly one bucket
    upper, lower = result.index.buckets
    assert lower.low_key == ""
    assert min(e.key for e in result.written["2.0"]) >= upper.low_key > max(e.key for e in result.written["2.1"])
    assert len(upper.low_key) < len(min(e.key for e in result.written["2.0"]))
    assert [r.entry.user_id for r in page(result.index, store.load, 0, 20)] == [
        "u7", "u6", "u5", "u4", "u99", "u3", "u2", "u1", "u0"
    ]  # fmt: skip


def test_a_large_batch_splits_into_many_buckets_within_bounds() -> None:
    """Given the empty board
    When 1,000 participants arrive in one batch with the default sizes
    Then they land in buckets of about 256, none over 512 nor under 64, best first."""
    people = [entry(f"u{i:04d}", str(i % 97), i % 5) for i in range(1000)]
    store = Store()
    result = apply(BoardIndex(), store.load, [Change(e.user_id, None, e) for e in people])
    # Then
    counts = [r.count for r in result.index.buckets]
    assert sum(counts) == 1000 and len(counts) == 4 and all(64 <= c <= 512 for c in counts)
    store.buckets.update(result.written)
    assert [r.entry for r in page(result.index, store.load, 0, 1000)] == sorted(
        people, key=lambda e: e.key, reverse=True
    )


def test_a_bucket_below_min_size_merges_with_its_smaller_neighbour() -> None:
    """Given three buckets of 4, 4 and 5 entries (min_size 2)
    When the middle bucket loses three of its four entries
    Then its last entry merges with the smaller neighbour (the top one, 4 < 5), the bottom bucket is untouched"""
    people = [entry(f"u{i:02d}", str(i)) for i in range(13)]
    store, index = insert_all(people)
    assert [r.count for r in index.buckets] == [4, 4, 5]
    top, middle, bottom = index.buckets
    # When
    middle_users = list(store.buckets[middle.bucket_id])
    gone = [Change(e.user_id, e.key, None, version=2) for e in middle_users[:3]]
    result = apply(index, store.load, gone, **TINY)
    store.buckets.update(result.written)
    # Then
    assert [r.count for r in result.index.buckets] == [5, 5]
    assert result.index.buckets[1] == bottom
    assert sorted(result.retired) == sorted([top.bucket_id, middle.bucket_id]) and list(result.written) == ["2.0"]
    assert result.index.buckets[0].low_key == middle.low_key
    assert store.all_entries(result.index) == sorted(
        [e for e in people if e not in middle_users[:3]], key=lambda e: e.key, reverse=True
    )


def test_a_merge_that_is_too_large_splits_again() -> None:
    """Given buckets of 8 and 3 entries (max 8, min 2) made by hand
    When the small bucket drops to one entry
    Then it merges with its neighbour (9 > max 8) and the result splits again into two target-sized buckets"""
    store = Store()
    people = sorted([entry(f"u{i:02d}", str(i)) for i in range(11)], key=lambda e: e.key, reverse=True)
    store.buckets = {"1.0": people[:8], "1.1": people[8:]}
    index = BoardIndex(1, (BucketRef("1.0", people[7].key, 8, 8), BucketRef("1.1", "", 3, 3)))
    # When
    gone = [Change(e.user_id, e.key, None, version=2) for e in people[8:10]]
    result = apply(index, store.load, gone, **TINY)
    # Then
    assert [r.count for r in result.index.buckets] == [4, 5]
    assert sorted(result.retired) == ["1.0", "1.1"]
    store.buckets.update(result.written)
    assert store.all_entries(result.index) == people[:8] + people[10:]


# --- examples: change semantics --------------------------------------------------------------------------------------


def test_stale_changes_are_ignored_and_the_last_change_wins() -> None:
    """Given a participant at version 5
    When a batch brings an older version, the same version, and then two newer ones
    Then the stale ones are ignored and the last one wins
    When versions arrive out of order within a batch, Then the newest still wins"""
    store, index = insert_all([entry("a", "10", version=5), entry("b", "1")])
    v5 = store.all_entries(index)[0]
    # When
    batch = [
        Change("a", v5.key, entry("a", "99", version=4)),
        Change("a", v5.key, entry("a", "98", version=5)),
        Change("a", v5.key, entry("a", "7", version=6)),
        Change("a", None, entry("a", "8", version=7)),
    ]
    result = apply(index, store.load, batch, **TINY)
    store.buckets.update(result.written)
    # Then
    assert [(e.user_id, e.score, e.version) for e in store.all_entries(result.index)] == [
        ("a", Decimal(8), 7),
        ("b", Decimal(1), 1),
    ]
    assert result.placements == {"a": Placement(entry("a", "8").key, 7)}
    # When
    result2 = apply(
        result.index,
        store.load,
        [Change("b", None, entry("b", "3", version=9)), Change("b", None, entry("b", "2", version=8))],
    )
    store.buckets.update(result2.written)
    assert [e.score for e in store.all_entries(result2.index) if e.user_id == "b"] == [Decimal(3)]


def test_removals_are_versioned_and_tombstones_stop_old_changes_resurrecting_a_participant() -> None:
    """Given a participant at version 3
    When removals at versions 2 and 4 arrive, then a redelivered version-3 entry
    Then the older removal is stale, the newer one removes, and the tombstone keeps the replay out."""
    store, index = insert_all([entry("a", "10", version=3)])
    key = store.all_entries(index)[0].key
    # When a removal with an older version arrives, Then it is stale
    assert apply(index, store.load, [Change("a", key, None, version=2)]).index is index
    # When the removal at version 4 arrives, Then the participant leaves
    removed = apply(index, store.load, [Change("a", key, None, version=4)])
    assert removed.index.total == 0 and removed.placements == {"a": Placement(None, 4)}
    # When (directory mode) a redelivered version-3 entry arrives later, Then the tombstone keeps it out
    replay = apply(
        removed.index, store.load, [Change("a", None, entry("a", "10", version=3))], placements=removed.placements
    )
    assert replay.index is removed.index
    # And a removal without a version is unconditional
    assert apply(index, store.load, [Change("a", key, None)]).index.total == 0


def test_hint_mode_finds_the_entry_by_its_new_key_when_old_key_is_stale() -> None:
    """Given a participant whose update was applied already
    When the same change is delivered again, with a stale old key or none
    Then it is recognised as applied."""
    store, index = insert_all([entry("a", "1", version=1), entry("b", "2")])
    update = Change("a", entry("a", "1").key, entry("a", "5", version=2))
    index = store.apply(index, [update])
    # When the same change is delivered again (its old key is stale now), Then it is recognised as applied
    assert apply(index, store.load, [update]).index is index
    # When the old key is missing but the entry is in the new key's bucket, Then it is found there too
    again = Change("a", None, entry("a", "5", version=2))
    assert apply(index, store.load, [again]).index is index


def test_directory_mode_ignores_old_keys_and_refuses_a_wrong_directory() -> None:
    """Given a board and a directory entry for each user
    When changes come with a wrong old key, or with a directory that misses or misplaces the user
    Then the directory decides where the entry is, and a wrong directory is refused."""
    store, index = insert_all([entry("a", "1", version=1), entry("b", "2", version=1)])
    places = directory(store, index)
    # When a change comes with a wrong old key, Then the directory decides and the entry moves
    moved = apply(index, store.load, [Change("a", "nonsense", entry("a", "9", version=2))], placements=places)
    store.buckets.update(moved.written)
    assert [e.user_id for e in store.all_entries(moved.index)] == ["a", "b"] and moved.index.total == 2
    # When the directory misses a user of the batch, Then apply refuses (a partial lookup must not pass as "absent")
    with pytest.raises(KeyError):
        apply(index, store.load, [Change("a", None, entry("a", "9", version=2))], placements={})
    # When the directory points to where the user is not, Then apply refuses rather than duplicate the user
    with pytest.raises(BoardConflict):
        apply(index, store.load, [Change("a", None, entry("a", "9", version=2))], placements={"a": Placement("zz", 1)})
    # When the directory says "absent" but the user sits in its new key's bucket, Then apply refuses as well
    with pytest.raises(BoardConflict):
        apply(index, store.load, [Change("a", None, entry("a", "9", version=2))], placements={"a": None})


def test_a_directory_lagging_behind_the_board_is_refused() -> None:
    """Given a batch that was committed while its directory records were lost
    When the next batch is applied with the lagging record, then with the record brought up to date
    Then the first is refused instead of duplicating the user, and the second applies."""
    # Given a batch that was committed while its directory records were lost (the records still say version 1)
    store, index = insert_all([entry("a", "1", version=1), entry("b", "2", version=1)])
    stale_records = directory(store, index)
    index = store.apply(index, [Change("a", None, entry("a", "7", version=2))], placements={"a": stale_records["a"]})
    # When the next batch is applied with the lagging record, Then apply refuses instead of duplicating "a"
    with pytest.raises(BoardConflict):
        apply(index, store.load, [Change("a", None, entry("a", "8", version=3))], placements={"a": stale_records["a"]})
    # When the record is brought up to date first (from the committed generation's placements), Then it applies
    a8 = Change("a", None, entry("a", "8", version=3))
    fixed = apply(index, store.load, [a8], placements=directory(store, index, [a8]))
    assert fixed.index.total == 2 and fixed.placements == {"a": Placement(entry("a", "8").key, 3)}


def test_a_directory_record_with_the_right_key_but_another_version_is_refused() -> None:
    """Given a participant whose last change kept its key but bumped the version
    When a change is applied with a directory record still at version 1
    Then apply refuses: the record is not of this generation."""
    # Given a participant whose last change kept its key (same score and times) but bumped the version
    store, index = insert_all([entry("a", "1", version=1)])
    index = store.apply(index, [Change("a", None, entry("a", "1", version=2))])
    # When the directory still says version 1, Then apply refuses: the record is not of this generation
    with pytest.raises(BoardConflict):
        apply(
            index,
            store.load,
            [Change("a", None, entry("a", "3", version=3))],
            placements={"a": Placement(entry("a", "1").key, 1)},
        )


def test_hint_mode_uses_every_old_key_of_the_batch() -> None:
    """Given "a" on the board at version 2
    When a batch starts with a redelivered version-1 change (old and new keys long gone) and then brings version 3,
    Then "a" is found through the second change's old key and moves; it is not duplicated"""
    store, index = insert_all([entry("a", "2", version=2)] + [entry(f"u{i:02d}", str(i + 10)) for i in range(20)])
    # When
    # whose old key is where "a" really is
    batch = [
        Change("a", entry("a", "25").key, entry("a", "27", version=1)),
        Change("a", entry("a", "2").key, entry("a", "15", version=3)),
    ]
    result = apply(index, store.load, batch, **TINY)
    store.buckets.update(result.written)
    # Then
    assert [(e.user_id, e.version) for e in store.all_entries(result.index) if e.user_id == "a"] == [("a", 3)]


def test_directory_mode_reads_only_the_directory_key_bucket_and_the_target_bucket() -> None:
    """Given a board of many buckets
    When a change for u comes with an old key pointing into another bucket
    Then only u's bucket (the directory's key, and here also the target) is read, never the old key's bucket"""
    people = [entry(f"u{i:02d}", str(i)) for i in range(40)]
    store, index = insert_all(people)
    u = people[20]
    # When
    store.reads.clear()
    change = Change(u.user_id, people[0].key, entry(u.user_id, "20.5", version=2))
    apply(index, store.load, [change], placements={u.user_id: Placement(u.key, u.version)}, **TINY)
    # Then
    assert set(store.reads) == {index.buckets[locate(index, u.key)].bucket_id}
    assert index.buckets[locate(index, people[0].key)].bucket_id not in store.reads


def test_a_user_found_twice_on_the_board_is_refused() -> None:
    """Given a corrupted board holding "a" in two buckets
    When a's entry in the lower bucket moves up into the other one
    Then apply refuses to make it worse."""
    a9, b5, a1 = entry("a", "9"), entry("b", "5"), entry("a", "1")
    store = Store()
    store.buckets = {"1.0": [a9, b5], "1.1": [a1]}
    index = BoardIndex(1, (BucketRef("1.0", b5.key, 2, 2), BucketRef("1.1", "", 1, 1)))
    # When / Then
    with pytest.raises(BoardConflict):
        apply(index, store.load, [Change("a", a1.key, entry("a", "8", version=3))])


def test_salted_bucket_ids_for_writers_that_may_race() -> None:
    """Given two writers building the same generation
    When each salts its ids
    Then their bucket ids differ."""
    one = apply(BoardIndex(), Store().load, [Change("a", None, entry("a", "1"))], id_salt="w1-")
    two = apply(BoardIndex(), Store().load, [Change("a", None, entry("a", "1"))], id_salt="w2-")
    assert list(one.written) == ["1.w1-0"] and list(two.written) == ["1.w2-0"]


def test_apply_validates_its_input() -> None:
    """Given an entry for another user, impossible bucket sizes, or a bucket whose content does not match its ref
    When apply is called
    Then it refuses each."""
    store, index = insert_all([entry("a", "1")])
    # Given an entry for another user, or a bucket size setup that cannot hold its bounds, Then apply refuses
    with pytest.raises(ValueError):
        apply(index, store.load, [Change("b", None, entry("a", "3", version=2))])
    with pytest.raises(ValueError):
        apply(index, store.load, [], target_size=10, max_size=20, min_size=6)
    # Given a bucket whose content does not match its ref, Then apply refuses to build on it
    broken = BoardIndex(1, (BucketRef(index.buckets[0].bucket_id, "", 2, 1),))
    with pytest.raises(BoardConflict):
        apply(broken, store.load, [Change("c", None, entry("c", "3"))])


def test_apply_reads_each_bucket_at_most_once() -> None:
    """Given a board of several buckets and a batch touching the same buckets many times over
    When the batch is applied
    Then no bucket was read twice."""
    people = [entry(f"u{i:03d}", str(i)) for i in range(60)]
    store, index = insert_all(people)
    batch = [Change(e.user_id, e.key, entry(e.user_id, str(int(e.score) + 1), version=2)) for e in people]
    store.reads.clear()
    apply(index, store.load, batch, **TINY)
    # Then
    assert max(store.reads.values()) == 1


# --- examples: reading -----------------------------------------------------------------------------------------------


def test_rank_of_reads_one_bucket_and_prize_ranks_skip_unqualified_entries() -> None:
    """Given a board where some participants are not qualified for prizes
    When a participant asks for its standing
    Then exactly one bucket is read, the rank counts everyone and the prize rank only the qualified"""
    people = [entry(f"u{i:02d}", str(100 - i), q=i % 3 != 1) for i in range(30)]
    store, index = insert_all(people)
    for i, person in enumerate(people):
        store.reads.clear()
        # When
        standing = rank_of(index, store.load, person.key)
        # Then
        assert sum(store.reads.values()) == 1
        assert standing is not None and standing.rank == i + 1 and standing.entry == person
        qualified_above = sum(1 for p in people[:i] if p.qualified)
        assert standing.prize_rank == (qualified_above + 1 if person.qualified else None)
    assert rank_of(index, store.load, entry("nobody", "50").key) is None


def test_page_reads_only_the_buckets_it_needs() -> None:
    """Given 40 entries in buckets of about 4
    When ranks 6..9 are read
    Then they are right, and only the buckets holding ranks 6..9 were read"""
    people = [entry(f"u{i:02d}", str(100 - i)) for i in range(40)]
    store, index = insert_all(people)
    counts = [r.count for r in index.buckets]
    # When
    store.reads.clear()
    got = page(index, store.load, 5, 4)
    # Then
    assert [r.rank for r in got] == [6, 7, 8, 9] and [r.entry for r in got] == people[5:9]
    starts = [sum(counts[:i]) for i in range(len(counts))]
    needed = {i for i, s in enumerate(starts) for rank in range(6, 10) if s < rank <= s + counts[i]}
    assert set(store.reads) == {index.buckets[i].bucket_id for i in needed}
    # And pages past the end are empty, bad arguments refused
    assert page(index, store.load, 40, 5) == [] and page(index, store.load, 38, 5)[-1].rank == 40
    with pytest.raises(ValueError):
        page(index, store.load, -1, 5)


def test_around_reads_the_neighbouring_bucket_only_at_an_edge() -> None:
    """Given a board of several buckets
    When participants at a bucket's edge, in its middle, at the top and at the bottom ask for their neighbours
    Then only an edge reads the neighbouring bucket, and the windows are right and bounded by the board's ends."""
    # Given several buckets
    people = [entry(f"u{i:02d}", str(100 - i)) for i in range(40)]
    store, index = insert_all(people)
    second_bucket = store.buckets[index.buckets[1].bucket_id]
    top_of_second = second_bucket[0]
    r = people.index(top_of_second) + 1
    # When a participant at the top edge of a bucket asks for 1 above and 1 below
    store.reads.clear()
    above, me, below = around(index, store.load, top_of_second.key, 1)
    # Then the neighbour above is read too (2 buckets), and the window is right
    assert sum(store.reads.values()) == 2
    assert [x.rank for x in above] == [r - 1] and me.rank == r and [x.rank for x in below] == [r + 1]
    # When a participant in the middle of a bucket asks for 1 each side, Then only its bucket is read
    store.reads.clear()
    above, me, below = around(index, store.load, second_bucket[1].key, 1)
    assert sum(store.reads.values()) == 1 and [x.entry for x in [*above, me, *below]] == second_bucket[:3]
    # When the top participant asks, Then there is nothing above; the bottom one: nothing below
    assert around(index, store.load, people[0].key, 3)[0] == []
    assert around(index, store.load, people[-1].key, 3)[2] == []
    assert around(index, store.load, "P0501#|nobody", 3) is None


def test_index_rejects_malformed_bucket_lists() -> None:
    """Given bucket lists that would give a key no home or two homes, or more qualified than entries
    When an index is built from them
    Then it refuses them."""
    # Given bucket lists that would give a key no home or two homes, Then the index refuses them
    with pytest.raises(ValueError):
        BoardIndex(1, (BucketRef("a", "x", 1, 1),))  # last bucket must reach ""
    with pytest.raises(ValueError):
        BoardIndex(1, (BucketRef("a", "", 1, 1), BucketRef("b", "", 1, 1)))  # not strictly descending
    with pytest.raises(ValueError):
        BoardIndex(1, (BucketRef("a", "x", 1, 2), BucketRef("b", "", 1, 1)))  # more qualified than entries
