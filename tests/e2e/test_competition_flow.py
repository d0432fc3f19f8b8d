"""End to end on the local stack: an admin creates an event, 50 traders join, the exchange posts 5,000 trades
(shuffled batches, 10% repeated trade_ids), and the leaderboard must equal totals computed here."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from local.simulator import TradeSimulator, volume_of
from tests.e2e.conftest import ArenaClient, iso

pytestmark = pytest.mark.e2e

TRADERS = 50
UNIQUE_TRADES = 5_000
REPEAT_SHARE = 0.10


def test_competition_from_creation_to_leaderboard(arena: ArenaClient) -> None:
    """Given an admin creates a volume event that started a minute ago
    When the exchange posts 5,000 trades in shuffled batches, 10% of them sent twice
    Then every unique trade was accepted once and every repeat reported as a duplicate
    When the admin disqualifies the leader, the board drops them at once; reinstated, they are back on top"""
    run = f"e2e-{int(time.time() * 1000)}"
    admin = arena.token(f"{run}-admin", ["admin"])
    feed = arena.token(f"{run}-feed", ["service"])
    now = datetime.now(UTC)

    created = arena.call(
        "POST",
        "/api/events",
        admin,
        {
            "name": f"E2E Volume Cup {run}",
            "start_at": iso(now - timedelta(minutes=1)),
            "end_at": iso(now + timedelta(hours=2)),
            "ranking_metric": "volume",
            "markets": ["BTC-USDT", "ETH-USDT", "SOL-USDT"],
            "prizes": [{"rank_from": 1, "rank_to": 3, "type": "points", "amount": "1000"}],
        },
    )
    assert created.status == 201, created.body
    event_id = created.body["id"]
    assert created.body["status"] == "ACTIVE"

    # And 50 traders join it
    traders = [f"{run}-trader-{i:02d}" for i in range(TRADERS)]
    tokens = {t: arena.token(t, ["user"]) for t in traders}
    for trader in traders:
        joined = arena.call("POST", f"/api/events/{event_id}/join", tokens[trader])
        assert joined.status == 201, joined.body
    assert arena.call("GET", f"/api/events/{event_id}", admin).body["participant_count"] == TRADERS
    listed = arena.call("GET", "/api/events?status=ACTIVE&limit=100", tokens[traders[0]])
    assert listed.status == 200, listed.body
    assert event_id in [e["id"] for e in listed.body["items"]]

    # When
    simulator = TradeSimulator(traders, seed=7, prefix=run)
    unique = simulator.trades(UNIQUE_TRADES, now - timedelta(seconds=50), now)
    rng = random.Random(11)
    sent = unique + rng.sample(unique, int(UNIQUE_TRADES * REPEAT_SHARE))
    rng.shuffle(sent)
    batches, position = [], 0
    while position < len(sent):
        size = rng.randint(50, 500)
        batches.append(sent[position : position + size])
        position += size

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = list(pool.map(lambda batch: arena.call("POST", "/api/trades", feed, {"trades": batch}), batches))
    elapsed = time.perf_counter() - started
    print(f"\ningest: {len(sent)} trades in {len(batches)} calls, {elapsed:.1f} s, {len(sent) / elapsed:.0f} trades/s")

    # Then
    assert all(r.status == 200 for r in replies), [r.body for r in replies if r.status != 200][:1]
    assert sum(r.body["accepted"] for r in replies) == UNIQUE_TRADES
    assert sum(r.body["duplicates"] for r in replies) == len(sent) - UNIQUE_TRADES
    assert not any(r.body["rejected"] or r.body["ignored"] for r in replies)

    # And the leaderboard equals the totals computed here, in the documented order
    volume: dict[str, Decimal] = defaultdict(Decimal)
    count: dict[str, int] = defaultdict(int)
    last_trade: dict[str, str] = {}
    for trade in unique:
        volume[trade["user_id"]] += volume_of(trade)
        count[trade["user_id"]] += 1
        last_trade[trade["user_id"]] = max(last_trade.get(trade["user_id"], ""), trade["executed_at"])
    expected = sorted(volume, key=lambda u: (-volume[u], last_trade[u]))

    def read_board() -> list[dict]:
        entries, cursor = [], None
        while True:
            query = f"?limit=20&cursor={cursor}" if cursor else "?limit=20"
            page = arena.call("GET", f"/api/events/{event_id}/leaderboard{query}", admin)  # rows with user ids
            assert page.status == 200, page.body
            entries.extend(page.body["entries"])
            cursor = page.body["next_cursor"]
            if not cursor:
                return entries

    # The board is a snapshot refreshed from the participants stream: give it a moment to catch up.
    deadline = time.monotonic() + 30
    while True:
        entries = read_board()
        caught_up = sum(e["trade_count"] for e in entries) == UNIQUE_TRADES
        if caught_up or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    print(f"leaderboard caught up {time.perf_counter() - started - elapsed:.1f} s after the last ingest call")
    assert [e["user_id"] for e in entries] == expected
    assert [e["rank"] for e in entries] == list(range(1, len(expected) + 1))
    for entry in entries:
        assert Decimal(entry["score"]) == volume[entry["user_id"]], entry
        assert entry["trade_count"] == count[entry["user_id"]]

    # And each trader's own view agrees: rank, score and neighbours (named by handle: traders see no user ids)
    handles = {e["user_id"]: e["handle"] for e in entries}
    for trader in (expected[0], expected[len(expected) // 2], expected[-1]):
        mine = arena.call("GET", f"/api/events/{event_id}/leaderboard/me?around=2", tokens[trader])
        assert mine.status == 200, mine.body
        rank = expected.index(trader) + 1
        assert mine.body["rank"] == rank
        assert Decimal(mine.body["score"]) == volume[trader]
        assert [e["handle"] for e in mine.body["above"]] == [handles[u] for u in expected[max(0, rank - 3) : rank - 1]]
        assert [e["handle"] for e in mine.body["below"]] == [handles[u] for u in expected[rank : rank + 2]]
        assert all(e["user_id"] is None for e in mine.body["above"] + mine.body["below"])
        me = arena.call("GET", f"/api/events/{event_id}/participants/me", tokens[trader])
        assert me.status == 200 and me.body["trade_count"] == count[trader]

    # When
    leader = expected[0]
    path = f"/api/events/{event_id}/participants/{leader}"
    out = arena.call("POST", f"{path}/disqualify", admin, {"reason": "wash trading with a linked account"})
    assert out.status == 200 and out.body["disqualified"] is True, out.body
    # (readers cache the snapshot head for leaderboard_cache_seconds = 1 s, as Cache-Control: max-age=1 says)
    assert _leader_within(arena, event_id, admin, seconds=3) == expected[1]
    assert arena.call("POST", f"{path}/reinstate", admin, {"reason": "appeal upheld"}).status == 200
    assert _leader_within(arena, event_id, admin, seconds=3, until=leader) == leader


def _leader_within(arena: ArenaClient, event_id: str, token: str, seconds: float, until: str | None = None) -> str:
    """The board's leader (by user id: `token` is an admin's) once it changes (or equals `until`), polling for at
    most `seconds`."""
    path = f"/api/events/{event_id}/leaderboard?limit=1"
    first = arena.call("GET", path, token).body["entries"][0]["user_id"]
    deadline, leader = time.monotonic() + seconds, first
    while time.monotonic() < deadline:
        leader = arena.call("GET", path, token).body["entries"][0]["user_id"]
        if (until is None and leader != first) or (until is not None and leader == until):
            break
        time.sleep(0.1)
    return leader


def test_roles_are_enforced(arena: ArenaClient) -> None:
    """Given a user and two event managers of the running stack
    When each tries what its role may not do, and requests come without a valid token
    Then the user may not create events or post trades, a manager may not manage another's event, and no token is
    401."""
    run = f"roles-{int(time.time() * 1000)}"
    now = datetime.now(UTC)
    event = {
        "name": "Role check",
        "start_at": iso(now + timedelta(hours=1)),
        "end_at": iso(now + timedelta(hours=2)),
    }
    user = arena.token(f"{run}-user", ["user"])
    manager_a = arena.token(f"{run}-manager-a", ["event-manager"])
    manager_b = arena.token(f"{run}-manager-b", ["event-manager"])

    # A user cannot create events
    refused = arena.call("POST", "/api/events", user, event)
    assert refused.status == 403 and refused.body["error"]["code"] == "forbidden_role"

    # An event manager manages its own event, not another's
    own = arena.call("POST", "/api/events", manager_a, event)
    assert own.status == 201, own.body
    path = f"/api/events/{own.body['id']}"
    assert arena.call("PATCH", path, manager_a, {"version": 1, "name": "Renamed by owner"}).status == 200
    foreign = arena.call("PATCH", path, manager_b, {"version": 2, "name": "Hijacked"})
    assert foreign.status == 403 and foreign.body["error"]["code"] == "not_event_manager"
    assert arena.call("POST", f"{path}/cancel", manager_b, {"reason": "not mine"}).status == 403

    # A user cannot post trades
    trade = TradeSimulator([f"{run}-user"], seed=1).trade(now)
    posted = arena.call("POST", "/api/trades", user, {"trades": [trade]})
    assert posted.status == 403

    # And without a token API Gateway's authorizer answers 401 before any function runs
    assert arena.call("GET", "/api/events").status == 401
    assert arena.call("GET", "/api/events", "not-a-jwt").status == 401
