"""Export files (arena/domain/exports.py): the participants' ranks, the rows, and the two formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

from arena.domain.exports import (
    COLUMNS,
    ExportDataset,
    ExportFormat,
    ParticipantLine,
    object_key,
    participant_rows,
    ranks,
    render,
    timeseries_rows,
)
from arena.domain.ranking import board_key
from arena.domain.rollups import EventBucket, Resolution, Tally

JOINED = datetime(2026, 12, 1, 9, tzinfo=UTC)


def line(
    user: str, score: str, reached_ms: int = 1_000, *, on_board: bool = True, **changes: object
) -> ParticipantLine:
    values: dict[str, object] = {
        "event_id": "e1",
        "user_id": user,
        "joined_at": JOINED,
        "volume": Decimal(score),
        "pnl": Decimal("-1.5"),
        "fees": Decimal("0.10"),
        "trades": 2,
        "first_trade_at": None,
        "last_trade_at": None,
        "score": Decimal(score),
        "board_key": board_key(Decimal(score), reached_ms, 0, user) if on_board else None,
        "qualified": True,
        "disqualified": False,
        **changes,
    }
    return ParticipantLine(**values)  # type: ignore[arg-type]


def test_ranks_follow_the_board_order_and_skip_the_disqualified_and_the_unranked() -> None:
    """Given participants with scores, a tie broken by who reached it first, one disqualified and one off the board
    When they are ranked
    Then the board's order decides: highest score, then who reached it first; the rest have no rank"""
    lines = [
        line("ana", "100", reached_ms=2_000),
        line("ben", "100", reached_ms=1_000),
        line("cy", "500"),
        line("dee", "900", disqualified=True),
        line("eve", "0", on_board=False),
    ]
    # When
    # Then
    assert ranks(lines) == {"cy": 1, "ben": 2, "ana": 3}
    rows = participant_rows(lines)
    assert [(r["user_id"], r["rank"]) for r in rows] == [
        ("cy", "1"),
        ("ben", "2"),
        ("ana", "3"),
        ("dee", ""),
        ("eve", ""),
    ]
    assert rows[0]["fees"] == "0.1" and rows[0]["pnl"] == "-1.5" and rows[0]["joined_at"] == "2026-12-01T09:00:00.000Z"
    assert rows[3]["disqualified"] == "true" and rows[0]["first_trade_at"] == ""


def test_timeseries_rows_are_exact_decimal_strings() -> None:
    """Given one hour bucket
    When it becomes a row
    Then every column is there, as text"""
    bucket = EventBucket(
        event_id="e1",
        resolution=Resolution.HOUR,
        start=datetime(2026, 12, 2, 10, tzinfo=UTC),
        tally=Tally(Decimal("700.50"), 2, Decimal("1.75"), Decimal("700.50"), Decimal(0)),
        by_market={},
        traders=2,
        market_traders=3,
        joins=1,
    )
    # When
    [row] = timeseries_rows([bucket])
    # Then
    assert list(row) == list(COLUMNS[ExportDataset.TIMESERIES])
    assert row["volume"] == "700.5" and row["sell_volume"] == "0" and row["bucket_start"] == "2026-12-02T10:00:00.000Z"
    assert (row["traders"], row["market_traders"], row["joins"]) == ("2", "3", "1")


def test_csv_and_json_lines_carry_the_same_rows() -> None:
    """Given rows with a comma, a quote and a non-ASCII name in them
    When they are written in both formats
    Then each format reads back to the same rows, the CSV with its header"""
    rows = participant_rows([line('o"neil, jr', "12.5"), line("zoë", "3")])
    columns = COLUMNS[ExportDataset.PARTICIPANTS]
    # When
    as_csv = render(rows, columns, ExportFormat.CSV).decode()
    as_jsonl = render(rows, columns, ExportFormat.JSONL).decode()
    # Then
    assert as_csv.splitlines()[0] == ",".join(columns)
    assert list(csv.DictReader(io.StringIO(as_csv))) == rows
    assert [json.loads(text) for text in as_jsonl.splitlines()] == rows


def test_a_jobs_files_have_fixed_keys() -> None:
    """Given a job and a dataset
    When its key is asked twice
    Then it is the same (a retried job rewrites the same object)"""
    # When
    # Then
    key = object_key("01jbjob", ExportDataset.TIMESERIES, ExportFormat.JSONL)
    assert (
        key == object_key("01jbjob", ExportDataset.TIMESERIES, ExportFormat.JSONL) == "exports/01jbjob/timeseries.jsonl"
    )
