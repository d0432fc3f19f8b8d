"""The pure diff behind RanksChanged (arena/domain/rank_watch.py): which moves between two generations of an event's
watched top are worth a notification, how far the window reaches, and how the moves are cut to fit the bus."""

from __future__ import annotations

import json

from arena.domain.rank_watch import (
    MAX_WATCHED,
    Change,
    Place,
    Window,
    chunks,
    moves,
    watched_size,
    window_done,
    window_of,
)


def _window(generation: int, *users: str, unqualified: tuple[str, ...] = (), complete: bool = True) -> Window:
    """Users best first; prize ranks count only the qualified ones."""
    places, prize = [], 0
    for rank, user in enumerate(users, start=1):
        if user in unqualified:
            places.append(Place(user, rank, None))
        else:
            prize += 1
            places.append(Place(user, rank, prize))
    return Window(generation, tuple(places), complete)


def _changes(found: list, user: str) -> tuple[Change, ...]:
    return next((m.changes for m in found if m.user_id == user), ())


def _ranked(n: int) -> list[str]:
    return [f"u{i:02d}" for i in range(1, n + 1)]


def test_entering_and_leaving_the_prize_zone() -> None:
    """Given an event paying 3 places, with d fourth
    When d overtakes c
    Then d entered the prize zone and c left it; a and b, still inside, have no move."""
    before = _window(1, "a", "b", "c", "d")
    after = _window(2, "a", "b", "d", "c")
    found = moves(before, after, 3)
    assert Change.ENTERED_PRIZE_ZONE in _changes(found, "d")
    assert Change.LEFT_PRIZE_ZONE in _changes(found, "c")
    assert _changes(found, "a") == () and _changes(found, "b") == ()


def test_qualifying_enters_the_prize_zone_without_a_rank_move() -> None:
    """Given b ranked second but not qualified (no prize rank) in a 1-place event where a holds prize rank 1
    When a is disqualified off the board and b qualifies
    Then b entered the prize zone and a left it (and the top 10)."""
    before = _window(1, "a", "b", unqualified=("b",))
    after = _window(2, "b")
    found = moves(before, after, 1)
    assert Change.ENTERED_PRIZE_ZONE in _changes(found, "b")
    assert set(_changes(found, "a")) == {Change.LEFT_PRIZE_ZONE, Change.LEFT_TOP_10}


def test_entering_and_leaving_the_top_10() -> None:
    """Given eleven ranked participants and no prizes
    When the eleventh overtakes the tenth
    Then the eleventh entered the top 10, the tenth left it, and the eleventh passed their rival (the tenth)."""
    users = _ranked(11)
    before = _window(1, *users)
    after = _window(2, *users[:9], users[10], users[9])
    found = moves(before, after, 0)
    assert _changes(found, "u11") == (Change.ENTERED_TOP_10, Change.PASSED_RIVAL)
    assert _changes(found, "u10") == (Change.LEFT_TOP_10,)
    assert [m.user_id for m in found] == ["u11", "u10"]


def test_passing_the_rival_directly_ahead() -> None:
    """Given a, b, c, d in that order (no prizes, all in the top 10)
    When d jumps to second
    Then d passed its rival c (the one directly ahead before) and names it; c and b, who were passed, have no move."""
    found = moves(_window(1, "a", "b", "c", "d"), _window(2, "a", "d", "b", "c"), 0)
    [move] = found
    assert (move.user_id, move.changes, move.rival_user_id) == ("d", (Change.PASSED_RIVAL,), "c")
    assert (move.previous_rank, move.rank) == (4, 2)
    assert move.to_wire()["rival_user_id"] == "c"


def test_a_rival_who_left_the_window_is_not_counted_as_passed() -> None:
    """Given b directly ahead of c
    When b drops off the board (disqualified) and c moves up
    Then c did not pass anyone (leaving is not being overtaken)."""
    found = moves(_window(1, "a", "b", "c"), _window(2, "a", "c"), 0)
    assert _changes(found, "c") == ()


def test_no_move_no_event_and_a_first_generation_enters_everyone_shown() -> None:
    """Given the same ranking twice, and an event's first generation after an empty one
    When they are diffed
    Then an unchanged ranking has no move, and the first ranking's participants entered the top 10 and the zone."""
    same = _window(1, "a", "b")
    assert moves(same, _window(2, "a", "b"), 1) == []
    first = moves(Window(0), _window(1, "a", "b"), 1)
    assert _changes(first, "a") == (Change.ENTERED_PRIZE_ZONE, Change.ENTERED_TOP_10)
    assert _changes(first, "b") == (Change.ENTERED_TOP_10,)
    assert first[0].previous_rank is None and first[0].to_wire()["previous_rank"] is None


def test_leaving_the_zone_is_reported_only_when_the_window_covers_the_zone() -> None:
    """Given b in the prize zone at the previous generation, absent from a window that did not cover the whole zone
    When the generations are diffed
    Then b's leaving the zone is unknown and not reported (only its leaving the top 10 is)."""
    before = _window(1, "a", "b")
    after = _window(2, "a", complete=False)
    assert _changes(moves(before, after, 2), "b") == (Change.LEFT_TOP_10,)
    assert Change.LEFT_PRIZE_ZONE in _changes(moves(before, _window(2, "a"), 2), "b")


def test_the_watched_size_is_prize_places_plus_ten_capped_at_a_thousand() -> None:
    """Given events paying 0, 3, 990 and 5,000 places
    When the watched size is asked
    Then it is ten more than the prize places, at least 10 and at most 1,000."""
    assert [watched_size(p) for p in (0, 3, 990, 5_000)] == [10, 13, 1_000, 1_000]


def test_the_window_reads_on_until_the_prize_zone_is_covered_but_never_past_the_cap() -> None:
    """Given a board where unqualified entries push prize ranks down
    When the window decides whether it read enough
    Then it needs both the watched ranks and a qualified entry per prize place, stopping at the board's end or
    MAX_WATCHED; the window made knows whether it covers the zone."""
    assert not window_done(13, 1, 100, 3)  # 13 ranks read, only one prize rank among them
    assert window_done(13, 3, 100, 3)
    assert window_done(7, 0, 7, 3)  # the whole board
    assert window_done(MAX_WATCHED, 0, 5_000, 3_000)
    places = [Place(f"u{i}", i, None) for i in range(1, MAX_WATCHED + 5)]
    capped = window_of(9, places, 5_000, 3)
    assert len(capped.places) == MAX_WATCHED and not capped.zone_complete
    assert window_of(9, places[:4], 4, 3).zone_complete  # the whole board read: nothing else can be in the zone


def test_a_window_survives_its_wire_form() -> None:
    """Given a window with a qualified and an unqualified place
    When it is written and read back
    Then it is the same window."""
    window = _window(7, "a", "b", unqualified=("b",), complete=False)
    assert Window.from_wire(json.loads(json.dumps(window.to_wire()))) == window


def test_moves_are_bounded_by_the_window_and_chunked_under_the_limit() -> None:
    """Given a full 1,000-place window of a 500-place event replaced by 1,000 new participants
    When the moves are diffed and cut into chunks of at most 50 KB
    Then the 500 newcomers in the zone entered it and the 500 who held it left it (nobody outside the zone and the
    top 10 has a move: at most one move per participant of either window), every chunk fits, and no move is lost
    or reordered."""
    old = _window(1, *[f"old-{i:04d}" for i in range(MAX_WATCHED)])
    new = _window(2, *[f"new-{i:04d}" for i in range(MAX_WATCHED)])
    found = moves(old, new, 500)
    assert len(found) == 1_000 <= 2 * MAX_WATCHED
    assert sum(Change.ENTERED_PRIZE_ZONE in m.changes for m in found) == 500
    assert sum(Change.LEFT_PRIZE_ZONE in m.changes for m in found) == 500
    wire = [m.to_wire() for m in found]
    parts = chunks(wire, 50_000)
    assert len(parts) > 1
    assert all(len(json.dumps(part, separators=(",", ":")).encode()) <= 50_000 for part in parts)
    assert [m for part in parts for m in part] == wire
    assert chunks([], 50_000) == []
