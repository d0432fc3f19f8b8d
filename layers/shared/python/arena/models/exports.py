"""Analytics export jobs as the API shows them: what to export, and the job's status with its download links."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, field_validator

from arena.domain.exports import ExportDataset, ExportFormat
from arena.domain.rollups import Resolution
from arena.domain.statuses import ExportStatus
from arena.models.common import ApiModel, UtcDatetime

EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]


class ExportRequest(ApiModel):
    event_ids: list[EventId] = Field(
        min_length=1,
        max_length=200,
        description="The events to export (each one the caller may manage); at most EXPORT_MAX_EVENTS (20).",
    )
    datasets: list[ExportDataset] = Field(
        min_length=1,
        max_length=len(ExportDataset),
        description="timeseries: the events' rollup buckets at `resolution`; participants: every participant "
        "with totals, score, rank and qualification.",
    )
    format: ExportFormat = Field(default=ExportFormat.CSV, description="csv (with a header line) or jsonl.")
    resolution: Resolution = Field(default=Resolution.HOUR, description="The timeseries buckets' width.")

    @field_validator("event_ids")
    @classmethod
    def _event_ids(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))

    @field_validator("datasets")
    @classmethod
    def _datasets(cls, value: list[ExportDataset]) -> list[ExportDataset]:
        return list(dict.fromkeys(value))


class ExportFile(BaseModel):
    dataset: ExportDataset
    rows: int = Field(description="Data rows in the file (the CSV header not counted).")
    url: str = Field(description="A presigned GET of the file, valid until `url_expires_at`.")
    url_expires_at: UtcDatetime


class ExportJob(BaseModel):
    export_id: str
    status: ExportStatus = Field(description="PENDING, RUNNING, then SUCCEEDED (files) or FAILED (error).")
    event_ids: list[str]
    datasets: list[ExportDataset]
    format: ExportFormat
    resolution: Resolution
    requested_by: str
    created_at: UtcDatetime
    updated_at: UtcDatetime
    files: list[ExportFile] = Field(default_factory=list, description="When SUCCEEDED: one file per dataset.")
    error: str | None = Field(default=None, description="When FAILED: why.")
