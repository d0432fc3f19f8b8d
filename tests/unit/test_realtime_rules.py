"""Real-time rules (arena/domain/realtime.py): topics and who may hold them, frames, leaderboard diffs, push
coalescing, rank-change detection, milestones and the trade sample."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal
from types import SimpleNamespace

import pytest
from arena.domain import realtime as rt
from arena.domain.realtime import BoardDiff, Milestone, Progress, Row, Standing, Topic, TopicKind
from arena.errors import BadRequest, Forbidden


def row(rank: int, user: str, score: str, trades: int = 1, qualified: bool = True, prize: int | None = None) -> Row:
    return Row(rank, user, Decimal(score), trades, qualified, prize if prize is not None else rank)


# ------------------------------------------------------------------------------------------------ topics


@pytest.mark.parametrize(
    ("text", "kind", "key"),
    [
        ("leaderboard:01JB", TopicKind.LEADERBOARD, "01JB"),
        ("trades:ev-1", TopicKind.TRADES, "ev-1"),
        ("event:ev-1", TopicKind.EVENT, "ev-1"),
        ("user:ann@example.com", TopicKind.USER, "ann@example.com"),
        ("admin", TopicKind.ADMIN, None),
    ],
)
def test_topics_parse_and_print_back(text: str, kind: TopicKind, key: str | None) -> None:
    """Given a well-formed topic text
    When it is parsed
    Then its kind and key are the expected ones and it prints back as the same text."""
    topic = Topic.parse(text)
    assert (topic.kind, topic.key, str(topic)) == (kind, key, text)


@pytest.mark.parametrize(
    "text", ["", "leaderboard", "leaderboard:", "admin:x", "chat:", "user:a b", None, 7, "x" * 300]
)
def test_anything_else_is_a_bad_topic(text: object) -> None:
    """Given a topic that is malformed or not a string
    When it is parsed
    Then a BadRequest with code invalid_topic is raised."""
    with pytest.raises(BadRequest) as caught:
        Topic.parse(text)
    assert caught.value.code == "invalid_topic"


def test_private_and_admin_topics_are_guarded() -> None:
    """Given public, private (user:) and admin topics
    When users and an admin subscribe to them
    Then a user gets their own channel and public boards, an admin the admin topic, and nobody another user's
    channel."""
    rt.authorize_subscription("ann", False, Topic.parse("user:ann"))
    rt.authorize_subscription("ann", False, Topic.parse("leaderboard:ev"))
    rt.authorize_subscription("root", True, Topic.parse("admin"))
    with pytest.raises(Forbidden):
        rt.authorize_subscription("ann", False, Topic.parse("user:bob"))
    with pytest.raises(Forbidden):
        rt.authorize_subscription("root", True, Topic.parse("user:ann"))  # not even an admin reads another's channel
    with pytest.raises(Forbidden):
        rt.authorize_subscription("ann", False, Topic.parse("admin"))


# ------------------------------------------------------------------------------------------------ frames


def test_a_message_is_compact_json_with_exact_decimals_in_canonical_form() -> None:
    """Given an envelope carrying a Decimal 0.10
    When it is encoded and decoded
    Then it is the type, topic, seq, ts and data, with the decimal as the canonical string "0.1"."""
    message = rt.envelope("trades", "trades:ev", 3, "2026-12-01T12:00:00.000Z", {"volume": Decimal("0.10")})
    decoded = json.loads(rt.encode(message))
    assert decoded == {
        "type": "trades",
        "topic": "trades:ev",
        "seq": 3,
        "ts": "2026-12-01T12:00:00.000Z",
        "data": {"volume": "0.1"},
    }


def test_a_message_larger_than_one_frame_is_refused() -> None:
    """Given an envelope whose data alone is a full frame
    When it is encoded
    Then a ValueError naming the frame is raised."""
    with pytest.raises(ValueError, match="frame"):
        rt.encode(rt.envelope("x", "admin", 1, "t", {"blob": "a" * rt.MAX_FRAME_BYTES}))


def test_a_diff_too_large_for_a_frame_is_cut_and_marked_partial() -> None:
    """Given a board diff of 399 long rows
    When it is fitted to a frame
    Then only some rows are kept, it is marked partial, and the encoded message fits one frame."""
    rows = [row(i, "u" * 120 + str(i), "1" * 30) for i in range(1, 400)]
    data = rt.fit_diff(BoardDiff(rows, len(rows)), "ev", 9, 1000)
    assert data["partial"] is True and 0 < len(data["rows"]) < len(rows)
    assert len(rt.encode(rt.envelope("leaderboard", "leaderboard:ev", 1, "t", data))) <= rt.MAX_FRAME_BYTES


# ------------------------------------------------------------------------------------------------ diffs


def test_a_diff_holds_only_the_rows_that_changed() -> None:
    """Given a board where two participants swap places and one score changes
    When the diff is taken
    Then it holds only the rows at ranks 2 and 3, and the board size."""
    before = [row(1, "ann", "300"), row(2, "bob", "200"), row(3, "cid", "100")]
    after = [row(1, "ann", "300"), row(2, "cid", "250"), row(3, "bob", "200")]
    diff = rt.board_diff(before, after)
    assert [(r.rank, r.user_id) for r in diff.rows] == [(2, "cid"), (3, "bob")] and diff.size == 3


def test_no_change_is_an_empty_diff_and_a_shrinking_list_is_not() -> None:
    """Given a board unchanged, and the same board with its last row removed
    When the diffs are taken
    Then the first is empty and the second carries no rows but the smaller size."""
    rows = [row(1, "ann", "300"), row(2, "bob", "200")]
    assert rt.board_diff(rows, list(rows)).empty
    shrunk = rt.board_diff(rows, rows[:1])  # bob disqualified: only the size changes
    assert shrunk.rows == [] and shrunk.size == 1


def test_a_score_change_at_the_same_rank_is_a_change() -> None:
    """Given a participant whose score rises without a rank change
    When the diff is taken
    Then it holds that row with the new score."""
    diff = rt.board_diff([row(1, "ann", "300")], [row(1, "ann", "301")])
    assert [r.score for r in diff.rows] == [Decimal("301")]


def test_applying_the_diffs_in_order_rebuilds_the_board() -> None:
    """Given a sequence of boards that grow, reorder and shrink
    When a client applies each diff in order and trims to the diff's size
    Then after every step its board equals the real one."""
    boards = [
        [],
        [row(1, "ann", "10")],
        [row(1, "bob", "20"), row(2, "ann", "10")],
        [row(1, "bob", "20"), row(2, "cid", "15"), row(3, "ann", "10")],
        [row(1, "cid", "30"), row(2, "bob", "20")],
    ]
    client: dict[int, Row] = {}
    for before, after in itertools.pairwise(boards):
        diff = rt.board_diff(before, after)
        for r in diff.rows:
            client[r.rank] = r
        client = {rank: r for rank, r in client.items() if rank <= diff.size}
        assert [client[k] for k in sorted(client)] == after


def test_rows_survive_the_push_state_and_never_put_the_user_id_on_the_wire() -> None:
    """Given a board row with a Decimal score, a handle and a public name
    When it is stored as the push's state and read back, and put on the wire
    Then the state reads back equal to the original row; the wire form names the trader by handle and name and
    carries no user id."""
    r = Row(4, "ann-7f3e9c2a41", Decimal("12.345000"), 7, False, None, "k3x9q2m7p1zt", "Trader 7KQ2", "#1f77b4", "T7")
    assert Row.from_state(json.loads(json.dumps(r.to_state()))) == r
    wire = json.dumps(r.to_wire())
    assert "ann-7f3e9c2a41" not in wire and json.loads(wire)["handle"] == "k3x9q2m7p1zt"


# ------------------------------------------------------------------------------------------------ coalescing


@pytest.mark.parametrize(
    ("last", "now", "interval", "wait"),
    [
        (None, 100.0, 1.0, 0.0),  # never pushed
        (99.0, 100.0, 1.0, 0.0),  # a second ago
        (99.7, 100.0, 1.0, 0.7),  # too soon: wait until a second after the last push
        (100.0, 100.0, 1.0, 1.0),
        (150.0, 100.0, 1.0, 1.0),  # a clock behind the last push never waits more than one interval
        (99.9, 100.0, 0.0, 0.0),  # pacing off
    ],
)
def test_pushes_are_at_least_an_interval_apart(last: float | None, now: float, interval: float, wait: float) -> None:
    """Given the time of the last push, now and the push interval
    When the push delay is computed
    Then it is the expected wait."""
    assert rt.push_delay(last, now, interval) == pytest.approx(wait)


# ------------------------------------------------------------------------------------------------ rank changes

PLACES = 3


def test_only_real_rank_moves_are_told() -> None:
    """Given the standings last told and now, where two swap, one keeps its rank and one has no rank yet
    When the rank moves are computed
    Then only the two that swapped are moves, and neither entered the prize zone."""
    told = {"ann": Standing(1, 1), "bob": Standing(2, 2), "cid": Standing(3, 3)}
    now = {"ann": Standing(1, 1), "bob": Standing(3, 3), "cid": Standing(2, 2), "dan": Standing(None, None)}
    moves = rt.rank_moves(told, now, PLACES)
    assert [(m.user_id, m.before.rank, m.after.rank) for m in moves] == [("bob", 2, 3), ("cid", 3, 2)]
    assert all(m.rank_moved and not m.entered_prize_zone for m in moves)


def test_a_first_rank_is_a_move_and_leaving_the_board_is_one() -> None:
    """Given a participant ranked for the first time and one who left the board
    When the rank moves are computed
    Then both are moves."""
    moves = rt.rank_moves({"bob": Standing(2, 2)}, {"ann": Standing(5, None), "bob": Standing(None, None)}, PLACES)
    assert [(m.user_id, m.before, m.after.rank) for m in moves] == [("ann", None, 5), ("bob", Standing(2, 2), None)]


def test_entering_the_prize_zone_is_told_even_without_a_rank_move() -> None:
    """Given a participant whose prize rank appears at the same rank, and participants climbing into or within the zone
    When the rank moves are computed
    Then entering the zone is told with or without a rank move, and a climb within it is only a move."""
    # ann qualifies at rank 2: her rank stays, her prize rank appears inside the zone.
    moves = rt.rank_moves({"ann": Standing(2, None)}, {"ann": Standing(2, 2)}, PLACES)
    assert [(m.rank_moved, m.entered_prize_zone) for m in moves] == [(False, True)]
    # climbing from 5 to 3 enters it with a move; from 3 to 2 is only a move.
    moves = rt.rank_moves({"a": Standing(5, 5), "b": Standing(3, 3)}, {"a": Standing(3, 3), "b": Standing(2, 2)}, 3)
    assert [(m.user_id, m.rank_moved, m.entered_prize_zone) for m in moves] == [("a", True, True), ("b", True, False)]


def test_a_prize_rank_shift_alone_is_not_a_move() -> None:
    """Given a participant whose prize rank shifts while the rank stays
    When the rank moves are computed
    Then there are none."""
    assert rt.rank_moves({"ann": Standing(4, 2)}, {"ann": Standing(4, 3)}, PLACES) == []


def test_prize_places_is_the_last_paid_rank() -> None:
    """Given prize tiers paying ranks 1 to 10, and no tiers
    When the prize places are computed
    Then they are 10 and 0."""
    tiers = [SimpleNamespace(rank_from=1, rank_to=1), SimpleNamespace(rank_from=2, rank_to=10)]
    assert rt.prize_places(tiers) == 10 and rt.prize_places([]) == 0


# ------------------------------------------------------------------------------------------------ milestones


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (None, Progress(1, False), [Milestone.FIRST_TRADE]),
        (Progress(0, False), Progress(3, True), [Milestone.FIRST_TRADE, Milestone.QUALIFIED]),
        (Progress(4, False), Progress(5, True), [Milestone.QUALIFIED]),
        (Progress(5, True), Progress(6, True), []),
        (Progress(0, False), Progress(0, False), []),  # joined, no trade yet
        (Progress(5, True, True), Progress(5, True, False), []),  # reinstated: was qualified already
        (Progress(4, False), Progress(5, True, True), []),  # disqualified users reach nothing
    ],
)
def test_personal_milestones(before: Progress | None, after: Progress, expected: list[Milestone]) -> None:
    """Given a participant's progress before and after a change
    When the personal milestones are computed
    Then they are the expected ones."""
    assert rt.personal_milestones(before, after) == expected


def test_thresholds_crossed_count_once_each_and_reaching_counts() -> None:
    """Given volume thresholds of 100, 1000 and 10000
    When a volume moves from one value to another
    Then each threshold reached or passed in that move counts once, and none already behind."""
    thresholds = [Decimal(100), Decimal(1000), Decimal(10000)]
    assert rt.crossed(Decimal(0), Decimal(100), thresholds) == [Decimal(100)]
    assert rt.crossed(Decimal(100), Decimal(5000), thresholds) == [Decimal(1000)]
    assert rt.crossed(Decimal(50), Decimal(20000), thresholds) == thresholds
    assert rt.crossed(Decimal(20000), Decimal(30000), thresholds) == []


# ------------------------------------------------------------------------------------------------ activity


def test_activity_is_what_a_change_added_without_who() -> None:
    """Given a participant record before and after two trades were added
    When the activity is computed
    Then it is the trades and volume added with the time, without the user id; a change adding no trade is none."""
    before = {"user_id": "ann", "trade_count": 2, "volume": Decimal("100.5")}
    after = {"user_id": "ann", "trade_count": 5, "volume": Decimal("400.75"), "last_trade_at": "2026-12-01T12:00:00Z"}
    change = rt.activity(before, after)
    assert change is not None and change.to_wire() == {"trades": 3, "volume": "300.25", "at": "2026-12-01T12:00:00Z"}
    assert "ann" not in json.dumps(change.to_wire())
    assert rt.activity(after, {**after, "disqualified": True}) is None  # no trade added


def test_the_sample_is_even_bounded_and_deterministic() -> None:
    """Given lists of 100, 3 and 0 items
    When samples of 5 (or 0) are drawn
    Then they are evenly spaced, at most the list, and the same every time."""
    items = list(range(100))
    assert rt.sample(items, 5) == [0, 20, 40, 60, 80] == rt.sample(items, 5)
    assert rt.sample(items[:3], 5) == [0, 1, 2]
    assert rt.sample(items, 0) == [] and rt.sample([], 5) == []
