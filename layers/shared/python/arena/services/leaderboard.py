"""Reading the leaderboard: pages best first, and a participant's own rank with neighbours."""

from __future__ import annotations

from arena import clock
from arena.auth import Principal
from arena.errors import BadRequest, NotFound
from arena.models.leaderboard import LeaderboardEntry, LeaderboardPage, MyStanding
from arena.services.events import load
from arena.store import dynamo
from arena.store import participants as participant_store
from arena.store.participants import BoardRow


def _entry(rank: int, row: BoardRow) -> LeaderboardEntry:
    return LeaderboardEntry(rank=rank, user_id=row.user_id, score=row.score, trade_count=row.trade_count)


def leaderboard_page(event_id: str, limit: int, cursor: str | None) -> LeaderboardPage:
    event = load(event_id)
    state = dynamo.decode_cursor(cursor) or {}
    offset = state.get("o", 0)
    if state and (state.get("e") != event_id or not isinstance(offset, int) or offset < 0):
        raise BadRequest("The cursor belongs to another leaderboard.", code="invalid_cursor")
    key = dynamo.start_key(state, frozenset({"event_id", "user_id", "board_key"}))
    rows, last_key = participant_store.board_page(event_id, limit, key)
    entries = [_entry(offset + i + 1, row) for i, row in enumerate(rows)]
    next_cursor = dynamo.encode_cursor({"e": event_id, "k": last_key, "o": offset + len(rows)}) if last_key else None
    return LeaderboardPage(
        event_id=event_id,
        ranking_metric=event.ranking_metric,
        entries=entries,
        next_cursor=next_cursor,
        updated_at=clock.now(),
    )


def my_standing(principal: Principal, event_id: str, around: int) -> MyStanding:
    load(event_id)
    record = participant_store.get(event_id, principal.user_id)
    if record is None:
        raise NotFound("You are not a participant of this event.", code="not_participant")
    common = dict(
        event_id=event_id, user_id=principal.user_id, score=record.score, trade_count=record.totals.trade_count
    )
    if record.board_key is None:
        return MyStanding(**common, ranked=False, rank=None, above=[], below=[], updated_at=clock.now())
    rank = participant_store.count_above(event_id, record.board_key) + 1
    above, below = participant_store.neighbours(event_id, record.board_key, around)
    return MyStanding(
        **common,
        ranked=True,
        rank=rank,
        above=[_entry(rank - len(above) + i, row) for i, row in enumerate(above)],
        below=[_entry(rank + 1 + i, row) for i, row in enumerate(below)],
        updated_at=clock.now(),
    )
