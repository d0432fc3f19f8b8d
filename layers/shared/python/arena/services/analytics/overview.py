"""What the cross-event routes share: an event's headline figures (from its snapshot once completed, else from
its rollup totals: O(1) reads per event), bounded offset cursors, and sums of bucket series across events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from arena import clock
from arena.domain import analytics as metrics
from arena.domain.events import EventStatus
from arena.domain.rollups import EventBucket, Resolution, Tally
from arena.errors import BadRequest
from arena.models.analytics import EventSummaryOut
from arena.models.events import Event
from arena.services.analytics import report, snapshot
from arena.store import analytics as rollup_store
from arena.store import dynamo

MAX_OFFSET = 10_000


def summary(event: Event) -> metrics.Summary:
    frozen = snapshot.read(event.id) if event.status == EventStatus.COMPLETED else None
    return report.summary_of(frozen) if frozen else report.live_summary(event)


def summary_out(event: Event, row: metrics.Summary) -> EventSummaryOut:
    return EventSummaryOut(
        event_id=event.id,
        name=event.name,
        status=event.status,
        start_at=event.start_at,
        end_at=event.end_at,
        volume=row.volume,
        trades=row.trades,
        fees=row.fees,
        participants=row.participants,
        traders=row.traders,
        market_traders=row.market_traders,
        participation_rate=row.participation_rate,
        retention_during=row.retention_during,
        lift=row.lift,
        prize_cost=row.prize_cost,
        roi=row.roi,
    )


def offset_of(cursor: str | None, kind: str, query: dict[str, Any]) -> int:
    """Where a list resumes. The cursor is bound to its route and its query: another one is a 400."""
    state = dynamo.decode_cursor(cursor)
    if state is None:
        return 0
    offset = state.get("o")
    if state.get("k") != kind or state.get("q") != query or not isinstance(offset, int) or not 0 < offset <= MAX_OFFSET:
        raise BadRequest(dynamo.NOT_OURS, code="invalid_cursor")
    return offset


def resumed_range(cursor: str | None, kind: str) -> tuple[datetime, datetime] | None:
    """The [from, to) a cursor of `kind` was issued for (a default range moves with the clock; its pages do not)."""
    state = dynamo.decode_cursor(cursor)
    if state is None:
        return None
    query = state.get("q")
    try:
        if state.get("k") != kind or not isinstance(query, dict):
            raise ValueError("not a cursor of this list")
        return clock.from_iso(str(query["from"])), clock.from_iso(str(query["to"]))
    except (KeyError, ValueError):
        raise BadRequest(dynamo.NOT_OURS, code="invalid_cursor") from None


def cursor_after(kind: str, query: dict[str, Any], offset: int, total: int) -> str | None:
    return dynamo.encode_cursor({"k": kind, "q": query, "o": offset}) if offset < min(total, MAX_OFFSET) else None


def summed_series(
    events: Sequence[Event], resolution: Resolution, start: datetime, end: datetime
) -> tuple[list[metrics.SeriesPoint], list[EventBucket]]:
    """The events' buckets added per bucket start over [start, end), gaps as zeros; and the buckets read."""
    read: list[EventBucket] = []
    for event in events:
        read.extend(rollup_store.event_buckets(event.id, resolution, start, end))
    added: dict[datetime, EventBucket] = {}
    for b in read:
        seen = added.get(b.start)
        added[b.start] = (
            b
            if seen is None
            else EventBucket(
                "*",
                resolution,
                b.start,
                seen.tally + b.tally,
                {},
                seen.traders + b.traders,
                seen.market_traders + b.market_traders,
                seen.joins + b.joins,
            )
        )
    return metrics.series(added.values(), resolution, start, end), read


def total_of(tallies: Iterable[Tally]) -> Tally:
    result = Tally()
    for t in tallies:
        result = result + t
    return result
