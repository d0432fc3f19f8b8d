"""`python -m local.athena "SQL"`: answer the README's Athena SQL over the local archive, with DuckDB.

In AWS, Firehose files the archive as Parquet under `trades/trade_date=.../event_id=.../` and Athena queries the
Glue table `trades`. Locally moto's Firehose writes each PutRecordBatch as one object of JSON lines under
`trades/`, with the partition keys inside each record (domain/archive.py). This command copies those objects from
moto S3 to a temporary folder, loads them into a DuckDB table named `trades` with the Glue table's columns and
types as template.yaml defines them (decimal(38,18), timestamp, the partition keys as strings), runs the SQL and
prints the answer as tab-separated lines with a header. The SQL of README's "The archive (Athena)" is written in the
dialect both engines share (date_trunc, hour, window functions), so it runs unchanged here and in Athena.

The archive is the running stack's (`make run`): its /local/health names moto's endpoint and the bucket; or give
--endpoint and --bucket. DuckDB is a development dependency (requirements-dev.txt), not in the Lambda layer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3

from local import stack_url
from local.template import DEFAULT_REGION, REPO_ROOT, load_template, resources_of_type

# The static part of the archive stream's Prefix in template.yaml (before its dynamic-partitioning expressions).
ARCHIVE_PREFIX = "trades/"
ARCHIVE_BUCKET_ID = "ArchiveBucket"
FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "aws_session_token": "testing"}

ARCHIVE_TABLE_ID = "TradesArchiveTable"
# Glue's types in DuckDB's spelling.
_DUCKDB_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMP", "decimal(38,18)": "DECIMAL(38,18)"}


def glue_columns(template_path: Path | None = None) -> dict[str, str]:
    """The Glue table's columns then partition keys, {name: Glue type}, as template.yaml defines them."""
    template = load_template(template_path or REPO_ROOT / "template.yaml")
    table = resources_of_type(template, "AWS::Glue::Table")[ARCHIVE_TABLE_ID]["TableInput"]
    listed = [*table["StorageDescriptor"]["Columns"], *table["PartitionKeys"]]
    return {str(column["Name"]): str(column["Type"]) for column in listed}


def duckdb_columns() -> dict[str, str]:
    return {name: _DUCKDB_TYPES[kind] for name, kind in glue_columns().items()}


def download_archive(s3: Any, bucket: str, folder: Path, prefix: str = ARCHIVE_PREFIX) -> list[Path]:
    """Copy every archive object under `prefix` to `folder`; returns the files."""
    files: list[Path] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            target = folder / f"part-{len(files):06d}.jsonl"
            s3.download_file(bucket, entry["Key"], str(target))
            files.append(target)
    return files


def connect(files: Sequence[Path]) -> Any:
    """A DuckDB connection with the table `trades` holding the archive's records."""
    import duckdb

    columns = duckdb_columns()
    connection = duckdb.connect()
    connection.execute("CREATE TABLE trades (" + ", ".join(f"{name} {kind}" for name, kind in columns.items()) + ")")
    if files:
        spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"
        listing = "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in files) + "]"
        connection.execute(
            f"INSERT INTO trades SELECT {', '.join(columns)} FROM read_json({listing}, "  # noqa: S608
            f"format = 'newline_delimited', columns = {spec}, timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')"
        )
    return connection


def query(sql: str, s3: Any, bucket: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run `sql` over the archive in `bucket`: (column names, rows)."""
    with tempfile.TemporaryDirectory(prefix="arena-athena-") as folder:
        connection = connect(download_archive(s3, bucket, Path(folder)))
        try:
            result = connection.execute(sql)
            names = [column[0] for column in result.description or []]
            return names, result.fetchall()
        finally:
            connection.close()


def archive_location(arena: str) -> tuple[str, str]:
    """(moto endpoint, archive bucket) from the running stack's health report."""
    with urllib.request.urlopen(f"{arena.rstrip('/')}/local/health", timeout=10) as answer:
        aws = json.loads(answer.read()).get("aws", {})
    bucket = aws.get("buckets", {}).get(ARCHIVE_BUCKET_ID)
    if not bucket or not aws.get("endpoint"):
        raise SystemExit(f"{arena} reports no {ARCHIVE_BUCKET_ID} (is it the Arena local stack, and ready?)")
    return str(aws["endpoint"]), str(bucket)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.athena", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("sql", help="the query; the archive is the table `trades`")
    parser.add_argument("--arena", default=stack_url(), help="the local stack (default $ARENA)")
    parser.add_argument("--endpoint", help="moto's endpoint (default: what the stack's /local/health says)")
    parser.add_argument("--bucket", help="the archive bucket (default: what the stack's /local/health says)")
    args = parser.parse_args(argv)
    endpoint, bucket = args.endpoint, args.bucket
    if not (endpoint and bucket):
        found_endpoint, found_bucket = archive_location(args.arena)
        endpoint, bucket = endpoint or found_endpoint, bucket or found_bucket
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=DEFAULT_REGION, **FAKE_CREDENTIALS)
    import duckdb

    try:
        names, rows = query(args.sql, s3, bucket)
    except duckdb.Error as error:
        print(f"query failed: {error}", file=sys.stderr)
        return 2
    print("\t".join(names))
    for row in rows:
        print("\t".join(_text(value) for value in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
