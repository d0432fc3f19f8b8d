"""Analytics exports: the datasets a job writes, their rows and columns, and the two file formats. Pure, no I/O.

Datasets, one file each for all the job's events (an `event_id` column tells them apart):
- `timeseries`: the events' rollup buckets at the job's resolution (minute, hour or day), every bucket of the
  event's window that saw a trade or a join, ascending: counted volume, trades, fees, buy and sell volume, distinct
  participants who traded, distinct traders of the event's markets and joins.
- `participants`: every participant (ParticipantsTable) with their totals, score, rank and qualification. The rank
  is the leaderboard's order (score, then who reached it first, then who joined first: the board key) among the
  participants on the board; disqualified participants and those with nothing to rank have none.

Formats: CSV (RFC 4180, a header line, CRLF line ends as the csv module writes them) and JSON Lines (one object per
row). Every value is text in both (decimals in their canonical form, times UTC ISO-8601, empty for none), so a
file reads the same in either format and no amount passes through a float.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum

from arena.domain import exact
from arena.domain.rollups import EventBucket


class ExportDataset(StrEnum):
    TIMESERIES = "timeseries"
    PARTICIPANTS = "participants"


class ExportFormat(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"


CONTENT_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.JSONL: "application/x-ndjson"}

COLUMNS: dict[ExportDataset, tuple[str, ...]] = {
    ExportDataset.TIMESERIES: (
        "event_id",
        "resolution",
        "bucket_start",
        "volume",
        "trades",
        "fees",
        "buy_volume",
        "sell_volume",
        "traders",
        "market_traders",
        "joins",
    ),
    ExportDataset.PARTICIPANTS: (
        "event_id",
        "user_id",
        "joined_at",
        "volume",
        "pnl",
        "fees",
        "trades",
        "first_trade_at",
        "last_trade_at",
        "score",
        "rank",
        "qualified",
        "disqualified",
    ),
}

Row = dict[str, str]


@dataclass(frozen=True)
class ParticipantLine:
    """What the participants dataset needs of one participant (the store's record, flattened)."""

    event_id: str
    user_id: str
    joined_at: datetime
    volume: Decimal
    pnl: Decimal
    fees: Decimal
    trades: int
    first_trade_at: datetime | None
    last_trade_at: datetime | None
    score: Decimal
    board_key: str | None
    qualified: bool
    disqualified: bool


def _time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _flag(value: bool) -> str:
    return "true" if value else "false"


def timeseries_rows(buckets: Iterable[EventBucket]) -> list[Row]:
    return [
        {
            "event_id": b.event_id,
            "resolution": b.resolution.value,
            "bucket_start": _time(b.start),
            "volume": exact.canonical(b.tally.volume),
            "trades": str(b.tally.trades),
            "fees": exact.canonical(b.tally.fees),
            "buy_volume": exact.canonical(b.tally.buy_volume),
            "sell_volume": exact.canonical(b.tally.sell_volume),
            "traders": str(b.traders),
            "market_traders": str(b.market_traders),
            "joins": str(b.joins),
        }
        for b in buckets
    ]


def ranks(lines: Sequence[ParticipantLine]) -> dict[str, int]:
    """{user id: rank} of the participants on the board, in the leaderboard's order (descending board key)."""
    ranked = sorted(
        (line for line in lines if line.board_key and not line.disqualified),
        key=lambda line: line.board_key or "",
        reverse=True,
    )
    return {line.user_id: place for place, line in enumerate(ranked, 1)}


def participant_rows(lines: Sequence[ParticipantLine]) -> list[Row]:
    """One row per participant, by rank (the unranked after, by user id)."""
    rank_of = ranks(lines)
    ordered = sorted(lines, key=lambda line: (rank_of.get(line.user_id, len(lines) + 1), line.user_id))
    return [
        {
            "event_id": line.event_id,
            "user_id": line.user_id,
            "joined_at": _time(line.joined_at),
            "volume": exact.canonical(line.volume),
            "pnl": exact.canonical(line.pnl),
            "fees": exact.canonical(line.fees),
            "trades": str(line.trades),
            "first_trade_at": _time(line.first_trade_at),
            "last_trade_at": _time(line.last_trade_at),
            "score": exact.canonical(line.score),
            "rank": str(rank_of[line.user_id]) if line.user_id in rank_of else "",
            "qualified": _flag(line.qualified),
            "disqualified": _flag(line.disqualified),
        }
        for line in ordered
    ]


def render(rows: Iterable[Mapping[str, str]], columns: Sequence[str], fmt: ExportFormat) -> bytes:
    """The file's bytes (UTF-8)."""
    out = io.StringIO()
    if fmt is ExportFormat.CSV:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        writer.writerows(rows)
    else:
        for row in rows:
            out.write(json.dumps({name: row[name] for name in columns}, separators=(",", ":")) + "\n")
    return out.getvalue().encode()


def object_key(export_id: str, dataset: ExportDataset, fmt: ExportFormat) -> str:
    """Where a job's file lives: fixed per job and dataset, so a retried job rewrites the same object."""
    return f"exports/{export_id}/{dataset.value}.{fmt.value}"
