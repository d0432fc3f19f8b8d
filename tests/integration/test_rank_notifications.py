"""RanksChanged and MilestoneReached on moto, from the real fan-out handlers (push_leaderboard, push_activity) fed
by the leaderboard and participants streams: published once per snapshot generation / per (event, user,
milestone), for every participant in the watched top whether connected or not, with the documented detail."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import trade
from tests.integration.test_lifecycle import Bus
from tests.integration.test_realtime import Realtime, _event, realtime  # noqa: F401 - the fixture

TWO_PRIZES = [{"rank_from": 1, "rank_to": 2, "type": "points", "amount": "100"}]
QUALIFY_ON_FIRST_TRADE = {"min_volume": "0", "min_trades": 1}


def _ranks(bus: Bus) -> list[dict[str, Any]]:
    return [d for name, d in bus.drain() if name == "RanksChanged"]


def _moves(detail: dict[str, Any]) -> dict[str, tuple[list[str], int | None, int | None]]:
    return {m["user_id"]: (m["changes"], m["previous_rank"], m["rank"]) for m in detail["moves"]}


def test_rank_moves_are_published_once_per_generation_with_their_meaning(
    realtime: Realtime,  # noqa: F811 - the fixture imported above
) -> None:
    """Given an event paying two places, whose participants are not connected
    When ann and bob trade, then cid takes the top, then bob jumps from third to first
    Then each generation publishes one RanksChanged with only its meaningful moves: entering the prize zone and the
    top 10, leaving the zone, passing the rival directly ahead (named); a redelivered leaderboard batch publishes
    nothing again."""
    arena, bus = realtime.arena, Bus()
    event_id = _event(arena, ["ann", "bob", "cid"], prizes=TWO_PRIZES, qualification=QUALIFY_ON_FIRST_TRADE)
    bus.drain()

    arena.ingest([trade(f"A-{u}", u, "2026-12-01T09:00:00Z", price=p) for u, p in [("ann", "300"), ("bob", "200")]])
    realtime.settle()
    [first] = _ranks(bus)
    assert (first["event_id"], first["part"], first["parts"], first["previous_generation"]) == (event_id, 1, 1, None)
    assert _moves(first) == {
        "ann": (["entered_prize_zone", "entered_top_10"], None, 1),
        "bob": (["entered_prize_zone", "entered_top_10"], None, 2),
    }
    assert first["moves"][0]["prize_rank"] == 1 and first["moves"][0]["previous_prize_rank"] is None

    arena.ingest([trade("B-cid", "cid", "2026-12-01T09:10:00Z", price="500")])
    realtime.settle()
    [second] = _ranks(bus)
    assert second["previous_generation"] == first["generation"] < second["generation"]
    assert _moves(second) == {
        "cid": (["entered_prize_zone", "entered_top_10"], None, 1),
        "bob": (["left_prize_zone"], 2, 3),
    }  # ann moved from 1 to 2 but stays in the zone and the top 10: nothing meaningful

    arena.ingest([trade("C-bob", "bob", "2026-12-01T09:20:00Z", price="2000")])
    realtime.settle()
    [third] = _ranks(bus)
    moves = {m["user_id"]: m for m in third["moves"]}
    assert moves["bob"]["changes"] == ["entered_prize_zone", "passed_rival"]
    assert moves["bob"]["rival_user_id"] == "ann" and (moves["bob"]["previous_rank"], moves["bob"]["rank"]) == (3, 1)
    assert moves["ann"]["changes"] == ["left_prize_zone"]
    assert "cid" not in moves

    # The same leaderboard batch delivered again: nothing is published twice.
    handler, batch = next((h, b) for h, b in reversed(realtime.delivered) if h.__module__.endswith("push_leaderboard"))
    handler(batch, arena.context)
    assert _ranks(bus) == []


def test_personal_milestones_are_published_once_each(
    realtime: Realtime,  # noqa: F811 - the fixture imported above
) -> None:
    """Given a participant (not connected) of an event that qualifies on two trades
    When they trade once, then again, and the participants batch is delivered again
    Then MilestoneReached is published for first_trade, then qualified and prize_zone, each once, with
    {event_id, user_id, milestone} (prize_zone also with the prize rank)."""
    arena, bus = realtime.arena, Bus()
    event_id = _event(arena, ["ann"], qualification={"min_volume": "0", "min_trades": 2})
    bus.drain()

    arena.ingest([trade("M-1", "ann", "2026-12-01T09:00:00Z")])
    realtime.settle()
    first = [d for name, d in bus.drain() if name == "MilestoneReached"]
    assert first == [{"event_id": event_id, "user_id": "ann", "milestone": "first_trade"}]

    arena.ingest([trade("M-2", "ann", "2026-12-01T09:01:00Z")])
    realtime.settle()
    for handler, batch in [(h, b) for h, b in realtime.delivered if h.__module__.endswith("push_activity")]:
        handler(batch, arena.context)  # every participants batch again
    milestones = [d for name, d in bus.drain() if name == "MilestoneReached"]
    assert milestones == [
        {"event_id": event_id, "user_id": "ann", "milestone": "qualified"},
        {"event_id": event_id, "user_id": "ann", "milestone": "prize_zone", "prize_rank": 1},
    ]


def test_admins_see_a_large_ranks_changed_as_its_number_of_moves(
    realtime: Realtime,  # noqa: F811 - the fixture imported above
) -> None:
    """Given an admin on the admin topic
    When a RanksChanged with 1,000 moves (far more than one WebSocket frame) reaches the domain-event push
    Then the admin gets one domain_event naming it, with the number of moves instead of the moves."""
    from tests.conftest import sample_event

    realtime.user("c-root", "root", "admin", groups=("admin",))
    event = sample_event("realtime/push_domain_event.json")
    moves = [
        {"user_id": f"user-{i:04d}", "changes": ["entered_top_10"], "rank": i, "previous_rank": None}
        for i in range(1, 1001)
    ]
    event["detail-type"] = "RanksChanged"
    event["detail"] = {"event_id": "01jbsampleevent0000000000", "generation": 7, "part": 1, "parts": 1, "moves": moves}
    handler = realtime.load("realtime", "push_domain_event").lambda_handler
    assert handler(event, realtime.arena.context)["posts"] == 1
    [shown] = realtime.api.to("c-root", "domain_event")
    assert (shown["data"]["name"], shown["data"]["moves"], shown["data"]["generation"]) == ("RanksChanged", 1000, 7)
