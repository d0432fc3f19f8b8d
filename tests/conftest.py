"""Shared fixtures: AWS from moto in-process, tables built from template.yaml, sample payloads from events/."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local.samples import api_event, sample_event  # noqa: F401 - the tests import them from here

# No X-Ray daemon here: the shared Tracer (arena/observability.py) is created when arena is first imported, which
# is before any fixture runs, so tracing is turned off for the whole session here (as the local stack does).
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"

ROOT = Path(__file__).resolve().parent.parent
TABLE_ENV = {
    "EventsTable": "EVENTS_TABLE",
    "ParticipantsTable": "PARTICIPANTS_TABLE",
    "TradesTable": "TRADES_TABLE",
    "AnalyticsTable": "ANALYTICS_TABLE",
    "LeaderboardTable": "LEADERBOARD_TABLE",
    "AuditTable": "AUDIT_TABLE",
    "LedgerTable": "LEDGER_TABLE",
    "ResultsTable": "RESULTS_TABLE",
    "DistributionTable": "DISTRIBUTION_TABLE",
    "ClaimsTable": "CLAIMS_TABLE",
    "ClaimIdempotencyTable": "CLAIM_IDEMPOTENCY_TABLE",
}
# The lifecycle's bus and schedule group (created from template.yaml beside the tables).
LIFECYCLE_ENV = {"ArenaEventBus": "EVENT_BUS_NAME", "LifecycleScheduleGroup": "SCHEDULE_GROUP"}


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    # botocore otherwise sends stream calls to an account-specific host that moto does not serve.
    monkeypatch.setenv("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


def _clear_caches() -> None:
    from arena import factories
    from arena.services import leaderboard

    factories.reset()  # settings, every AWS client, the flags store: built again from this test's environment
    leaderboard.cache.clear()


@pytest.fixture
def tables(aws_env: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Given the deployed schema: every table of template.yaml, its lifecycle bus and schedule group, and its user
    pool with the role groups, created in moto (in-process)."""
    import boto3
    from moto import mock_aws

    from local.cognito import create_user_pools
    from local.schedules import create_lifecycle_resources
    from local.stack import serialise_moto_transactions
    from local.template import create_tables, load_template

    request.addfinalizer(serialise_moto_transactions())
    with mock_aws():
        template = load_template(ROOT / "template.yaml")
        names = create_tables(boto3.client("dynamodb"), template)
        names.update(create_lifecycle_resources(template, boto3.client("events"), boto3.client("scheduler")))
        for logical_id, env_name in {**TABLE_ENV, **LIFECYCLE_ENV}.items():
            monkeypatch.setenv(env_name, names[logical_id])
        monkeypatch.setenv("RATE_LIMITS", json.dumps({"table": names["RateLimitsTable"]}))
        [(pool_id, _)] = create_user_pools(boto3.client("cognito-idp"), template).values()
        names["UserPool"] = pool_id
        monkeypatch.setenv("USER_POOL_ID", pool_id)
        _clear_caches()
        yield names
        _clear_caches()


@pytest.fixture
def archive_names(tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Given the analytics archive: template.yaml's S3 bucket and Firehose delivery stream, created in moto beside
    the tables (moto's Firehose writes each PutRecordBatch to the bucket at once, as JSON lines)."""
    import boto3

    from local.template import LocalContext, create_buckets, create_delivery_streams, load_template

    template = load_template(ROOT / "template.yaml")
    context = LocalContext(template=template)
    names = {**create_buckets(boto3.client("s3"), template, context)}
    names.update(create_delivery_streams(boto3.client("firehose"), template, context))
    monkeypatch.setenv("ARCHIVE_BUCKET", names["ArchiveBucket"])
    monkeypatch.setenv("ARCHIVE_STREAM", names["ArchiveStream"])
    _clear_caches()
    return names


@pytest.fixture
def frozen_clock() -> Iterator[Any]:
    """A clock the test moves by hand: `frozen_clock.set(datetime)`."""
    from arena import clock

    class Clock:
        moment = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

        def set(self, moment: datetime) -> None:
            self.moment = moment

        def now(self) -> datetime:
            return self.moment

    fake = Clock()
    previous = clock._source
    clock.set_source(fake.now)
    yield fake
    clock.set_source(previous)


class FakeLambdaContext:
    function_name = "arena-test"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:arena-test"
    memory_limit_in_mb = 512
    aws_request_id = "test-request"
    log_group_name = "/aws/lambda/arena-test"
    log_stream_name = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


class StreamPump:
    """Delivers a table's stream to a handler on demand, as Lambda's event source mapping would (tests call
    `drain()` where the real system would simply wait about a second)."""

    def __init__(self, table_name: str, handler: Any, context: Any) -> None:
        import boto3

        from local.pollers import DynamoDBStreamPoller

        arn = boto3.client("dynamodb").describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
        self._poller = DynamoDBStreamPoller(
            boto3.client("dynamodbstreams"),
            arn,
            lambda event: handler(event, context),
            batch_size=1000,
            starting_position="TRIM_HORIZON",
            report_batch_item_failures=True,
            retry_backoff=0,
        )

    def drain(self) -> int:
        """Deliver everything pending. Standing in for the second that passes, it also lets the leaderboard
        readers' short-lived cache expire when something was delivered."""
        from arena.services import leaderboard

        delivered = 0
        while (count := self._poller.poll_once()) > 0:
            delivered += count
        if delivered:
            leaderboard.cache.clear()
        return delivered


@pytest.fixture
def leaderboard_refresh(tables: dict[str, str], lambda_context: Any) -> StreamPump:
    """The participants stream wired to the leaderboard refresher (functions/leaderboard/refresh_leaderboard.py)."""
    import importlib.util
    import sys

    name = "arena_test_refresh_leaderboard"
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / "leaderboard" / "refresh_leaderboard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return StreamPump(tables["ParticipantsTable"], module.lambda_handler, lambda_context)
