"""The domain events notifications are planned from, published on the Arena bus once, after the state change that
causes them, with the detail arena/domain/statuses.py documents: EventPublished (an event created),
ClaimDeadlineApproaching (the hourly claims sweep) and PrizePaid (a token payout confirmed, a points prize's claim
settled). Rank moves and milestones: tests/integration/test_rank_notifications.py."""

from __future__ import annotations

from datetime import timedelta

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
