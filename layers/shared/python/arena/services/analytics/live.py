"""Live metrics of running events on the admin WebSocket topic: per running event (started, not yet COMPLETED),
the volume and trades of the last complete minute, its active traders (distinct participants who traded in it),
participation so far, the volume so far and the connections watching it now; one `analytics` message for all of
them.

Trigger: the minute lifecycle sweep (`functions/lifecycle/check_event_status_transitions.py`) calls `push` after
advancing events: it already runs once a minute whatever the load, so the cost is one subscriber query per minute
when no admin listens, and per running event 2 reads and a query of each of its 4 topics' subscribers when one
does. Idempotent in effect: a repeated call pushes the same figures again (a client keys them by event and
minute)."""

from __future__ import annotations

from datetime import datetime, timedelta

from arena import clock
from arena.domain import analytics as metrics
from arena.domain import realtime as rt
from arena.domain.rollups import Resolution, Tally, align
from arena.models.analytics import LiveEventMetrics
from arena.models.events import Event
from arena.observability import count, logger
from arena.services.realtime.sending import Report, publish
from arena.store import analytics as rollup_store
from arena.store import connections as connection_store
from arena.store import events as event_store

MAX_EVENTS = 100  # one message stays far below the WebSocket frame (32 KB) with this many events


def connected_clients(event_id: str) -> int:
    """Distinct connections subscribed to any of the event's topics (a trader's page holds several)."""
    topics = (rt.leaderboard_topic, rt.event_topic, rt.trades_topic, rt.chat_topic)
    return len({connection for topic in topics for connection in connection_store.subscribers(topic(event_id))})


def event_metrics(event: Event, minute: datetime) -> LiveEventMetrics:
    """The event's figures for the complete minute starting at `minute`."""
    buckets = rollup_store.event_buckets(event.id, Resolution.MINUTE, minute, minute + timedelta(minutes=1))
    bucket = buckets[0] if buckets else None
    totals = rollup_store.event_totals(event.id)
    return LiveEventMetrics(
        event_id=event.id,
        minute=minute,
        volume_per_minute=bucket.tally.volume if bucket else Tally().volume,
        trades_per_minute=bucket.tally.trades if bucket else 0,
        active_traders=bucket.traders if bucket else 0,
        participation_rate=metrics.participation_rate(totals) if totals else None,
        volume=totals.tally.volume if totals else Tally().volume,
        connected_clients=connected_clients(event.id),
    )


def snapshot_of_running(now: datetime) -> list[LiveEventMetrics]:
    minute = align(now, Resolution.MINUTE) - timedelta(minutes=1)
    started = [e for e in event_store.live_events() if e.start_at <= now]
    running = sorted(started, key=lambda e: (e.start_at, e.id))[:MAX_EVENTS]
    return [event_metrics(e, minute) for e in running]


def push(now: datetime | None = None) -> Report:
    """One `analytics` message on the admin topic, when an admin is subscribed (else no reads at all)."""
    if not connection_store.subscribers(rt.ADMIN_TOPIC):
        return Report()
    figures = snapshot_of_running(now or clock.now())
    if not figures:
        return Report()
    return publish(rt.ADMIN_TOPIC, "analytics", {"events": [f.model_dump(mode="json") for f in figures]})


def push_best_effort() -> None:
    """The minute sweep's call: live figures are a convenience, never a reason for the sweep to fail."""
    try:
        push()
    except Exception:
        count("LiveAnalyticsFailed")
        logger.exception("could not push the live analytics")
