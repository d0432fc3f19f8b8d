"""The analytics archive end to end on moto: trades put through the Firehose adapter land in S3, and the README's
Athena SQL, run by `local.athena` (DuckDB) over those objects, answers with the figures an oracle computes here."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
from arena.adapters import archive
from arena.domain.archive import ArchivedTrade

from local import athena

ROOT = Path(__file__).resolve().parents[2]
EVENT = "01jbarchiveevent000000000"
OTHER_EVENT = "01jbarchiveother000000000"
FROM, TO = "2026-10-05", "2026-11-29"  # eight whole ISO weeks, Monday to Sunday
MARKETS = ["BTC-USDT", "ETH-USDT", "SOL-USDT", "XRP-USDT"]


def readme_queries() -> list[str]:
    """The SQL blocks of README's "The archive (Athena)" section, placeholders filled as a reader would."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### The archive (Athena)", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.DOTALL)
    return [b.replace("<EVENT_ID>", EVENT).replace("<FROM>", FROM).replace("<TO>", TO) for b in blocks]


def trade_stream(seed: int = 13) -> tuple[list[ArchivedTrade], list[ArchivedTrade]]:
    """(feed records, event records): 40 traders over ten weeks around an event in the season's third week."""
    rng = random.Random(seed)
    start = datetime(2026, 9, 28, tzinfo=UTC)  # a week before FROM: outside the range the queries read
    event_start, event_end = datetime(2026, 10, 19, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC)
    feed: list[ArchivedTrade] = []
    counted: list[ArchivedTrade] = []
    for n in range(1_500):
        at = start + timedelta(seconds=rng.randrange(0, 70 * 86_400))
        user = f"trader-{rng.randrange(40):02d}"
        base = ArchivedTrade(
            trade_id=f"t{n:05d}",
            user_id=user,
            market=rng.choice(MARKETS),
            side=rng.choice(["buy", "sell"]),
            quantity=Decimal(rng.randrange(1, 10_000)) / 1000,
            price=Decimal(rng.randrange(100, 90_000)) / 100,
            executed_at=at,
            fee=Decimal(rng.randrange(0, 500)) / 100,
        )
        feed.append(base)
        # The event counts its participants' trades (traders 00-14) in its markets and window.
        if event_start <= at < event_end and int(user[-2:]) < 15 and base.market in MARKETS[:2]:
            counted.append(ArchivedTrade(**{**base.__dict__, "event_id": EVENT}))
        elif int(user[-2:]) >= 30 and at < event_start:
            counted.append(ArchivedTrade(**{**base.__dict__, "event_id": OTHER_EVENT}))
    return feed, counted


def monday(moment: datetime) -> datetime:
    day = moment.date() - timedelta(days=moment.weekday())
    return datetime(day.year, day.month, day.day)


def in_range(t: ArchivedTrade) -> bool:
    return date.fromisoformat(FROM) <= t.executed_at.date() <= date.fromisoformat(TO)


def oracle_retention(feed: list[ArchivedTrade], counted: list[ArchivedTrade]) -> list[tuple[Any, ...]]:
    cohort = {t.user_id for t in counted if t.event_id == EVENT}
    weekly: dict[datetime, set[str]] = defaultdict(set)
    for t in feed:
        if in_range(t) and t.user_id in cohort:
            weekly[monday(t.executed_at)].add(t.user_id)
    return [(week, len(users), len(cohort)) for week, users in sorted(weekly.items())]


def oracle_top_markets(feed: list[ArchivedTrade]) -> list[tuple[Any, ...]]:
    totals: dict[tuple[datetime, str], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for t in feed:
        if in_range(t):
            entry = totals[(monday(t.executed_at), t.market)]
            entry[0] += t.volume
            entry[1] += 1
    rows = []
    for week in sorted({w for w, _ in totals}):
        ranked = sorted(((m, *totals[(w, m)]) for w, m in totals if w == week), key=lambda r: -r[1])
        for place, (market, volume, trades) in enumerate(ranked[:3], 1):
            rows.append((week, place, market, volume, trades))
    return rows


def oracle_hours(counted: list[ArchivedTrade]) -> list[tuple[Any, ...]]:
    hours: dict[int, list[Any]] = defaultdict(lambda: [0, set(), Decimal(0)])
    for t in counted:
        if t.event_id == EVENT:
            entry = hours[t.executed_at.hour]
            entry[0] += 1
            entry[1].add(t.user_id)
            entry[2] += t.volume
    return [(hour, n, len(users), volume) for hour, (n, users, volume) in sorted(hours.items())]


def test_readme_sql_answers_over_the_archive_with_the_oracles_figures(archive_names: dict[str, str]) -> None:
    """Given a season of trades archived through the adapter, the event's batch delivered twice (at least once)
    Then Firehose delivered them to the archive bucket as objects under trades/
    When the README's three queries run locally over those objects
    Then a cohort's retention across the season is the oracle's, week by week"""
    feed, counted = trade_stream()
    archive.put_trades(feed)
    archive.put_trades(counted)
    archive.put_trades([t for t in counted if t.event_id == EVENT][:50])
    s3 = boto3.client("s3")
    bucket = archive_names["ArchiveBucket"]
    # Then
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=athena.ARCHIVE_PREFIX).get("Contents", [])]
    assert len(keys) >= 3

    # When
    retention, top_markets, hours = readme_queries()
    names, rows = athena.query(retention, s3, bucket)
    # Then
    assert names == ["week", "active", "cohort_size", "retention_pct"]
    assert [r[:3] for r in rows] == oracle_retention(feed, counted)
    assert len(rows) == 8  # every week of the season, the weeks before it not read
    assert all(round(100 * r[1] / r[2], 1) == float(r[3]) for r in rows)

    # and the top three markets of each week, by volume, exactly
    names, rows = athena.query(top_markets, s3, bucket)
    assert names == ["week", "place", "market", "volume", "trades"]
    assert [tuple(r) for r in rows] == oracle_top_markets(feed)
    assert len(rows) == 8 * 3

    # and the event's volume by hour of day, the redelivered records counted once
    names, rows = athena.query(hours, s3, bucket)
    assert names == ["hour_utc", "trades", "traders", "volume"]
    assert [tuple(r) for r in rows] == oracle_hours(counted)
    assert sum(r[1] for r in rows) == sum(1 for t in counted if t.event_id == EVENT) > 20


def test_local_athena_command_prints_tab_separated_rows(archive_names: dict[str, str], capsys: Any) -> None:
    """Given two trades of the feed in the archive
    When the command runs a query against moto's bucket
    Then it prints the header and the answer"""
    feed, _ = trade_stream()
    archive.put_trades(feed[:2])
    # When
    endpoint = boto3.client("s3").meta.endpoint_url
    code = athena.main(
        ["SELECT COUNT(*) AS trades FROM trades", "--endpoint", endpoint, "--bucket", archive_names["ArchiveBucket"]]
    )
    # Then
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ["trades", "2"]
