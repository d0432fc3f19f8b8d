"""GET /api/events/analytics/dashboard: events running now and those that started in the last `days` days and
completed, their headline figures, the totals and the volume per day. Admins see every event, event managers the
events they manage. Read cost: O(events shown) items, never the trades."""

from __future__ import annotations

from datetime import timedelta

from arena import clock
from arena.auth import Principal
from arena.domain import analytics as metrics
from arena.domain.events import EventStatus
from arena.domain.rollups import Resolution, align
from arena.models.analytics import Dashboard
from arena.services.analytics import access, overview, report
from arena.store import events as event_store

LIVE_LIMIT = 50


def dashboard(principal: Principal, days: int, limit: int, cursor: str | None) -> Dashboard:
    now = clock.now()
    offset = overview.offset_of(cursor, "dashboard", {"days": days})
    # stored UPCOMING, ACTIVE or FINALIZING and started: running now, whether or not the sweep has seen it yet
    started = [e for e in event_store.live_events() if e.start_at <= now]
    live = sorted(access.visible(principal, started), key=lambda e: (e.start_at, e.id))[:LIVE_LIMIT]
    since = align(now, Resolution.DAY) - timedelta(days=days - 1)
    completed = sorted(
        access.visible(principal, event_store.started_between((EventStatus.COMPLETED,), since, now)),
        key=lambda e: (e.end_at, e.id),
        reverse=True,
    )
    recent = completed[offset : offset + limit]
    rows = [(e, overview.summary(e)) for e in [*live, *recent]]
    points, _ = overview.summed_series([e for e, _ in rows], Resolution.DAY, since, now)
    traders = sum(r.traders for _, r in rows)
    market_traders = sum(r.market_traders for _, r in rows)
    return Dashboard(
        live=[overview.summary_out(e, r) for e, r in rows[: len(live)]],
        recent=[overview.summary_out(e, r) for e, r in rows[len(live) :]],
        totals=report.tally_out(overview.total_of(p.tally for p in points)),
        participants=sum(r.participants for _, r in rows),
        participation_rate=metrics.rate(traders, market_traders),
        daily=[report.point_out(p) for p in points],
        next_cursor=overview.cursor_after("dashboard", {"days": days}, offset + limit, len(completed)),
    )
