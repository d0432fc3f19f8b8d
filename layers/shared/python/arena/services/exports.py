"""Analytics exports: asynchronous jobs that write an event's rollup time series and participants to files in S3.

POST /api/events/analytics/export checks the caller may manage every event named (admins: any; event managers:
their own), records the job PENDING and queues the worker (RunExportFunction, invoked asynchronously). The worker
(`run_export`) is idempotent: it moves the job to RUNNING (conditional), writes one object per dataset at a key
fixed by the job and dataset (a retry rewrites the same objects), then moves it to SUCCEEDED once (conditional; a
duplicate run that loses the race changes nothing). A job already final is left alone. An error that will not go
away by retrying (an event gone) fails the job at once; any other error is raised so Lambda retries the
invocation, and the last of its attempts marks the job FAILED before its event goes to the on-failure queue.

GET /api/events/analytics/exports/{exportId} answers the job with presigned download links once it has
succeeded. A job is visible to admins and to whoever may manage every one of its events; to anyone else it does
not exist (404), like a job id that was never issued.
"""

from __future__ import annotations

from datetime import timedelta

from arena import clock
from arena.adapters import files as file_store
from arena.adapters import functions
from arena.auth import Principal
from arena.config import settings
from arena.domain import exports as domain
from arena.domain.exports import ExportDataset, ExportFormat, ParticipantLine
from arena.domain.rollups import align
from arena.domain.statuses import ExportStatus
from arena.errors import ArenaError, InvalidInput, NotFound
from arena.ids import new_id
from arena.models.exports import ExportFile, ExportJob, ExportRequest
from arena.observability import logger
from arena.services import events as event_service
from arena.store import analytics as analytics_store
from arena.store import events as event_store
from arena.store import exports as export_store
from arena.store import participants as participant_store
from arena.store.exports import ExportFileRecord, ExportRecord

# Lambda's asynchronous invocation tries an event three times (MaximumRetryAttempts 2 in template.yaml): the third
# failed attempt marks the job FAILED before Lambda sends the event to the on-failure queue.
MAX_ATTEMPTS = 3


def request_export(principal: Principal, request: ExportRequest) -> ExportJob:
    """Record the job and queue its worker; 404 for an unknown event, 403 for an event the caller may not manage."""
    if len(request.event_ids) > settings().export_max_events:
        raise InvalidInput(
            f"An export takes at most {settings().export_max_events} events.",
            code="too_many_events",
            details={"max": settings().export_max_events},
        )
    for event_id in request.event_ids:
        event_service.require_manager(principal, event_service.load(event_id))
    now = clock.now()
    record = ExportRecord(
        export_id=new_id(),
        requested_by=principal.user_id,
        event_ids=tuple(request.event_ids),
        datasets=tuple(request.datasets),
        format=request.format,
        resolution=request.resolution,
        status=ExportStatus.PENDING,
        created_at=now,
        updated_at=now,
    )
    export_store.put_new(record)
    try:
        functions.invoke_async(settings().run_export_function, {"export_id": record.export_id})
    except Exception:
        export_store.fail(record.export_id, "The export could not be started.")
        raise
    return to_job(record)


def _may_read(principal: Principal, record: ExportRecord) -> bool:
    if principal.is_admin:
        return True
    for event_id in record.event_ids:
        event = event_store.get(event_id)
        if event is None or not event_service.may_manage(principal, event):
            return False
    return True


def get_export(principal: Principal, export_id: str) -> ExportJob:
    record = export_store.get(export_id)
    if record is None or not _may_read(principal, record):
        raise NotFound(f"No export {export_id}.", code="export_not_found")
    return to_job(record)


def to_job(record: ExportRecord) -> ExportJob:
    seconds = settings().export_link_seconds
    expires = clock.now() + timedelta(seconds=seconds)
    links = [
        ExportFile(
            dataset=f.dataset,
            rows=f.rows,
            url=file_store.download_url(
                f.key, seconds, filename=f"{record.export_id}-{f.dataset.value}.{record.format.value}"
            ),
            url_expires_at=expires,
        )
        for f in record.files
    ]
    return ExportJob(
        export_id=record.export_id,
        status=record.status,
        event_ids=list(record.event_ids),
        datasets=list(record.datasets),
        format=record.format,
        resolution=record.resolution,
        requested_by=record.requested_by,
        created_at=record.created_at,
        updated_at=record.updated_at,
        files=links if record.status is ExportStatus.SUCCEEDED else [],
        error=record.error,
    )


# -- the worker


def _timeseries(record: ExportRecord) -> list[domain.Row]:
    rows: list[domain.Row] = []
    for event_id in record.event_ids:
        event = event_store.get(event_id)
        if event is None:
            raise NotFound(f"No event {event_id}.", code="event_not_found")
        # Every bucket the window touches: the first one starts at or before start_at.
        buckets = analytics_store.event_buckets(
            event_id, record.resolution, align(event.start_at, record.resolution), event.end_at
        )
        rows.extend(domain.timeseries_rows(buckets))
    return rows


def _participants(record: ExportRecord) -> list[domain.Row]:
    rows: list[domain.Row] = []
    for event_id in record.event_ids:
        lines = [
            ParticipantLine(
                event_id=p.event_id,
                user_id=p.user_id,
                joined_at=p.joined_at,
                volume=p.totals.volume,
                pnl=p.totals.pnl,
                fees=p.totals.fees,
                trades=p.totals.trade_count,
                first_trade_at=p.totals.first_trade_at,
                last_trade_at=p.totals.last_trade_at,
                score=p.score,
                board_key=p.board_key,
                qualified=p.qualified,
                disqualified=p.disqualified,
            )
            for p in participant_store.of_event(event_id)
        ]
        rows.extend(domain.participant_rows(lines))
    return rows


BUILDERS = {ExportDataset.TIMESERIES: _timeseries, ExportDataset.PARTICIPANTS: _participants}


def _write(record: ExportRecord, dataset: ExportDataset) -> ExportFileRecord:
    rows = BUILDERS[dataset](record)
    key = domain.object_key(record.export_id, dataset, record.format)
    body = domain.render(rows, domain.COLUMNS[dataset], record.format)
    file_store.put(key, body, domain.CONTENT_TYPES[ExportFormat(record.format)])
    return ExportFileRecord(dataset=dataset, key=key, rows=len(rows))


def run_export(export_id: str) -> ExportStatus | None:
    """Write the job's files and finish it (idempotent: see the module docstring). Returns the job's status, None
    for a job that does not exist (nothing to do: retrying would not create it)."""
    record = export_store.start(export_id)
    if record is None:
        existing = export_store.get(export_id)
        if existing is None:
            logger.warning("export job not found", extra={"export_id": export_id})
            return None
        return existing.status  # final already: a duplicate or late delivery
    try:
        files = [_write(record, dataset) for dataset in record.datasets]
    except ArenaError as error:
        export_store.fail(export_id, error.message)
        return ExportStatus.FAILED
    except Exception as error:
        if record.attempts >= MAX_ATTEMPTS:
            export_store.fail(export_id, f"The export failed after {record.attempts} attempts.")
            logger.exception("export failed for good", extra={"export_id": export_id})
            return ExportStatus.FAILED
        raise RuntimeError(f"export {export_id} attempt {record.attempts} failed: {error}") from error
    done = export_store.succeed(export_id, files)
    if done is not None:
        return done.status
    final = export_store.get(export_id)
    return final.status if final else None
