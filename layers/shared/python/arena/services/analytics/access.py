"""Who sees which event's analytics: admins every event; event managers the events they manage (created or were
assigned to). Per-event routes refuse (403) an event the caller does not manage; the cross-event routes (dashboard,
trends, volume analysis) show a manager only their events, and a comparison naming another event is refused."""

from __future__ import annotations

from collections.abc import Iterable

from arena.auth import Principal
from arena.models.events import Event
from arena.services.events import load, may_manage, require_manager


def event_for(principal: Principal, event_id: str) -> Event:
    """The event, when the caller may see its analytics (404 when there is none, 403 when not theirs)."""
    event = load(event_id)
    require_manager(principal, event)
    return event


def visible(principal: Principal, events: Iterable[Event]) -> list[Event]:
    return [e for e in events if may_manage(principal, e)]
