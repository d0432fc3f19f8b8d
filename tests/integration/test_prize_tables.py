"""Prize tables through the API on moto: every tier kind created and changed by the event routes, the tables the
distribution could not pay refused up front, a distribution of shared + pro rata + growing tiers under a cap, and a
tie at a prize boundary (frozen by the real lifecycle) splitting the tied prizes equally."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.integration.conftest import Arena, trade
from tests.integration.test_distribution import NOON, OPEN, _iso, balances, distribute, validate

LATER = {"start_at": _iso(NOON + timedelta(hours=1)), "end_at": _iso(NOON + timedelta(hours=2))}
EACH = {"rank_from": 1, "rank_to": 1, "type": "token", "token": "USDT", "amount": "500"}
SHARED = {"rank_from": 2, "rank_to": 4, "type": "points", "split": "shared", "pool": "900"}
PRO_RATA = {"rank_from": 5, "rank_to": 20, "type": "token", "token": "USDT", "split": "pro_rata", "pool": "1000"}
GROWING = {
    "rank_from": 21,
    "rank_to": 50,
    "type": "points",
    "split": "growing",
    "base": "100",
    "per_participant": "2.5",
    "maximum": "1000",
    "pool_split": "pro_rata",
}
CUSTOM = {"rank_from": 51, "rank_to": 51, "type": "custom", "description": "Signed hardware wallet"}


def _create(arena: Arena, prizes: list[dict[str, Any]], settings: dict[str, Any] | None = None) -> Any:
    extra = {} if settings is None else {"prize_settings": settings}
    return arena.create_event(prizes=prizes, qualification=OPEN, claim={"mode": "auto"}, **LATER, **extra)


def _problems(reply: Any) -> list[str]:
    assert (reply.status, reply.code) == (422, "invalid_prize_table"), reply
    return reply.body["error"]["details"]["problems"]


def _fields(reply: Any) -> list[str]:
    assert (reply.status, reply.code) == (422, "validation_failed"), reply
    return [f"{d['field']}: {d['message']}" for d in reply.body["error"]["details"]]


# ---------------------------------------------------------------------------------------------- create and read


def test_an_event_with_every_tier_kind_reads_back_as_sent(arena: Arena) -> None:
    """Given a prize table with an each, a shared, a pro rata, a growing and a custom tier, sent out of rank order,
    and settings with a cap per currency and one quantum
    When an admin creates the event and reads it back
    Then 201, the tiers come back in rank order with their split and amounts as decimal strings, an old-style tier
    reads as split each, and the settings are kept as sent."""
    settings = {"cap_per_user": {"points": "5000", "token:USDT": "100"}, "quantum": "0.01"}
    reply = _create(arena, [GROWING, CUSTOM, SHARED, EACH, PRO_RATA], settings)
    assert reply.status == 201, reply
    read = arena.get_event(reply.body["id"]).body
    for event in (reply.body, read):
        assert [t["split"] for t in event["prizes"]] == ["each", "shared", "pro_rata", "growing", "each"]
        # the fields a split does not take read back as null
        assert {k: v for k, v in event["prizes"][1].items() if v is not None} == SHARED
        assert event["prizes"][1]["amount"] is None
        growing = event["prizes"][3]
        assert (growing["base"], growing["per_participant"], growing["maximum"], growing["pool_split"]) == (
            "100",
            "2.5",
            "1000",
            "pro_rata",
        )
        assert event["prize_settings"] == settings


def test_an_event_without_settings_gets_empty_ones(arena: Arena) -> None:
    """Given the sample event body (old-style tiers, no prize_settings) When created Then 201, each tier's split is
    each and the settings are empty (no cap, the default quantum)."""
    reply = arena.create_event()
    assert reply.status == 201, reply
    assert {t["split"] for t in reply.body["prizes"]} == {"each"}
    assert reply.body["prize_settings"] == {"cap_per_user": None, "quantum": None}


def test_tiers_that_break_their_split_are_422_naming_the_field(arena: Arena) -> None:
    """Given tiers missing their pool, mixing splits, a custom tier with a pool, a pool as a JSON number, or a cap
    keyed by an unknown currency
    When an admin creates the event
    Then 422 validation_failed, each naming the field and the rule."""
    cases = [
        ([{**SHARED, "pool": None}], None, "split shared needs a pool"),
        ([{**PRO_RATA, "amount": "5"}], None, "split pro_rata takes no amount"),
        ([{**CUSTOM, "split": "shared", "pool": "3"}], None, "a custom prize is one unit per rank: only split each"),
        ([{**SHARED, "pool": 900.5}], None, "send a decimal string"),
        ([{**GROWING, "maximum": "50"}], None, "the maximum must be at least the base"),
        ([SHARED], {"cap_per_user": {"USDT": "10"}}, '"points" or "token:<SYMBOL>"'),
        ([SHARED], {"quantum": 0.01}, "send a decimal string"),
    ]
    for prizes, settings, message in cases:
        fields = _fields(_create(arena, prizes, settings))
        assert any(message in f for f in fields), (message, fields)
    fields = _fields(_create(arena, [SHARED], {"cap_per_user": {"USDT": "10"}}))
    assert fields[0].startswith("body.prize_settings.cap_per_user"), fields


def test_a_table_the_distribution_could_not_pay_is_refused_at_creation(arena: Arena) -> None:
    """Given tables that are well-formed but unpayable under their settings: an amount off the quantum, a shared
    pool whose per-rank share is below the quantum, a cap below the quantum, a cap for a currency nothing pays
    When an admin creates the event
    Then 422 invalid_prize_table listing every problem by tier, and no event is created."""
    problems = _problems(
        _create(
            arena,
            [{**EACH, "amount": "500.005"}, {**SHARED, "pool": "0.02"}],
            {"quantum": "0.01", "cap_per_user": {"points": "0.001", "token:BTC": "1"}},
        )
    )
    assert problems == [
        "prizes[0] (ranks 1-1): the amount 500.005 is not a multiple of the quantum 0.01",
        "prizes[1] (ranks 2-4): each rank's share of the pool is below the quantum 0.01",
        "points: the cap per user must be a decimal of at least the quantum 0.01",
        "prize_settings.cap_per_user names token:BTC, which no prize tier pays",
    ]
    assert arena.list_events({}).body["items"] == []
    overlapping = _fields(_create(arena, [SHARED, {**GROWING, "rank_from": 4}]))
    assert any("prize tiers overlap at rank 4" in f for f in overlapping), overlapping


# ---------------------------------------------------------------------------------------------- update


def test_tiers_and_settings_change_together_and_are_checked_together(arena: Arena) -> None:
    """Given an upcoming event paying 500.5 USDT to rank 1
    When its manager patches only the quantum to 1, then the tiers to a shared and a growing pool, then the quantum
    Then the first patch is 422 (it would make the stored amount unpayable) and changes nothing, the second is 200
    with the new tiers, the third 200 with the new quantum and cap, and a shared pool too small for that quantum
    is then refused."""
    event = _create(arena, [{**EACH, "amount": "500.5"}]).body
    event_id = event["id"]

    problems = _problems(arena.update_event(event_id, {"version": 1, "prize_settings": {"quantum": "1"}}))
    assert problems == ["prizes[0] (ranks 1-1): the amount 500.5 is not a multiple of the quantum 1"]
    assert arena.get_event(event_id).body["version"] == 1

    reply = arena.update_event(event_id, {"version": 1, "prizes": [SHARED, GROWING]})
    assert reply.status == 200, reply
    assert [(t["split"], t["rank_from"]) for t in reply.body["prizes"]] == [("shared", 2), ("growing", 21)]

    settings = {"quantum": "0.5", "cap_per_user": "200"}
    reply = arena.update_event(event_id, {"version": 2, "prize_settings": settings})
    assert reply.status == 200, reply
    assert reply.body["prize_settings"] == settings
    assert arena.get_event(event_id).body["prize_settings"] == settings

    problems = _problems(arena.update_event(event_id, {"version": 3, "prizes": [{**SHARED, "pool": "1"}]}))
    assert problems == ["prizes[0] (ranks 2-4): each rank's share of the pool is below the quantum 0.5"]


def test_prize_settings_are_frozen_once_the_event_has_started(arena: Arena) -> None:
    """Given an ACTIVE event (the sample starts before the clock) When its manager changes the prize settings
    Then 409 event_started naming prize_settings."""
    event = arena.new_event()
    reply = arena.update_event(event["id"], {"version": 1, "prize_settings": {"cap_per_user": "100"}})
    assert (reply.status, reply.code) == (409, "event_started"), reply
    assert reply.body["error"]["details"] == {"fields": ["prize_settings"]}


# ---------------------------------------------------------------------------------------------- distribution


def _completed(
    arena: Arena, prizes: list[dict[str, Any]], settings: dict[str, Any], crowd: list[tuple[str, str]]
) -> str:
    """An event with this table, COMPLETED with the crowd's results frozen (everyone qualified, nobody tied)."""
    from arena.domain.events import EventStatus
    from arena.store import events as event_store
    from arena.store import results

    reply = _create(arena, prizes, settings)
    assert reply.status == 201, reply
    event_id = reply.body["id"]
    results.write(
        event_id,
        [
            {
                "rank": rank,
                "prize_rank": rank,
                "user_id": user,
                "score": Decimal(score),
                "trade_count": 1,
                "qualified": True,
                "rule": "score desc, earliest reached, earliest joined",
                "generation": 1,
                "frozen_at": _iso(NOON),
            }
            for rank, (user, score) in enumerate(crowd, start=1)
        ],
    )
    assert event_store.set_status(event_id, tuple(EventStatus), EventStatus.COMPLETED, NOON) is not None
    return event_id


def test_shared_pro_rata_and_growing_pools_under_a_cap_pay_to_the_cent(arena: Arena) -> None:
    """Given 8 qualified traders and, in points at a quantum of 0.01 with a cap of 400 per user:
    ranks 1-2 share 1000; ranks 3-5 share 100 pro rata by score (300, 200, 100); ranks 6-10 share equally a pool
    growing from 10 by 5 per participant up to 45
    When the prizes are distributed
    Then ann and bob get 400 (500 capped), cid 50, dan 33.33, eve 16.66 (rounded down), fay, gus and hal 9 each
    (45 / 5 ranks; 10 + 5 * 8 = 50 capped at 45), the treasury gets 200 of cap excess + 0.01 of dust + 18 of
    unfilled ranks, and the amounts paid plus the treasury are the 1145 put up, exactly."""
    table = [
        {"rank_from": 1, "rank_to": 2, "type": "points", "split": "shared", "pool": "1000"},
        {"rank_from": 3, "rank_to": 5, "type": "points", "split": "pro_rata", "pool": "100"},
        {
            "rank_from": 6,
            "rank_to": 10,
            "type": "points",
            "split": "growing",
            "base": "10",
            "per_participant": "5",
            "maximum": "45",
        },
    ]
    crowd = [("ann", "900"), ("bob", "800"), ("cid", "300"), ("dan", "200"), ("eve", "100")]
    crowd += [("fay", "50"), ("gus", "40"), ("hal", "30")]
    event_id = _completed(arena, table, {"quantum": "0.01", "cap_per_user": {"points": "400"}}, crowd)

    dry = validate(arena, event_id).body
    assert dry["ok"] is True, dry
    assert (dry["pool_total"], dry["paid"], dry["treasury"]) == (
        {"points": "1145"},
        {"points": "926.99"},
        {"points": "218.01"},
    )
    reply = distribute(arena, event_id)
    assert (reply.status, reply.body["status"]) == (201, "COMPLETED"), reply

    paid = {account.removeprefix("user:"): amount for account, amount in balances().items() if account[:5] == "user:"}
    assert paid == {
        "ann": Decimal("400"),
        "bob": Decimal("400"),
        "cid": Decimal("50"),
        "dan": Decimal("33.33"),
        "eve": Decimal("16.66"),
        "fay": Decimal("9"),
        "gus": Decimal("9"),
        "hal": Decimal("9"),
    }
    treasury = balances()["treasury"]
    assert treasury == Decimal("218.01")
    assert sum(paid.values()) + treasury == Decimal("1145") == -balances()["issuance"]
    assert balances().get(f"event-pool:{event_id}", Decimal(0)) == 0


def test_two_traders_tied_across_a_prize_boundary_split_the_two_prizes(arena: Arena) -> None:
    """Given 1000 for rank 1, 300 for rank 2, 100 for rank 3 and 10 for rank 4; ann trades most; bob and cid trade
    the same volume at the same millisecond; dan reaches that volume a second later
    When the event completes by the minute sweep and its prizes are distributed
    Then the frozen results put bob and cid in tie group 2 (dan, later, in none), bob and cid get 200 each (half
    of rank 2's 300 and half of rank 3's 100), dan gets 10 and ann 1000."""
    from arena.services import ledger
    from arena.store import results

    prizes = [
        {"rank_from": rank, "rank_to": rank, "type": "points", "amount": amount}
        for rank, amount in ((1, "1000"), (2, "300"), (3, "100"), (4, "10"))
    ]
    event_id = arena.new_event(
        start_at=_iso(NOON - timedelta(hours=1)),
        end_at=_iso(NOON + timedelta(hours=1)),
        qualification=OPEN,
        prizes=prizes,
        claim={"mode": "auto"},
    )["id"]
    for user, quantity, at in (
        ("ann", "5", "2026-12-01T12:00:00Z"),
        ("bob", "2", "2026-12-01T12:00:00Z"),
        ("cid", "2", "2026-12-01T12:00:00Z"),
        ("dan", "2", "2026-12-01T12:00:01Z"),
    ):
        arena.joined(event_id, user)
        assert arena.ingest([trade(f"T-{user}", user, at, quantity=quantity)]).body["accepted"]
    arena.stream.drain()
    arena.clock.set(NOON + timedelta(hours=2))
    sweep = arena._load("lifecycle", "check_event_status_transitions").lambda_handler({}, arena.context)
    assert sweep["moved"][event_id][-1] == "FINALIZING->COMPLETED"

    frozen = {r["user_id"]: (r["rank"], r.get("tie_group")) for r in results.read(event_id)}
    assert frozen["ann"] == (1, None) and frozen["dan"] == (4, None)
    assert {frozen["bob"], frozen["cid"]} == {(2, 2), (3, 2)}

    dry = validate(arena, event_id).body
    # one award per (user, tier): each tied trader gets half of rank 2's prize and half of rank 3's
    assert sorted((a["user_id"], a["rule_index"], a["prize_rank"], a["amount"]) for a in dry["awards"]) == [
        ("ann", 0, 1, "1000"),
        ("bob", 1, 2, "150"),
        ("bob", 2, 2, "50"),
        ("cid", 1, 2, "150"),
        ("cid", 2, 2, "50"),
        ("dan", 3, 4, "10"),
    ]
    assert distribute(arena, event_id).status == 201
    got = {user: ledger.balance(f"user:{user}") for user in ("ann", "bob", "cid", "dan")}
    assert got == {"ann": Decimal(1000), "bob": Decimal(200), "cid": Decimal(200), "dan": Decimal(10)}
