"""GET /api/events/analytics/volume-analysis: the counted volume of the events whose window overlaps [from, to)
(or of one event), summed per bucket of the asked resolution, with the top pairs and the hour-of-day profile of
that range. Bounded: at most `MAX_POINTS[resolution]` buckets and `MAX_EVENTS` events (then `truncated`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from arena.auth import Principal
from arena.domain import analytics as metrics
from arena.domain.rollups import STEP, Resolution, Tally, align
from arena.errors import BadRequest
from arena.models.analytics import VolumeAnalysis
from arena.models.events import Event
from arena.services.analytics import access, overview, report
from arena.services.analytics.performance import MAX_POINTS
from arena.services.analytics.trends import LISTED, bounded
from arena.store import analytics as rollup_store
from arena.store import events as event_store

MAX_RANGE = timedelta(days=31)
DEFAULT_RANGE = timedelta(days=7)
MAX_EVENTS = 20
LONGEST_EVENT = timedelta(days=90)  # events started this long before `from` are looked at for overlap
TOP_PAIRS = 10


def _events(principal: Principal, event_id: str | None, start: datetime, end: datetime) -> list[Event]:
    if event_id is not None:
        return [access.event_for(principal, event_id)]
    candidates = event_store.started_between(LISTED, start - LONGEST_EVENT, end)
    overlapping = [e for e in candidates if e.start_at < end and e.end_at > start]
    return sorted(access.visible(principal, overlapping), key=lambda e: (e.start_at, e.id))


def volume_analysis(
    principal: Principal,
    start: datetime | None,
    end: datetime | None,
    resolution: Resolution,
    event_id: str | None,
) -> VolumeAnalysis:
    start, end = bounded(start, end, DEFAULT_RANGE, MAX_RANGE)
    start = align(start, resolution)
    if (end - start) / STEP[resolution] > MAX_POINTS[resolution]:
        raise BadRequest(
            f"At {resolution.value} resolution the range holds at most {MAX_POINTS[resolution]} buckets.",
            code="range_too_long",
            details={"resolution": resolution.value, "max_points": MAX_POINTS[resolution]},
        )
    events = _events(principal, event_id, start, end)
    shown = events[:MAX_EVENTS]
    points, buckets = overview.summed_series(shown, resolution, start, end)
    by_market = metrics.merge_by_key(b.by_market for b in buckets)
    if resolution is Resolution.DAY:  # the hour profile needs hour buckets
        buckets = [b for e in shown for b in rollup_store.event_buckets(e.id, Resolution.HOUR, start, end)]
    by_hour: dict[int, Tally] = defaultdict(Tally)
    for b in buckets:
        by_hour[b.start.hour] = by_hour[b.start.hour] + b.tally
    return VolumeAnalysis(
        start=start,
        end=end,
        resolution=resolution,
        events=[e.id for e in shown],
        totals=report.tally_out(overview.total_of(p.tally for p in points)),
        series=[report.point_out(p) for p in points],
        top_pairs=[report.share_out(s) for s in metrics.top_pairs(by_market, TOP_PAIRS)],
        hour_of_day=[report.share_out(s) for s in metrics.hour_of_day(by_hour)],
        truncated=len(events) > MAX_EVENTS,
    )
