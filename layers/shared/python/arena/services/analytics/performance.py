"""GET /api/events/{eventId}/performance: every metric of one event and its time series.

A completed event's metrics come from its post-event snapshot (written once at completion); before that (or if
the snapshot is not written yet) they are computed now, prizes projected from the current ranking. Retention
after the end is computed on read (it moves for 30 days). The series is read from the rollups at the asked
resolution over a bounded range: at most `MAX_POINTS[resolution]` points per page, the rest behind `next_cursor`.
"""

from __future__ import annotations

from datetime import datetime

from arena import clock
from arena.auth import Principal
from arena.domain import analytics as metrics
from arena.domain.events import EventStatus
from arena.domain.rollups import STEP, Resolution, align
from arena.errors import BadRequest
from arena.models.analytics import EventMetrics, EventPerformance, Series
from arena.models.events import Event
from arena.services import lifecycle
from arena.services.analytics import access, prices, report, snapshot
from arena.services.analytics.trends import within
from arena.store import analytics as rollup_store
from arena.store import dynamo
from arena.store import results as results_store

# One page of a series: a day of minutes, a month of hours, a year of days.
MAX_POINTS = {Resolution.MINUTE: 1440, Resolution.HOUR: 744, Resolution.DAY: 366}


def _range(event: Event, resolution: Resolution, start: datetime | None, end: datetime | None, cursor: str | None):
    """The page's [start, end) and the whole range's end: from the cursor, else the query, else the event's window."""
    state = dynamo.decode_cursor(cursor)
    if state is not None:
        try:
            if state.get("e") != event.id or state.get("r") != resolution.value:
                raise ValueError("cursor of another series")
            start, end = clock.from_iso(str(state["f"])), clock.from_iso(str(state["t"]))
        except (KeyError, ValueError, TypeError):
            raise BadRequest(dynamo.NOT_OURS, code="invalid_cursor") from None
    within(start, end)
    start = align(start or event.start_at, resolution)
    end = end or event.end_at
    if end <= start:
        raise BadRequest(
            "`to` must be after `from`.",
            code="invalid_range",
            details={"from": clock.to_iso(start), "to": clock.to_iso(end)},
        )
    page_end = min(end, start + STEP[resolution] * MAX_POINTS[resolution])
    return start, page_end, end


def series(
    event: Event, resolution: Resolution, start: datetime | None, end: datetime | None, cursor: str | None
) -> Series:
    page_start, page_end, whole_end = _range(event, resolution, start, end, cursor)
    buckets = rollup_store.event_buckets(event.id, resolution, page_start, page_end)
    points = metrics.series(buckets, resolution, page_start, page_end)
    next_cursor = (
        dynamo.encode_cursor(
            {"e": event.id, "r": resolution.value, "f": clock.to_iso(page_end), "t": clock.to_iso(whole_end)}
        )
        if page_end < whole_end
        else None
    )
    return Series(
        resolution=resolution,
        start=page_start,
        end=page_end,
        points=[report.point_out(p) for p in points],
        next_cursor=next_cursor,
    )


def live_metrics(event: Event) -> EventMetrics:
    """The metrics computed now, prizes as the current ranking would win them."""
    now = clock.now()
    if event.status == EventStatus.COMPLETED:
        results = results_store.read(event.id)
    else:
        generation, ranked = lifecycle.final_ranking(event.id)
        results = lifecycle.results_of(event.id, generation, ranked, now)
    return report.build(event, results, prices.current(), now, projected=event.status != EventStatus.COMPLETED)


def performance(
    principal: Principal,
    event_id: str,
    resolution: Resolution,
    start: datetime | None,
    end: datetime | None,
    cursor: str | None,
) -> EventPerformance:
    event = access.event_for(principal, event_id)
    frozen = snapshot.read(event.id) if event.status == EventStatus.COMPLETED else None
    return EventPerformance(
        source="snapshot" if frozen else "live",
        metrics=frozen or live_metrics(event),
        retention_after=report.retention_after(event, clock.now().date()),
        series=series(event, resolution, start, end, cursor),
    )
