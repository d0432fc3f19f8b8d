"""Trade ingest (POST /api/trades and the SQS consumer) on moto: every valid trade counts exactly once for every
live event it belongs to, whatever the retries, repeats and concurrency.

The clock is pinned at 2026-12-01T12:00:00Z unless a test moves it; most trades here were executed that morning.
"""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from typing import Any

import pytest

from tests.conftest import api_event, sample_event
from tests.integration.conftest import DROP, Arena, Reply, trade, user_claims

MORNING = datetime(2026, 12, 1, 9, tzinfo=UTC)


def at(minutes: float) -> str:
    """An execution time `minutes` after 09:00 on the first day (always before the pinned clock)."""
    return (MORNING + timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def totals(arena: Arena, event_id: str, user_id: str) -> dict[str, Any] | None:
    reply = arena.me(event_id, user_claims(user_id))
    if reply.status == 404:
        return None
    assert reply.status == 200, reply
    body = reply.body
    return {
        "volume": Decimal(body["volume"]),
        "pnl": Decimal(body["pnl"]),
        "fees": Decimal(body["fees"]),
        "trade_count": body["trade_count"],
        "score": Decimal(body["score"]),
        "last_trade_at": body["last_trade_at"],
    }


def ok(reply: Reply) -> dict[str, Any]:
    assert reply.status == 200, reply
    return reply.body


# ------------------------------------------------------------------------------------------- the sample batch


def test_sample_batch_counts_for_joined_traders(arena: Arena) -> None:
    """Given the sample event with trader-1 and trader-2 joined, and the clock on 2026-12-03
    When events/trades/ingest_trades.json is posted
    Then all three trades are accepted and nothing else is reported."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "trader-1")
    arena.joined(event_id, "trader-2")
    arena.clock.set(datetime(2026, 12, 3, tzinfo=UTC))

    result = ok(arena.call("trades/ingest_trades", sample_event("trades/ingest_trades.json")))

    assert result == {"received": 3, "accepted": 3, "duplicates": 0, "ignored": [], "rejected": []}
    assert totals(arena, event_id, "trader-1")["trade_count"] == 2
    assert totals(arena, event_id, "trader-2")["volume"] == Decimal("12775.35")


def test_sample_batch_before_its_time_is_rejected_as_future(arena: Arena) -> None:
    """Given the clock at 2026-12-01T12:00Z When the sample batch (executed on 12-02) is posted
    Then every trade is rejected executed_in_future, by index, and nothing is counted."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "trader-1")
    result = ok(arena.call("trades/ingest_trades", sample_event("trades/ingest_trades.json")))
    assert result["accepted"] == 0
    assert [(r["index"], r["trade_id"], r["code"]) for r in result["rejected"]] == [
        (0, "T-1000001", "executed_in_future"),
        (1, "T-1000002", "executed_in_future"),
        (2, "T-1000003", "executed_in_future"),
    ]
    assert totals(arena, event_id, "trader-1")["trade_count"] == 0


# ------------------------------------------------------------------------------------------- which events count a trade


def test_trade_counts_for_every_active_event_whose_markets_and_window_match(arena: Arena) -> None:
    """Given event A (every market, all day) and event B (ETH-USDT only, from 10:00), alice joined both
    When she trades BTC at 10:30, ETH at 10:30, ETH at 09:30 (before B starts) and SOL at 11:00
    Then A counts all four; B counts only the ETH trade inside its window."""
    a = arena.new_event(markets=[], start_at="2026-12-01T00:00:00Z")["id"]
    b = arena.new_event(markets=["ETH-USDT"], start_at="2026-12-01T10:00:00Z")["id"]
    arena.joined(a, "alice")
    arena.joined(b, "alice")
    trades = [
        trade("X-1", "alice", at(90), market="BTC-USDT", quantity="1", price="100"),
        trade("X-2", "alice", at(90), market="ETH-USDT", quantity="2", price="10"),
        trade("X-3", "alice", at(30), market="ETH-USDT", quantity="3", price="10"),
        trade("X-4", "alice", at(120), market="SOL-USDT", quantity="4", price="1"),
    ]

    result = ok(arena.ingest(trades))

    assert (result["accepted"], result["duplicates"], result["ignored"], result["rejected"]) == (4, 0, [], [])
    assert totals(arena, a, "alice")["volume"] == Decimal(100 + 20 + 30 + 4)
    assert totals(arena, a, "alice")["trade_count"] == 4
    assert totals(arena, b, "alice")["volume"] == Decimal(20)
    assert totals(arena, b, "alice")["trade_count"] == 1


def test_trade_counts_only_where_the_trader_joined(arena: Arena) -> None:
    """Given two overlapping events and bob joined only the second
    When bob trades Then it counts for the second only (and is accepted)."""
    first = arena.new_event()["id"]
    second = arena.new_event()["id"]
    arena.joined(second, "bob")
    result = ok(arena.ingest([trade("B-1", "bob", at(10), quantity="2", price="5")]))
    assert (result["accepted"], result["ignored"]) == (1, [])
    assert totals(arena, first, "bob") is None
    assert totals(arena, second, "bob")["volume"] == Decimal(10)


def test_event_without_joining_counts_every_trader_automatically(arena: Arena) -> None:
    """Given an event with join_required false (so without a participant limit)
    When carol, who never joined, trades twice
    Then both trades count and she becomes a participant, joined at the ingest time."""
    event_id = arena.new_event(join_required=False, max_participants=DROP)["id"]

    result = ok(
        arena.ingest(
            [
                trade("C-1", "carol", at(0), quantity="1", price="50"),
                trade("C-2", "carol", at(5), quantity="1", price="25"),
            ]
        )
    )

    assert (result["accepted"], result["ignored"]) == (2, [])
    mine = arena.me(event_id, user_claims("carol"))
    assert mine.status == 200
    assert (Decimal(mine.body["volume"]), mine.body["trade_count"]) == (Decimal(75), 2)
    assert mine.body["joined_at"] == "2026-12-01T12:00:00.000Z"


def test_trade_of_a_trader_who_did_not_join_is_ignored_not_joined(arena: Arena) -> None:
    """Given the sample event (joining required) When dave, not a participant, trades
    Then the trade is ignored with reason not_joined and dave is still no participant."""
    event_id = arena.new_event()["id"]
    result = ok(arena.ingest([trade("D-1", "dave", at(0))]))
    assert result["accepted"] == 0
    assert result["ignored"] == [{"index": 0, "trade_id": "D-1", "reason": "not_joined"}]
    assert totals(arena, event_id, "dave") is None


def test_trade_without_any_live_event_is_ignored_no_live_event(arena: Arena) -> None:
    """Given no event at all When a trade arrives Then it is ignored with reason no_live_event."""
    result = ok(arena.ingest([trade("N-1", "erin", at(0))]))
    assert result == {
        "received": 1,
        "accepted": 0,
        "duplicates": 0,
        "ignored": [{"index": 0, "trade_id": "N-1", "reason": "no_live_event"}],
        "rejected": [],
    }


@pytest.mark.parametrize(
    ("setup", "reason"),
    [("cancelled", "no_live_event"), ("other-market", "market_not_in_event"), ("upcoming", "no_live_event")],
)
def test_trade_for_no_event_taking_trades_is_ignored(arena: Arena, setup: str, reason: str) -> None:
    """Given the only event is cancelled, or trades other markets, or has not started
    When a joined trader trades Then it is ignored, saying why (no live event; the event does not take the
    market), and nothing is counted."""
    start = "2026-12-02T00:00:00Z" if setup == "upcoming" else "2026-12-01T00:00:00Z"
    event_id = arena.new_event(start_at=start)["id"]
    arena.joined(event_id, "frank")
    if setup == "cancelled":
        assert arena.cancel_event(event_id, "halted").status == 200
    market = "DOGE-USDT" if setup == "other-market" else "BTC-USDT"

    result = ok(arena.ingest([trade("F-1", "frank", at(0), market=market)]))

    assert result["ignored"] == [{"index": 0, "trade_id": "F-1", "reason": reason}]
    assert totals(arena, event_id, "frank")["trade_count"] == 0


def test_a_joined_trader_in_a_market_the_event_does_not_take_is_not_told_not_joined(arena: Arena) -> None:
    """Given event A (BTC-USDT and ETH-USDT) that frank joined and event B (every market) he did not join
    When frank trades DOGE-USDT, which only B takes
    Then the trade is ignored for both reasons: A does not take the market, B wants him to join; not just
    "not_joined", which would tell him he never joined A."""
    joined = arena.new_event()["id"]
    arena.new_event(markets=[])
    arena.joined(joined, "frank")

    result = ok(arena.ingest([trade("F-2", "frank", at(0), market="DOGE-USDT")]))

    assert result["ignored"] == [{"index": 0, "trade_id": "F-2", "reason": "market_not_in_event,not_joined"}]
    assert totals(arena, joined, "frank")["trade_count"] == 0


def test_trade_outside_the_window_is_ignored(arena: Arena) -> None:
    """Given an event from 10:00 to 11:00, with its 5-minute grace running (clock 11:02)
    When trades executed at 09:59:59.999, 10:00, 10:59:59.999 and 11:00 arrive
    Then the start counts and the end does not: two accepted, two ignored."""
    arena.clock.set(MORNING)
    event_id = arena.new_event(start_at="2026-12-01T10:00:00Z", end_at="2026-12-01T11:00:00Z")["id"]
    arena.joined(event_id, "gina")
    arena.clock.set(datetime(2026, 12, 1, 11, 2, tzinfo=UTC))
    assert arena.get_event(event_id).body["status"] == "FINALIZING"
    trades = [
        trade("G-1", "gina", "2026-12-01T09:59:59.999Z"),
        trade("G-2", "gina", "2026-12-01T10:00:00.000Z"),
        trade("G-3", "gina", "2026-12-01T10:59:59.999Z"),
        trade("G-4", "gina", "2026-12-01T11:00:00.000Z"),
    ]

    result = ok(arena.ingest(trades))

    assert result["accepted"] == 2
    assert [(i["index"], i["reason"]) for i in result["ignored"]] == [(0, "no_live_event"), (3, "no_live_event")]
    assert totals(arena, event_id, "gina")["trade_count"] == 2


def test_late_trade_after_the_grace_is_ignored(arena: Arena) -> None:
    """Given an event that ended at 11:00 and a clock at 11:05 (grace over: COMPLETED)
    When a trade executed at 10:30 arrives Then it is ignored: the results are final."""
    arena.clock.set(MORNING)
    event_id = arena.new_event(start_at="2026-12-01T10:00:00Z", end_at="2026-12-01T11:00:00Z")["id"]
    arena.joined(event_id, "hank")
    arena.clock.set(datetime(2026, 12, 1, 11, 5, tzinfo=UTC))
    result = ok(arena.ingest([trade("H-1", "hank", "2026-12-01T10:30:00Z")]))
    assert result["ignored"] == [{"index": 0, "trade_id": "H-1", "reason": "no_live_event"}]
    assert totals(arena, event_id, "hank")["trade_count"] == 0


# ------------------------------------------------------------------------------------------- duplicates


def test_repeated_trade_in_a_later_call_is_a_duplicate(arena: Arena) -> None:
    """Given a trade already counted
    When the same trade_id arrives again (even with other amounts) in a later call
    Then it is reported as a duplicate and the totals do not move."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "ivan")
    ok(arena.ingest([trade("I-1", "ivan", at(0), quantity="2", price="10", fee="0.5")]))
    before = totals(arena, event_id, "ivan")

    again = ok(arena.ingest([trade("I-1", "ivan", at(0), quantity="2", price="10", fee="0.5")]))
    altered = ok(arena.ingest([trade("I-1", "ivan", at(1), quantity="99", price="99")]))

    assert (again["accepted"], again["duplicates"], again["ignored"]) == (0, 1, [])
    assert (altered["accepted"], altered["duplicates"], altered["ignored"]) == (0, 1, [])
    assert totals(arena, event_id, "ivan") == before
    assert before["volume"] == Decimal(20) and before["trade_count"] == 1


def test_repeated_trade_within_one_call_counts_once(arena: Arena) -> None:
    """Given a batch holding the same trade_id three times When posted
    Then one is accepted and two are duplicates; the trade counts once."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "judy")
    same = trade("J-1", "judy", at(0), quantity="3", price="7")
    result = ok(arena.ingest([same, dict(same), dict(same)]))
    assert (result["received"], result["accepted"], result["duplicates"]) == (3, 1, 2)
    assert (totals(arena, event_id, "judy")["volume"], totals(arena, event_id, "judy")["trade_count"]) == (
        Decimal(21),
        1,
    )


def test_repeated_batch_across_two_events_is_all_duplicates(arena: Arena) -> None:
    """Given a trade counted for two events When the batch is posted again
    Then it is one duplicate (not two), and neither event's totals move."""
    a, b = arena.new_event()["id"], arena.new_event()["id"]
    arena.joined(a, "kate")
    arena.joined(b, "kate")
    batch = [trade("K-1", "kate", at(0), quantity="1", price="40")]
    assert ok(arena.ingest(batch))["accepted"] == 1
    again = ok(arena.ingest(batch))
    assert (again["accepted"], again["duplicates"]) == (0, 1)
    assert totals(arena, a, "kate")["volume"] == totals(arena, b, "kate")["volume"] == Decimal(40)


# ------------------------------------------------------------------------------------------- invalid trades


def test_invalid_trades_are_rejected_by_index_while_the_valid_ones_count(arena: Arena) -> None:
    """Given a batch where trades 1, 2, 3 and 5 are invalid (negative quantity, float price, no user, unknown
    field) and 0 and 4 are valid
    When posted
    Then 200: the invalid ones are rejected with their index, id and the field at fault; the valid ones count."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "liam")
    batch: list[Any] = [
        trade("L-0", "liam", at(0), quantity="1", price="10"),
        trade("L-1", "liam", at(1), quantity="-1"),
        {**trade("L-2", "liam", at(2)), "price": 100.5},
        {k: v for k, v in trade("L-3", "liam", at(3)).items() if k != "user_id"},
        trade("L-4", "liam", at(4), quantity="2", price="10"),
        {**trade("L-5", "liam", at(5)), "leverage": "20"},
    ]

    result = ok(arena.ingest(batch))

    assert (result["received"], result["accepted"], result["ignored"]) == (6, 2, [])
    rejected = {r["index"]: r for r in result["rejected"]}
    assert sorted(rejected) == [1, 2, 3, 5]
    assert [rejected[i]["trade_id"] for i in (1, 2, 3, 5)] == ["L-1", "L-2", "L-3", "L-5"]
    assert {r["code"] for r in rejected.values()} == {"invalid_trade"}
    assert "quantity" in rejected[1]["message"]
    assert "price" in rejected[2]["message"]
    assert "user_id" in rejected[3]["message"]
    assert "leverage" in rejected[5]["message"]
    assert totals(arena, event_id, "liam")["volume"] == Decimal(30)


def test_a_trade_that_is_not_an_object_is_rejected_alone(arena: Arena) -> None:
    """Given a batch whose second item is not a JSON object (a string, a number, null)
    When posted
    Then 200: those items are rejected by index (trade_id null) and the valid trade around them still counts,
    as for any other invalid trade."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "lena")
    batch: list[Any] = [trade("LE-0", "lena", at(0), quantity="1", price="10"), "not a trade", 7, None]

    result = ok(arena.ingest(batch))

    assert result["accepted"] == 1
    assert [(r["index"], r["trade_id"], r["code"]) for r in result["rejected"]] == [
        (1, None, "invalid_trade"),
        (2, None, "invalid_trade"),
        (3, None, "invalid_trade"),
    ]
    assert totals(arena, event_id, "lena")["volume"] == Decimal(10)


def test_trade_in_the_future_is_rejected(arena: Arena) -> None:
    """Given the clock at 12:00 and 5 minutes of allowed clock skew
    When trades executed at 12:05:00.000 and 12:05:00.001 arrive
    Then the first counts and the second is rejected executed_in_future."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "mona")
    result = ok(
        arena.ingest(
            [trade("M-1", "mona", "2026-12-01T12:05:00.000Z"), trade("M-2", "mona", "2026-12-01T12:05:00.001Z")]
        )
    )
    assert result["accepted"] == 1
    assert [(r["index"], r["trade_id"], r["code"]) for r in result["rejected"]] == [(1, "M-2", "executed_in_future")]
    assert totals(arena, event_id, "mona")["trade_count"] == 1


def test_more_than_500_trades_is_422(arena: Arena) -> None:
    """Given a batch of 501 valid trades When posted Then 422 validation_failed, and none of them counts."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "nick")
    reply = arena.ingest([trade(f"N-{i}", "nick", at(i / 10)) for i in range(501)])
    assert (reply.status, reply.code) == (422, "validation_failed")
    assert [d["field"] for d in reply.body["error"]["details"]] == ["body.trades"]
    assert totals(arena, event_id, "nick")["trade_count"] == 0


@pytest.mark.parametrize("body", [{"trades": []}, {}, {"trades": "T-1"}, {"trades": [], "extra": 1}])
def test_malformed_batches_are_422(arena: Arena, body: dict[str, Any]) -> None:
    """Given an empty or malformed batch When posted Then 422 validation_failed."""
    reply = arena.call("trades/ingest_trades", api_event("trades/ingest_trades.json", body=body))
    assert reply.status == 422


def test_malformed_json_batch_is_400(arena: Arena) -> None:
    """Given a body that is not JSON When posted to /api/trades Then 400 invalid_json."""
    reply = arena.call("trades/ingest_trades", api_event("trades/ingest_trades.json", body='{"trades": [}'))
    assert (reply.status, reply.code) == (400, "invalid_json")


@pytest.mark.parametrize("claims", [user_claims("trader-1"), {"sub": "admin-1", "cognito:groups": "[admin]"}])
def test_only_the_trade_feed_may_post_trades(arena: Arena, claims: dict[str, Any]) -> None:
    """Given a trader's (or an admin's) token When they post trades Then 403 forbidden_role, nothing counted."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "trader-1")
    event = api_event("trades/ingest_trades.json", body={"trades": [trade("U-1", "trader-1", at(0))]}, claims=claims)
    event["requestContext"]["authorizer"]["jwt"]["scopes"] = None
    reply = arena.call("trades/ingest_trades", event)
    assert (reply.status, reply.code) == (403, "forbidden_role")
    assert totals(arena, event_id, "trader-1")["trade_count"] == 0


# ------------------------------------------------------------------------------------------- exact amounts


def test_totals_are_exact_decimals(arena: Arena) -> None:
    """Given trades of 0.1 and 0.2 (inexact as binary floats), with fees and pnl of the same kind
    When counted Then volume is exactly 0.3, fees 0.3, pnl -0.2, and ten more 0.1s make exactly 1.3."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "olga")
    ok(
        arena.ingest(
            [
                trade("O-1", "olga", at(0), quantity="0.1", price="1", fee="0.1", realized_pnl="0.1"),
                trade("O-2", "olga", at(1), quantity="0.2", price="1", fee="0.2", realized_pnl="-0.3"),
            ]
        )
    )
    mine = arena.me(event_id, user_claims("olga")).body
    assert (Decimal(mine["volume"]), Decimal(mine["fees"]), Decimal(mine["pnl"])) == (
        Decimal("0.3"),
        Decimal("0.3"),
        Decimal("-0.2"),
    )
    assert mine["volume"] in ("0.3", "0.30")  # a string, exact, never 0.30000000000000004

    ok(arena.ingest([trade(f"O-t{i}", "olga", at(2 + i), quantity="0.1", price="1") for i in range(10)]))
    assert totals(arena, event_id, "olga")["volume"] == Decimal("1.3")


def test_volume_of_a_precise_trade_is_exact(arena: Arena) -> None:
    """Given a trade whose quantity x price has 34 significant digits (well within DynamoDB's 38)
    When counted Then the volume is that exact product, not one rounded to 28 digits."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "pete")
    quantity, price = "123456789.123456789", "98765.4321987654321"
    with localcontext() as exact:
        exact.prec = 100
        expected = Decimal(quantity) * Decimal(price)
    assert len(expected.as_tuple().digits) <= 38

    ok(arena.ingest([trade("P-1", "pete", at(0), quantity=quantity, price=price)]))

    assert totals(arena, event_id, "pete")["volume"] == expected


def test_more_than_99_trades_for_one_trader_count_each_once(arena: Arena) -> None:
    """Given one trader with 150 trades in one batch (more than one 100-action transaction holds)
    and another trader with 3
    When posted, then posted again
    Then all 153 count once with the exact sums; the second post is 153 duplicates and changes nothing."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "quinn")
    arena.joined(event_id, "rosa")
    many = [trade(f"Q-{i:03d}", "quinn", at(i / 2), quantity=f"0.{i:03d}1", price="3") for i in range(150)]
    few = [trade(f"R-{i}", "rosa", at(i), quantity="1", price="1") for i in range(3)]
    random.Random(7).shuffle(many)
    expected = sum((Decimal(t["quantity"]) * 3 for t in many), Decimal(0))

    first = ok(arena.ingest(many + few))
    mine = totals(arena, event_id, "quinn")
    second = ok(arena.ingest(few + many))

    assert (first["accepted"], first["duplicates"]) == (153, 0)
    assert (mine["trade_count"], mine["volume"]) == (150, expected)
    assert mine["last_trade_at"] == "2026-12-01T10:14:30.000Z"  # the latest execution, whatever the order sent
    assert (second["accepted"], second["duplicates"]) == (0, 153)
    assert totals(arena, event_id, "quinn") == mine
    assert totals(arena, event_id, "rosa")["trade_count"] == 3


def test_concurrent_overlapping_batches_count_each_trade_once(arena: Arena) -> None:
    """Given three joined traders and 90 distinct trades
    When 4 threads (4 warm Lambda containers) post overlapping random batches of them at the same time
    Then every trade is accepted by exactly one call, and each trader's totals are exactly those of their
    unique trades."""
    event_id = arena.new_event()["id"]
    users = ["sam", "tess", "uma"]
    for user in users:
        arena.joined(event_id, user)
    pool = [
        trade(
            f"Z-{u}-{i:02d}", u, at(i + n / 10), quantity=f"{i + 1}.{n}1", price="2", fee="0.01", realized_pnl=f"-{i}.5"
        )
        for n, u in enumerate(users)
        for i in range(30)
    ]
    plans: list[list[list[dict[str, Any]]]] = []
    for worker in range(4):
        rng = random.Random(worker)
        mine = rng.sample(pool, 60) + pool[worker::4]  # every trade is in at least one worker's share
        rng.shuffle(mine)
        plans.append([mine[k : k + 25] for k in range(0, len(mine), 25)])
    modules = [arena._load("trades", "ingest_trades", fresh=True) for _ in plans]
    barrier = threading.Barrier(len(plans))
    replies: list[Reply] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def post(plan: list[list[dict[str, Any]]], module: Any) -> None:
        try:
            barrier.wait(timeout=120)
            for batch in plan:
                reply = arena.ingest(batch, module=module)
                with lock:
                    replies.append(reply)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=post, args=(plan, module)) for plan, module in zip(plans, modules, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)  # generous: a loaded machine is slow, and a reply still missing would be miscounted

    assert not [thread for thread in threads if thread.is_alive()], "a poster is still running"
    assert not failures, failures
    assert len(replies) == sum(len(plan) for plan in plans)
    assert all(reply.status == 200 for reply in replies), [r for r in replies if r.status != 200][:1]
    assert sum(r.body["accepted"] for r in replies) == len(pool)
    assert all(r.body["accepted"] + r.body["duplicates"] == r.body["received"] for r in replies)
    expected: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"volume": Decimal(0), "pnl": Decimal(0), "fees": Decimal(0), "trade_count": 0}
    )
    for t in pool:
        e = expected[t["user_id"]]
        e["volume"] += Decimal(t["quantity"]) * Decimal(t["price"])
        e["pnl"] += Decimal(t["realized_pnl"])
        e["fees"] += Decimal(t["fee"])
        e["trade_count"] += 1
    for user in users:
        got = totals(arena, event_id, user)
        assert {k: got[k] for k in ("volume", "pnl", "fees", "trade_count")} == expected[user], user


# ------------------------------------------------------------------------------------------- the SQS consumer


def test_queue_consumer_reports_the_bad_message_and_counts_the_good_one(arena: Arena) -> None:
    """Given trader-1 and trader-2 in the sample event, clock on 2026-12-03
    When events/trades/consume_trade_queue.json (one trade batch, one body that is no JSON) is consumed,
    then delivered again
    Then only the bad message is in batchItemFailures, both times; the good one's trades count once."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "trader-1")
    arena.joined(event_id, "trader-2")
    arena.clock.set(datetime(2026, 12, 3, tzinfo=UTC))
    consumer = arena._load("trades", "consume_trade_queue")
    failures = {"batchItemFailures": [{"itemIdentifier": "5f2c6d3e-0000-4000-8000-000000000002"}]}

    first = consumer.lambda_handler(sample_event("trades/consume_trade_queue.json"), arena.context)
    after_first = {u: totals(arena, event_id, u) for u in ("trader-1", "trader-2")}
    second = consumer.lambda_handler(sample_event("trades/consume_trade_queue.json"), arena.context)

    assert first == failures
    assert second == failures
    assert after_first["trader-1"]["trade_count"] == 2
    assert after_first["trader-1"]["volume"] == Decimal("48125.125")
    assert after_first["trader-2"]["volume"] == Decimal("12775.35")
    assert {u: totals(arena, event_id, u) for u in ("trader-1", "trader-2")} == after_first


def test_queue_message_with_an_invalid_trade_is_not_retried(arena: Arena) -> None:
    """Given a queue message whose batch holds one valid and one invalid trade
    When consumed Then the message succeeds (retrying cannot fix the bad trade) and the valid trade counts."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "vera")
    message = sample_event("trades/consume_trade_queue.json")
    record = message["Records"][0]
    record["body"] = json.dumps(
        {"trades": [trade("V-1", "vera", at(0), quantity="5", price="2"), trade("V-2", "vera", at(1), side="hold")]}
    )
    message["Records"] = [record]
    consumer = arena._load("trades", "consume_trade_queue")

    assert consumer.lambda_handler(message, arena.context) == {"batchItemFailures": []}
    assert totals(arena, event_id, "vera")["volume"] == Decimal(10)
