"""The domain events notifications are planned from, published on the Arena bus once, after the state change that
causes them, with the detail arena/domain/statuses.py documents: EventPublished (an event created),
ClaimDeadlineApproaching (the hourly claims sweep) and PrizePaid (a token payout confirmed, a points prize's claim
settled). Rank moves and milestones: tests/integration/test_rank_notifications.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.integration.conftest import Arena, user_claims
from tests.integration.test_lifecycle import NOON, Bus, _event


def _published(bus: Bus, name: str) -> list[dict]:
    return [detail for kind, detail in bus.drain() if kind == name]


def test_creating_an_event_publishes_event_published_once(arena: Arena) -> None:
    """Given an admin
    When they create an event, then change it, and a trader tries to create one
    Then EventPublished {event_id} is published once, for the created event only."""
    bus = Bus()

    event_id = _event(arena, NOON + timedelta(days=1), NOON + timedelta(days=2))
    assert arena.update_event(event_id, {"version": 1, "name": "Renamed cup"}).status == 200
    assert arena.create_event(user_claims("trader-1")).status == 403

    assert bus.drain() == [("EventPublished", {"event_id": event_id})]


# ------------------------------------------------------------------------------------------- prizes


def _claims_helpers() -> Any:
    from tests.integration import claims

    return claims


def test_the_sweep_reminds_each_claimable_prize_once_within_a_day_of_its_deadline(arena: Arena) -> None:
    """Given a distributed manual-claim event (7-day window from noon) where ann already claimed her prize
    When the hourly sweep runs two days before the deadline, then 23 hours before it (twice), then 30 minutes before
    Then nothing is published two days before; 23 hours before, ClaimDeadlineApproaching goes out once for each
    prize still CLAIMABLE (not ann's) with {event_id, user_id, prize_id, claim_deadline} (and type, amount, token);
    the later sweeps publish no second one."""
    from tests.integration.prizes import NOON

    claims = _claims_helpers()
    bus = Bus()
    event_id = claims.manual_event(arena)
    deadline = NOON + timedelta(days=claims.WINDOW_DAYS)
    assert claims.claim(arena, "ann", claims.prize_id(event_id, "ann", 0)).status == 200
    bus.drain()

    arena.clock.set(deadline - timedelta(days=2))
    assert claims.sweep(arena)["reminded"] == 0
    arena.clock.set(deadline - timedelta(hours=23))
    assert claims.sweep(arena)["reminded"] == 4
    assert claims.sweep(arena)["reminded"] == 0
    arena.clock.set(deadline - timedelta(minutes=30))
    assert claims.sweep(arena)["reminded"] == 0

    reminders = _published(bus, "ClaimDeadlineApproaching")
    assert sorted(d["user_id"] for d in reminders) == ["bob", "cid", "dan", "fay"]
    cid = next(d for d in reminders if d["user_id"] == "cid")
    assert cid == {
        "event_id": event_id,
        "user_id": "cid",
        "prize_id": claims.prize_id(event_id, "cid", 2),
        "claim_deadline": "2026-12-08T12:00:00.000Z",
        "type": "token",
        "amount": "100",
        "token": "USDT",
    }


def test_a_confirmed_token_payout_publishes_prize_paid_once(arena: Arena) -> None:
    """Given cid's claimed 100 USDT prize, whose payout the wallet first reports FAILED
    When the wallet confirms it PAID, then repeats the confirmation
    Then PrizePaid is published once, after the PAID write, with the prize, amount, token and the wallet's
    reference; the failure published nothing."""
    claims = _claims_helpers()
    bus = Bus()
    event_id = claims.manual_event(arena)
    claim_id = claims.claim(arena, "cid", claims.prize_id(event_id, "cid", 2)).body["claim_id"]
    assert claims.payout(arena, claim_id, {"outcome": "FAILED", "reason": "wallet offline"}).status == 200
    bus.drain()

    assert claims.payout(arena, claim_id, {"outcome": "PAID", "reference": "tx-9"}).body["status"] == "PAID"
    assert claims.payout(arena, claim_id, {"outcome": "PAID", "reference": "tx-9"}).body["status"] == "PAID"

    assert bus.drain() == [
        (
            "PrizePaid",
            {
                "event_id": event_id,
                "user_id": "cid",
                "prize_id": claims.prize_id(event_id, "cid", 2),
                "type": "token",
                "amount": "100",
                "token": "USDT",
                "paid_at": "2026-12-01T12:00:00.000Z",
                "reference": "tx-9",
            },
        )
    ]


def test_a_claimed_points_prize_publishes_prize_paid_once_when_credited(arena: Arena) -> None:
    """Given ann's 1000-point claimable prize
    When she claims it (twice), and the sweep settles everything again
    Then PrizePaid is published once, when the points were credited to her, with the claim id as reference."""
    claims = _claims_helpers()
    bus = Bus()
    event_id = claims.manual_event(arena)
    bus.drain()
    prize = claims.prize_id(event_id, "ann", 0)

    first = claims.claim(arena, "ann", prize)
    assert first.status == 200 and first.body["status"] == "CLAIMED", first
    claims.claim(arena, "ann", prize)
    claims.sweep(arena)

    paid = _published(bus, "PrizePaid")
    assert len(paid) == 1
    assert (paid[0]["user_id"], paid[0]["prize_id"], paid[0]["amount"], paid[0]["type"]) == (
        "ann",
        prize,
        "1000",
        "points",
    )
    assert paid[0]["reference"] == first.body["claim_id"] and paid[0]["token"] is None
