"""Joining an event and reading one's own participation, with the events/participants/ payloads, on moto.

The sample event needs KYC level 1 and excludes market makers; the sample trader (trader-1) has KYC level 2
and a retail account. The clock is pinned at 2026-12-01T12:00:00Z, so the sample event is ACTIVE.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.conftest import api_event, sample_event
from tests.integration.conftest import ADMIN, Arena, manager_claims, user_claims

ZERO_TOTALS = {
    "score": "0",
    "volume": "0",
    "pnl": "0",
    "fees": "0",
    "trade_count": 0,
    "first_trade_at": None,
    "last_trade_at": None,
    "qualified": False,  # the sample event asks for 1000 volume and 5 trades
    "disqualified": False,
    "disqualified_reason": None,
}


def _join_sample(arena: Arena, event_id: str):  # type: ignore[no-untyped-def]
    return arena.call("participants/join_event", api_event("participants/join_event.json", path={"eventId": event_id}))


def test_join_is_201_then_200_and_counted_once(arena: Arena) -> None:
    """Given the sample event and trader-1 (events/participants/join_event.json)
    When trader-1 joins, then joins again
    Then 201 with zero totals, then 200 with the same participation; the event counts one participant."""
    event_id = arena.new_event()["id"]

    first = _join_sample(arena, event_id)
    arena.clock.set(datetime(2026, 12, 1, 13, tzinfo=UTC))
    again = _join_sample(arena, event_id)

    assert first.status == 201, first
    assert first.body == {
        "event_id": event_id,
        "user_id": "trader-1",
        "joined_at": "2026-12-01T12:00:00.000Z",
        **ZERO_TOTALS,
    }
    assert again.status == 200
    assert again.body == first.body  # joined_at is the first join's time
    assert arena.get_event(event_id).body["participant_count"] == 1


def test_upcoming_event_can_be_joined(arena: Arena) -> None:
    """Given an event that starts tomorrow When a trader joins Then 201."""
    event_id = arena.new_event(start_at="2026-12-02T00:00:00Z")["id"]
    assert arena.get_event(event_id).body["status"] == "UPCOMING"
    assert arena.join(event_id, user_claims("early-bird")).status == 201


def test_full_event_refuses_the_fourth_user(arena: Arena) -> None:
    """Given an event limited to 3 participants with 3 joined
    When a 4th user joins Then 409 event_full, the count stays 3 and the 4th is no participant;
    When one of the three joins again Then 200 (a repeat is not a new seat)."""
    event_id = arena.new_event(max_participants=3)["id"]
    for user in ("u1", "u2", "u3"):
        assert arena.join(event_id, user_claims(user)).status == 201

    fourth = arena.join(event_id, user_claims("u4"))

    assert (fourth.status, fourth.code) == (409, "event_full")
    assert arena.get_event(event_id).body["participant_count"] == 3
    assert arena.me(event_id, user_claims("u4")).status == 404
    assert arena.join(event_id, user_claims("u2")).status == 200


def test_kyc_too_low_is_403_not_eligible(arena: Arena) -> None:
    """Given the sample event (KYC level 1 required) When a level-0 trader joins
    Then 403 not_eligible naming the rule and both levels, and nobody is counted."""
    event_id = arena.new_event()["id"]
    reply = arena.join(event_id, user_claims("newcomer", kyc_level="0"))
    assert (reply.status, reply.code) == (403, "not_eligible")
    assert reply.body["error"]["details"] == {"rule": "min_kyc_level", "required": 1, "actual": 0}
    assert arena.get_event(event_id).body["participant_count"] == 0


def test_missing_kyc_claim_counts_as_level_zero(arena: Arena) -> None:
    """Given the sample event When a trader without a custom:kyc_level claim joins Then 403 not_eligible."""
    event_id = arena.new_event()["id"]
    claims = user_claims("no-kyc")
    del claims["custom:kyc_level"]
    assert arena.join(event_id, claims).code == "not_eligible"


def test_excluded_account_type_is_403(arena: Arena) -> None:
    """Given the sample event (market makers excluded) When a market maker joins Then 403 not_eligible."""
    event_id = arena.new_event()["id"]
    reply = arena.join(event_id, user_claims("mm-1", account_type="market_maker"))
    assert (reply.status, reply.code) == (403, "not_eligible")
    assert reply.body["error"]["details"] == {"rule": "excluded_account_types", "account_type": "market_maker"}


def test_cancelled_event_is_409(arena: Arena) -> None:
    """Given a cancelled event When a trader joins Then 409 event_not_open."""
    event_id = arena.new_event()["id"]
    assert arena.cancel_event(event_id, "halted").status == 200
    reply = _join_sample(arena, event_id)
    assert (reply.status, reply.code) == (409, "event_not_open")
    assert arena.get_event(event_id).body["participant_count"] == 0


@pytest.mark.parametrize(
    ("moment", "status"),
    [(datetime(2026, 12, 15, 0, 1, tzinfo=UTC), "FINALIZING"), (datetime(2026, 12, 20, tzinfo=UTC), "COMPLETED")],
)
def test_ended_event_is_409(arena: Arena, moment: datetime, status: str) -> None:
    """Given the sample event after its end (in the grace period, or completed) When a trader joins
    Then 409 event_not_open naming the status."""
    event_id = arena.new_event()["id"]
    arena.clock.set(moment)
    reply = _join_sample(arena, event_id)
    assert (reply.status, reply.code) == (409, "event_not_open")
    assert status in reply.body["error"]["message"]


@pytest.mark.parametrize(
    "claims",
    [
        sample_event("trades/ingest_trades.json")["requestContext"]["authorizer"]["jwt"]["claims"],
        ADMIN,
        manager_claims("manager-1"),
    ],
    ids=["service", "admin", "event-manager"],
)
def test_only_users_join(arena: Arena, claims: dict[str, str]) -> None:
    """Given the trade feed's service token (or an admin, or a manager without the user role)
    When it tries to join Then 403 forbidden_role."""
    event_id = arena.new_event()["id"]
    reply = arena.join(event_id, claims)
    assert (reply.status, reply.code) == (403, "forbidden_role")


def test_join_unknown_event_is_404(arena: Arena) -> None:
    """Given no such event When the sample join is sent Then 404 event_not_found."""
    reply = arena.call("participants/join_event", sample_event("participants/join_event.json"))
    assert (reply.status, reply.code) == (404, "event_not_found")


def test_join_without_token_is_401(arena: Arena) -> None:
    """Given no subject claim When joining Then 401."""
    event_id = arena.new_event()["id"]
    assert arena.join(event_id, {}).status == 401


# ------------------------------------------------------------------------------------------- participants/me


def _me_sample(arena: Arena, event_id: str):  # type: ignore[no-untyped-def]
    return arena.call(
        "participants/get_my_participation",
        api_event("participants/get_my_participation.json", path={"eventId": event_id}),
    )


def test_my_participation_is_404_before_joining(arena: Arena) -> None:
    """Given the sample event When trader-1 asks for their participation before joining Then 404 not_participant."""
    event_id = arena.new_event()["id"]
    reply = _me_sample(arena, event_id)
    assert (reply.status, reply.code) == (404, "not_participant")


def test_my_participation_of_unknown_event_is_404(arena: Arena) -> None:
    """Given no such event When events/participants/get_my_participation.json is sent Then 404 event_not_found."""
    reply = arena.call("participants/get_my_participation", sample_event("participants/get_my_participation.json"))
    assert (reply.status, reply.code) == (404, "event_not_found")


def test_my_participation_after_joining_has_zero_totals(arena: Arena) -> None:
    """Given trader-1 joined When they read their participation Then zero totals, no trade times."""
    event_id = arena.new_event()["id"]
    assert _join_sample(arena, event_id).status == 201
    reply = _me_sample(arena, event_id)
    assert reply.status == 200
    assert {k: reply.body[k] for k in ZERO_TOTALS} == ZERO_TOTALS


def test_my_participation_has_the_totals_of_my_trades(arena: Arena) -> None:
    """Given trader-1 and trader-2 joined the sample event
    When the sample trade batch (events/trades/ingest_trades.json, executed 2026-12-02) is posted on 12-03
    Then trader-1 sees their two trades: volume 0.25*96000.50 + 0.25*96500.00, the sell's pnl, both fees;
    trader-2 sees their one trade; all amounts exact decimal strings."""
    event_id = arena.new_event()["id"]
    assert _join_sample(arena, event_id).status == 201
    arena.joined(event_id, "trader-2")
    arena.clock.set(datetime(2026, 12, 3, tzinfo=UTC))
    ingest = arena.call("trades/ingest_trades", sample_event("trades/ingest_trades.json"))
    assert (ingest.status, ingest.body["accepted"]) == (200, 3), ingest

    mine = _me_sample(arena, event_id).body
    theirs = arena.me(event_id, user_claims("trader-2")).body

    assert all(isinstance(mine[k], str) for k in ("score", "volume", "pnl", "fees"))
    assert Decimal(mine["volume"]) == Decimal("0.25") * Decimal("96000.50") + Decimal("0.25") * Decimal("96500.00")
    assert Decimal(mine["volume"]) == Decimal("48125.125")
    assert Decimal(mine["score"]) == Decimal(mine["volume"])  # ranked by volume
    assert (Decimal(mine["pnl"]), Decimal(mine["fees"]), mine["trade_count"]) == (
        Decimal("124.875"),
        Decimal("4.81"),
        2,
    )
    assert (mine["first_trade_at"], mine["last_trade_at"]) == ("2026-12-02T10:15:00.123Z", "2026-12-02T11:00:00.000Z")
    assert (Decimal(theirs["volume"]), Decimal(theirs["pnl"]), Decimal(theirs["fees"]), theirs["trade_count"]) == (
        Decimal("12775.35"),
        Decimal(0),
        Decimal(0),
        1,
    )
