"""The leaderboard handlers (page and my rank) with the events/leaderboard/ payloads, on moto, against an oracle.

The oracle ranks by score (highest first), then by last trade time (earliest first), then by join time
(earliest first). The board is built through the real handlers: joins, then the trade feed.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import api_event, sample_event
from tests.integration.conftest import Arena, Reply, trade, trader_of, user_claims

EIGHT = datetime(2026, 12, 1, 8, tzinfo=UTC)

# Traders have public handles here (the rows name them by handle for a trader's view).
pytestmark = pytest.mark.usefixtures("named")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Trader:
    user_id: str
    joined_at: datetime
    trades: list[dict[str, Any]] = field(default_factory=list)

    @property
    def volume(self) -> Decimal:
        return sum((Decimal(t["quantity"]) * Decimal(t["price"]) for t in self.trades), Decimal(0))

    @property
    def pnl(self) -> Decimal:
        return sum((Decimal(t.get("realized_pnl", "0")) for t in self.trades), Decimal(0))

    @property
    def last_trade_at(self) -> datetime:
        return max(datetime.fromisoformat(t["executed_at"].replace("Z", "+00:00")) for t in self.trades)


def oracle(traders: list[Trader], metric: str = "volume") -> list[Trader]:
    """The ranking, computed independently: score desc, then last trade asc, then join asc."""
    ranked = [t for t in traders if t.trades]
    return sorted(ranked, key=lambda t: (-getattr(t, metric), t.last_trade_at, t.joined_at))


# Volumes with deliberate ties (250.5 and 250.50 are the same score) and last-trade times with ties.
VOLUMES = ["100", "250.5", "250.50", "1000", "42.125", "7", "99999.99", "1000.0001", "0.01", "100"]
LAST_TRADES = [
    datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
    datetime(2026, 12, 1, 10, tzinfo=UTC),
    datetime(2026, 12, 1, 10, 30, tzinfo=UTC),
]


def _build_board(arena: Arena, count: int = 60, idle: int = 2) -> tuple[str, list[Trader]]:
    """Given the sample event (by volume) with `count` traders who traded and `idle` who joined only.

    Joins happen at 08:00 + k seconds in a shuffled order; trades are executed between 09:00 and 10:30 and
    posted at 12:00 in two calls (the second adds to some traders' totals)."""
    rng = random.Random(2026)
    arena.clock.set(EIGHT)
    event_id = arena.new_event()["id"]
    names = [f"u{i:02d}" for i in range(count - 1)] + ["trader-1"]  # trader-1 is the samples' caller
    idle_names = [f"idle-{i}" for i in range(idle)]
    order = names + idle_names
    rng.shuffle(order)
    traders: dict[str, Trader] = {}
    for k, name in enumerate(order):
        arena.clock.set(EIGHT + timedelta(seconds=k))
        assert arena.join(event_id, user_claims(name)).status == 201
        traders[name] = Trader(name, EIGHT + timedelta(seconds=k))

    first: list[dict[str, Any]] = []
    second: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        target = Decimal(VOLUMES[i % len(VOLUMES)]) * (1 + i % 3)
        last = LAST_TRADES[rng.randrange(len(LAST_TRADES))]
        pieces = rng.randrange(1, 4) if target > 1 else 1  # earlier pieces are 0.01 each
        made: list[dict[str, Any]] = []
        for p in range(pieces - 1):
            made.append(
                trade(f"{name}-{p}", name, iso(datetime(2026, 12, 1, 9, p, tzinfo=UTC)), quantity="0.5", price="0.02")
            )
        rest = target - Decimal("0.01") * (pieces - 1)
        made.append(trade(f"{name}-last", name, iso(last), quantity="1", price=str(rest)))
        traders[name].trades.extend(made)
        # Some traders' final trade comes in the second call.
        (second if i % 4 == 0 else first).append(made[-1])
        first.extend(made[:-1])

    arena.clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    for batch in (first, second):
        result = arena.ingest(batch)
        assert (result.status, result.body["accepted"]) == (200, len(batch)), result
    return event_id, list(traders.values())


def _entries(reply: Reply) -> list[tuple[int, str, Decimal, int]]:
    assert reply.status == 200, reply
    return [(e["rank"], trader_of(e), Decimal(e["score"]), e["trade_count"]) for e in reply.body["entries"]]


def _expected(ranked: list[Trader], metric: str = "volume") -> list[tuple[int, str, Decimal, int]]:
    return [(i + 1, t.user_id, getattr(t, metric), len(t.trades)) for i, t in enumerate(ranked)]


# ------------------------------------------------------------------------------------------- the page


def test_leaderboard_order_matches_the_oracle(arena: Arena) -> None:
    """Given 60 traders with tied scores, tied last-trade times and distinct join times, and 2 who never traded
    When the leaderboard is read in one page
    Then its order, ranks, scores and trade counts are the oracle's; the idle ones are not on it."""
    event_id, traders = _build_board(arena)
    ranked = oracle(traders)
    assert len(ranked) == 60
    neighbours = list(itertools.pairwise(ranked))
    assert any(a.volume == b.volume and a.last_trade_at < b.last_trade_at for a, b in neighbours), (
        "the board must hold score ties decided by the last trade"
    )
    assert any(a.volume == b.volume and a.last_trade_at == b.last_trade_at for a, b in neighbours), (
        "the board must hold score and time ties decided by the join order"
    )

    reply = arena.leaderboard(event_id, {"limit": "100"})

    assert _entries(reply) == _expected(ranked)
    assert reply.body["next_cursor"] is None
    assert (reply.body["event_id"], reply.body["ranking_metric"]) == (event_id, "volume")
    assert reply.body["updated_at"] == "2026-12-01T12:00:00.000Z"
    assert all(isinstance(e["score"], str) for e in reply.body["entries"])


def test_sample_leaderboard_request_and_pagination_by_seven(arena: Arena) -> None:
    """Given the 60-trader board
    When events/leaderboard/get_leaderboard.json (limit 50) is sent, and the board is walked 7 at a time
    Then the sample's page is the oracle's top 50 with a cursor; the walk returns every entry exactly once,
    with consecutive ranks 1..60, in the oracle's order."""
    event_id, traders = _build_board(arena)
    expected = _expected(oracle(traders))
    arena.stream.drain()
    sample = arena.call(
        "leaderboard/get_leaderboard", api_event("leaderboard/get_leaderboard.json", path={"eventId": event_id})
    )
    assert _entries(sample) == expected[:50]
    assert sample.body["next_cursor"]

    walked: list[tuple[int, str, Decimal, int]] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(20):
        reply = arena.leaderboard(event_id, {"limit": "7", **({"cursor": cursor} if cursor else {})})
        page = _entries(reply)
        sizes.append(len(page))
        walked.extend(page)
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break

    assert cursor is None, "the walk never ended"
    assert all(size == 7 for size in sizes[:-1]) and sizes[-1] <= 7
    assert [rank for rank, *_ in walked] == list(range(1, 61))
    assert walked == expected


def _cursor(state: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def test_cursor_from_another_event_is_400(arena: Arena) -> None:
    """Given two events, each with ranked traders
    When the first board's next_cursor is used on the second board
    Then 400 invalid_cursor."""
    first = arena.new_event()["id"]
    second = arena.new_event()["id"]
    for user in ("ann", "ben"):
        arena.joined(first, user)
        arena.joined(second, user)
    assert (
        arena.ingest(
            [trade("C-1", "ann", "2026-12-01T09:00:00Z"), trade("C-2", "ben", "2026-12-01T09:01:00Z", quantity="2")]
        ).status
        == 200
    )
    page = arena.leaderboard(first, {"limit": "1"})
    cursor = page.body["next_cursor"]
    assert cursor and len(page.body["entries"]) == 1

    reply = arena.leaderboard(second, {"limit": "1", "cursor": cursor})

    assert (reply.status, reply.code) == (400, "invalid_cursor")
    assert _entries(arena.leaderboard(first, {"limit": "1", "cursor": cursor}))[0][:2] == (2, "ann")


@pytest.mark.parametrize(
    "state",
    ["garbage!", [1], {"e": "EVENT", "o": -1}, {"e": "EVENT", "o": "x"}, {"e": "EVENT", "o": 7, "k": "garbage"}],
    ids=["not-base64-json", "not-an-object", "negative-offset", "text-offset", "tampered-key"],
)
def test_tampered_leaderboard_cursor_is_400(arena: Arena, state: object) -> None:
    """Given a cursor that was not issued for this board (garbage, or a forged state for this event)
    When it is used Then 400 invalid_cursor, never a 500."""
    event_id = arena.new_event()["id"]
    cursor = state if isinstance(state, str) else _cursor(json.loads(json.dumps(state).replace("EVENT", event_id)))
    reply = arena.leaderboard(event_id, {"cursor": cursor})
    assert (reply.status, reply.code) == (400, "invalid_cursor")


def test_leaderboard_of_unknown_event_is_404(arena: Arena) -> None:
    """Given no such event When the sample leaderboard request is sent Then 404 event_not_found."""
    reply = arena.call("leaderboard/get_leaderboard", sample_event("leaderboard/get_leaderboard.json"))
    assert (reply.status, reply.code) == (404, "event_not_found")


def test_empty_leaderboard(arena: Arena) -> None:
    """Given an event whose participants have not traded When its board is read Then no entries, no cursor."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "quiet")
    reply = arena.leaderboard(event_id)
    assert (_entries(reply), reply.body["next_cursor"]) == ([], None)


# ------------------------------------------------------------------------------------------- my rank


def test_my_rank_with_three_neighbours_matches_the_oracle(arena: Arena) -> None:
    """Given the 60-trader board
    When the top, the second, trader-1 (with the sample's around=3), a middle, the second-to-last and the last
    trader ask for their rank
    Then rank, score and trade count, and up to 3 neighbours above and below (best first, with their ranks),
    are the oracle's."""
    event_id, traders = _build_board(arena)
    ranked = oracle(traders)
    expected = _expected(ranked)
    position = {t.user_id: i for i, t in enumerate(ranked)}
    arena.stream.drain()
    sample = arena.call(
        "leaderboard/get_my_rank", api_event("leaderboard/get_my_rank.json", path={"eventId": event_id})
    )
    askers = [ranked[0].user_id, ranked[1].user_id, ranked[29].user_id, ranked[-2].user_id, ranked[-1].user_id]

    for user_id, reply in [("trader-1", sample), *((u, arena.my_rank(event_id, u)) for u in askers)]:
        assert reply.status == 200, (user_id, reply)
        me = reply.body
        r = position[user_id]
        assert (me["user_id"], me["ranked"], me["rank"]) == (user_id, True, r + 1)
        assert (Decimal(me["score"]), me["trade_count"]) == expected[r][2:]
        above = [(e["rank"], trader_of(e), Decimal(e["score"]), e["trade_count"]) for e in me["above"]]
        below = [(e["rank"], trader_of(e), Decimal(e["score"]), e["trade_count"]) for e in me["below"]]
        assert above == expected[max(0, r - 3) : r], user_id
        assert below == expected[r + 1 : r + 4], user_id


def test_my_rank_without_neighbours(arena: Arena) -> None:
    """Given a ranked trader When they ask without `around` Then their rank and no neighbours."""
    event_id = arena.new_event()["id"]
    for user, quantity in (("ann", "1"), ("ben", "3"), ("cid", "2")):
        arena.joined(event_id, user)
        assert arena.ingest([trade(f"T-{user}", user, "2026-12-01T09:00:00Z", quantity=quantity)]).status == 200
    me = arena.my_rank(event_id, "cid", around=None).body
    assert (me["rank"], me["above"], me["below"], Decimal(me["score"])) == (2, [], [], Decimal(200))


def test_my_rank_when_not_a_participant_is_404(arena: Arena) -> None:
    """Given an event trader-1 never joined When they ask for their rank (the sample request) Then 404."""
    event_id = arena.new_event()["id"]
    reply = arena.call("leaderboard/get_my_rank", api_event("leaderboard/get_my_rank.json", path={"eventId": event_id}))
    assert (reply.status, reply.code) == (404, "not_participant")


def test_my_rank_of_unknown_event_is_404(arena: Arena) -> None:
    """Given no such event When the sample my-rank request is sent Then 404 event_not_found."""
    reply = arena.call("leaderboard/get_my_rank", sample_event("leaderboard/get_my_rank.json"))
    assert (reply.status, reply.code) == (404, "event_not_found")


def test_joined_without_trades_is_not_ranked(arena: Arena) -> None:
    """Given trader-1 joined but has not traded, while another trader has
    When trader-1 asks for their rank Then ranked false, rank null, score 0, no neighbours."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "trader-1")
    arena.joined(event_id, "busy")
    assert arena.ingest([trade("B-1", "busy", "2026-12-01T09:00:00Z")]).status == 200
    me = arena.my_rank(event_id, "trader-1").body
    assert (me["ranked"], me["rank"], Decimal(me["score"]), me["trade_count"], me["above"], me["below"]) == (
        False,
        None,
        Decimal(0),
        0,
        [],
        [],
    )


@pytest.mark.parametrize("around", ["-1", "51", "many"])
def test_around_out_of_bounds_is_422(arena: Arena, around: str) -> None:
    """Given a participant When asking with around outside 0..50 Then 422 validation_failed for query.around."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "trader-1")
    reply = arena.call(
        "leaderboard/get_my_rank",
        api_event("leaderboard/get_my_rank.json", path={"eventId": event_id}, query={"around": around}),
    )
    assert (reply.status, reply.code) == (422, "validation_failed")
    assert [d["field"] for d in reply.body["error"]["details"]] == ["query.around"]


# ------------------------------------------------------------------------------------------- pnl with losses


PNLS = {
    "p-big-win": "100",
    "p-win": "3",
    "p-tiny-win": "0.0001",
    "p-flat": None,  # a buy: no realized pnl, score 0
    "p-tiny-loss": "-0.0001",
    "p-half-loss": "-0.5",
    "p-loss-a": "-5",
    "p-loss-b": "-5.00",  # the same loss, reached later
    "p-more-loss": "-5.25",
    "p-big-loss": "-12.1",
    "p-huge-loss": "-1000000",
}


def test_pnl_board_orders_losses_correctly(arena: Arena) -> None:
    """Given an event ranked by pnl with winners, a flat trader and losers (two tied at -5, -5.25 below them)
    When the board is read and each trader asks for their rank
    Then the order is the oracle's: 100, 3, 0.0001, 0, -0.0001, -0.5, -5 (earlier), -5, -5.25, -12.1, -1000000."""
    event_id = arena.new_event(ranking_metric="pnl")["id"]
    traders: list[Trader] = []
    for k, user in enumerate(PNLS):
        arena.clock.set(datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(seconds=k))
        arena.joined(event_id, user)
        traders.append(Trader(user, arena.clock.moment))
    arena.clock.set(datetime(2026, 12, 1, 12, tzinfo=UTC))
    batch = []
    for k, (t, pnl) in enumerate(zip(traders, PNLS.values(), strict=True)):
        item = trade(f"PNL-{k}", t.user_id, iso(datetime(2026, 12, 1, 9, k, tzinfo=UTC)), side="sell", realized_pnl=pnl)
        t.trades.append(item)
        batch.append(item)
    assert arena.ingest(batch).body["accepted"] == len(PNLS)
    ranked = oracle(traders, "pnl")
    assert [t.user_id for t in ranked] == list(PNLS)

    board = arena.leaderboard(event_id)

    assert board.body["ranking_metric"] == "pnl"
    assert _entries(board) == _expected(ranked, "pnl")
    for i, t in enumerate(ranked):
        me = arena.my_rank(event_id, t.user_id, around=1).body
        assert (me["rank"], Decimal(me["score"])) == (i + 1, t.pnl)
        assert [trader_of(e) for e in me["above"] + me["below"]] == [
            x.user_id for x in ranked[max(0, i - 1) : i + 2] if x is not t
        ]
