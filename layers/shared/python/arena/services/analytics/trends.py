"""GET /api/events/analytics/participation-trends: per event starting in [from, to) (running or completed,
earliest first), participants, traders, market traders, participation rate and retention during the event; and
the participation rate over the page (sum of traders / sum of market traders) against the growth team's target
(> 15%). Admins see every event, event managers the events they manage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from arena import clock
from arena.auth import Principal
from arena.domain import analytics as metrics
from arena.domain.events import EventStatus
from arena.errors import BadRequest
from arena.models.analytics import ParticipationTrends, TrendPoint
from arena.services.analytics import access, overview
from arena.store import events as event_store

MAX_RANGE = timedelta(days=366)
DEFAULT_RANGE = timedelta(days=90)
TARGET = Decimal("0.15")
LISTED = (EventStatus.UPCOMING, EventStatus.ACTIVE, EventStatus.FINALIZING, EventStatus.COMPLETED)


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def within(*moments: datetime | None) -> None:
    """Ranges lie between 2000 and 2100 (400 `invalid_range` otherwise): no date arithmetic overflows."""
    for moment in moments:
        if moment is not None and not EARLIEST <= moment <= LATEST:
            raise BadRequest(
                "Times lie between 2000-01-01 and 2100-01-01.",
                code="invalid_range",
                details={"earliest": clock.to_iso(EARLIEST), "latest": clock.to_iso(LATEST)},
            )


def bounded(
    start: datetime | None, end: datetime | None, default: timedelta, longest: timedelta
) -> tuple[datetime, datetime]:
    """[from, to): `to` defaults to now, `from` to `to - default`; refused (400) empty or longer than `longest`."""
    within(start, end)
    end = end or clock.now()
    start = start or end - default
    if end <= start:
        raise BadRequest("`to` must be after `from`.", code="invalid_range")
    if end - start > longest:
        raise BadRequest(
            f"The range may span at most {longest.days} days.", code="range_too_long", details={"days": longest.days}
        )
    return start, end


def participation_trends(
    principal: Principal, start: datetime | None, end: datetime | None, limit: int, cursor: str | None
) -> ParticipationTrends:
    if start is None and end is None:
        start, end = overview.resumed_range(cursor, "trends") or (None, None)
    start, end = bounded(start, end, DEFAULT_RANGE, MAX_RANGE)
    query = {"from": clock.to_iso(start), "to": clock.to_iso(end)}
    offset = overview.offset_of(cursor, "trends", query)
    events = sorted(
        access.visible(principal, event_store.started_between(LISTED, start, end)), key=lambda e: (e.start_at, e.id)
    )
    page = events[offset : offset + limit]
    rows = [(e, overview.summary(e)) for e in page]
    traders = sum(r.traders for _, r in rows)
    market_traders = sum(r.market_traders for _, r in rows)
    overall = metrics.rate(traders, market_traders)
    return ParticipationTrends(
        start=start,
        end=end,
        events=[
            TrendPoint(
                event_id=e.id,
                name=e.name,
                start_at=e.start_at,
                end_at=e.end_at,
                status=e.status,
                participants=r.participants,
                traders=r.traders,
                market_traders=r.market_traders,
                participation_rate=r.participation_rate,
                retention_during=r.retention_during,
            )
            for e, r in rows
        ],
        participation_rate=overall,
        meets_target=None if overall is None else overall > TARGET,
        next_cursor=overview.cursor_after("trends", query, offset + limit, len(events)),
    )
