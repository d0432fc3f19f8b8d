"""Analytics export jobs in the AnalyticsTable: one item per job, scope `EXPORT#<id>`, bucket `job`.

Every status change is a conditional write, so a job moves PENDING -> RUNNING -> SUCCEEDED | FAILED once: a
retried or duplicated worker may enter RUNNING again (and rewrite the same files), but only one completion
lands, and a final status never changes. Jobs expire (TTL `expires_at`) with their files' lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from arena import clock
from arena.config import settings
from arena.domain.exports import ExportDataset, ExportFormat
from arena.domain.rollups import Resolution
from arena.domain.statuses import ExportStatus
from arena.store import dynamo

SCOPE_PREFIX = "EXPORT#"
JOB_BUCKET = "job"
# Export files are kept a week (the archive bucket's lifecycle rule on exports/); so are their jobs.
RETENTION = timedelta(days=7)


@dataclass(frozen=True)
class ExportFileRecord:
    dataset: ExportDataset
    key: str
    rows: int


@dataclass(frozen=True)
class ExportRecord:
    export_id: str
    requested_by: str
    event_ids: tuple[str, ...]
    datasets: tuple[ExportDataset, ...]
    format: ExportFormat
    resolution: Resolution
    status: ExportStatus
    created_at: datetime
    updated_at: datetime
    attempts: int = 0
    files: tuple[ExportFileRecord, ...] = field(default_factory=tuple)
    error: str | None = None


def _table() -> str:
    return settings().analytics_table


def _key(export_id: str) -> dict[str, Any]:
    return {"scope": {"S": SCOPE_PREFIX + export_id}, "bucket": {"S": JOB_BUCKET}}


def _to_record(item: dict[str, Any]) -> ExportRecord:
    v = dynamo.from_item(item)
    return ExportRecord(
        export_id=v["export_id"],
        requested_by=v["requested_by"],
        event_ids=tuple(v["event_ids"]),
        datasets=tuple(ExportDataset(d) for d in v["datasets"]),
        format=ExportFormat(v["format"]),
        resolution=Resolution(v["resolution"]),
        status=ExportStatus(v["status"]),
        created_at=clock.from_iso(v["created_at"]),
        updated_at=clock.from_iso(v["updated_at"]),
        attempts=int(v.get("attempts", 0)),
        files=tuple(
            ExportFileRecord(dataset=ExportDataset(f["dataset"]), key=f["key"], rows=int(f["rows"]))
            for f in v.get("files") or []
        ),
        error=v.get("error"),
    )


def put_new(record: ExportRecord) -> None:
    values = {
        "scope": SCOPE_PREFIX + record.export_id,
        "bucket": JOB_BUCKET,
        "export_id": record.export_id,
        "requested_by": record.requested_by,
        "event_ids": list(record.event_ids),
        "datasets": [d.value for d in record.datasets],
        "format": record.format.value,
        "resolution": record.resolution.value,
        "status": record.status.value,
        "created_at": clock.to_iso(record.created_at),
        "updated_at": clock.to_iso(record.updated_at),
        "attempts": record.attempts,
        "expires_at": int((record.created_at + RETENTION).timestamp()),
    }
    dynamo.client().put_item(
        TableName=_table(),
        Item=dynamo.to_item(values),
        ConditionExpression="attribute_not_exists(#s)",
        ExpressionAttributeNames={"#s": "scope"},
    )


def get(export_id: str) -> ExportRecord | None:
    item = dynamo.client().get_item(TableName=_table(), Key=_key(export_id), ConsistentRead=True)
    return _to_record(item["Item"]) if "Item" in item else None


def _transition(
    export_id: str,
    update: str,
    allowed_from: tuple[ExportStatus, ...],
    values: dict[str, Any],
    names: dict[str, str] | None = None,
) -> ExportRecord | None:
    """Apply `update` when the job's status is one of `allowed_from`; the job after it, or None when it was not."""
    placeholders = {f":from{i}": status.value for i, status in enumerate(allowed_from)}
    try:
        answer = dynamo.client().update_item(
            TableName=_table(),
            Key=_key(export_id),
            UpdateExpression=update,
            ConditionExpression=f"#status IN ({', '.join(placeholders)})",
            ExpressionAttributeNames={"#status": "status", **(names or {})},
            ExpressionAttributeValues={k: dynamo.to_value(v) for k, v in {**placeholders, **values}.items()},
            ReturnValues="ALL_NEW",
        )
    except ClientError as error:
        if dynamo.is_conditional_failure(error):
            return None
        raise
    return _to_record(answer["Attributes"])


def start(export_id: str) -> ExportRecord | None:
    """PENDING or RUNNING (a retried worker) -> RUNNING, one more attempt; None when the job is final already."""
    return _transition(
        export_id,
        "SET #status = :running, updated_at = :now ADD attempts :one",
        (ExportStatus.PENDING, ExportStatus.RUNNING),
        {":running": ExportStatus.RUNNING.value, ":now": clock.to_iso(clock.now()), ":one": 1},
    )


def succeed(export_id: str, files: list[ExportFileRecord]) -> ExportRecord | None:
    """RUNNING -> SUCCEEDED with its files; None when another run finished it first."""
    return _transition(
        export_id,
        "SET #status = :done, updated_at = :now, files = :files",
        (ExportStatus.RUNNING,),
        {
            ":done": ExportStatus.SUCCEEDED.value,
            ":now": clock.to_iso(clock.now()),
            ":files": [{"dataset": f.dataset.value, "key": f.key, "rows": f.rows} for f in files],
        },
    )


def fail(export_id: str, error: str) -> ExportRecord | None:
    """PENDING or RUNNING -> FAILED with the reason; None when the job is final already."""
    return _transition(
        export_id,
        "SET #status = :failed, updated_at = :now, #error = :error",
        (ExportStatus.PENDING, ExportStatus.RUNNING),
        {":failed": ExportStatus.FAILED.value, ":now": clock.to_iso(clock.now()), ":error": error[:1_000]},
        names={"#error": "error"},
    )
