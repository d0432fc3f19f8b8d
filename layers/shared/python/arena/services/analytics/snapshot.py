"""The post-event snapshot: when the lifecycle completes an event, its metrics document is written once to the
AnalyticsTable (a conditional put: a second completion, a retry or the hourly check write nothing) and
`performance` serves it from then on. Idempotent; safe under at-least-once triggers.

Triggers: `services/lifecycle._complete` right after the COMPLETED write, and `process_completed` (every hour,
events completed in the last 7 days) for a snapshot the first call could not write. The document is computed from
the frozen results and stamped with the completion time (the event's `updated_at`), not the clock.

Rollups lag the trades by a stream batch or two; the document records `rollups_consistent` (the rollups count
the trades the participants' totals count). While they disagree the snapshot waits for the next trigger, up to
`SETTLE` after the completion; then it is written as it stands, flagged."""

from __future__ import annotations

from datetime import datetime, timedelta

from arena import clock
from arena.domain.events import EventStatus
from arena.models.analytics import EventMetrics
from arena.models.events import Event
from arena.observability import count, logger
from arena.services.analytics import prices, report
from arena.store import analytics_reports as store
from arena.store import results as results_store

SETTLE = timedelta(hours=1)


def read(event_id: str) -> EventMetrics | None:
    document = store.get_snapshot(event_id)
    return EventMetrics.model_validate_json(document) if document is not None else None


def write_for(event: Event, now: datetime | None = None) -> bool:
    """Write the completed event's snapshot unless it exists; True when this call wrote it."""
    if event.status != EventStatus.COMPLETED:
        return False
    now = now or clock.now()
    if store.get_snapshot(event.id) is not None:
        return False
    document = report.build(event, results_store.read(event.id), prices.current(), event.updated_at, projected=False)
    if not document.rollups_consistent and now < event.updated_at + SETTLE:
        logger.info("snapshot waits for the rollups", extra={"event_id": event.id})
        count("AnalyticsSnapshotDeferred")
        return False
    written = store.put_snapshot(event.id, document.model_dump_json(), now)
    if written:
        count("AnalyticsSnapshotWritten")
    return written


def after_completion(event: Event) -> None:
    """The lifecycle's call: best effort (the completion already stands; the hourly check retries)."""
    try:
        write_for(event)
    except Exception:
        count("AnalyticsSnapshotFailed")
        logger.exception(
            "could not write the analytics snapshot; the hourly check retries", extra={"event_id": event.id}
        )
