"""Shared fixtures: AWS from moto in-process, tables built from template.yaml, sample payloads from events/."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from local.samples import api_event, sample_event  # noqa: F401 - the tests import them from here

# Property tests judge answers, never speed: on a loaded CI machine input generation and examples run slower, which
# must not fail a test (performance is measured by `make bench`).
settings.register_profile("arena", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("arena")

# No X-Ray daemon here: the shared Tracer (arena/observability.py) is created when arena is first imported, which
# is before any fixture runs, so tracing is turned off for the whole session here (as the local stack does).
os.environ["POWERTOOLS_TRACE_DISABLED"] = "true"

ROOT = Path(__file__).resolve().parent.parent
TABLE_ENV = {
    "EventsTable": "EVENTS_TABLE",
    "ParticipantsTable": "PARTICIPANTS_TABLE",
    "TradesTable": "TRADES_TABLE",
    "AnalyticsTable": "ANALYTICS_TABLE",
    "NotificationsTable": "NOTIFICATIONS_TABLE",
    "LeaderboardTable": "LEADERBOARD_TABLE",
    "AuditTable": "AUDIT_TABLE",
    "LedgerTable": "LEDGER_TABLE",
    "ResultsTable": "RESULTS_TABLE",
    "DistributionTable": "DISTRIBUTION_TABLE",
    "ClaimsTable": "CLAIMS_TABLE",
    "ClaimIdempotencyTable": "CLAIM_IDEMPOTENCY_TABLE",
    "ChatTable": "CHAT_TABLE",
    "CommunityTable": "COMMUNITY_TABLE",
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
    from arena.services import leaderboard, trader_names

    factories.reset()  # settings, every AWS client, the flags store: built again from this test's environment
    leaderboard.cache.clear()
    trader_names.cache.clear()


class TemplateAws:
    """The deployed schema in moto, built once per test process (each pytest-xdist worker has its own) and handed
    to each test as new: creating the template's tables and user pool (moto loads an RSA key per pool), and the
    AWS clients that create them, cost more than most tests.

    Before each test the state is brought back to what a fresh build gives: the template's tables emptied, each
    with a new stream (the stream pumps read from its start); the user pool without users, its role groups empty;
    every other AWS service reset, with the lifecycle's bus and schedule group made again. The state is kept
    between tests while moto is off (`stop(remove_data=False)`). Any test without the `tables` fixture finds moto
    empty, as before (`forget`: a local stack's in-process moto server shares moto's state); a test that resets moto
    itself (its own `mock_aws()`) has the same effect: the next test with `tables` builds again. One boto3 session
    serves every test, so the service models load once (moto's request hook is in it: moto is imported first).
    """

    ACCOUNT = "123456789012"  # moto's default account
    REGION = "us-east-1"
    KEPT = ("dynamodb", "cognito-idp")  # emptied, not rebuilt
    left_in_moto = False  # the state is still in moto while moto is off

    def __init__(self) -> None:
        import boto3
        from moto import mock_aws

        from local.template import load_template

        self._mock_aws = mock_aws
        self._stops: list[Any] = []
        self._clients: dict[str, Any] = {}
        self.template = load_template(ROOT / "template.yaml")
        self.session = boto3.session.Session()
        self.kept: dict[str, str] = {}  # logical id -> name or id of the tables and the user pool, once built
        self.groups: set[str] = set()

    def start(self) -> dict[str, str]:
        """Turn moto on with the template's resources as new; returns {logical id: name or id}."""
        import boto3

        from local.schedules import create_lifecycle_resources

        mock = self._mock_aws()
        mock.start(reset=False)
        self._stops.append(mock.stop)
        boto3.DEFAULT_SESSION = self.session  # moto's stop() puts back the session it found
        self._reset_the_rest()
        if self._built():
            self._empty_tables()
            self._empty_user_pool()
        else:
            self._build()
        names = create_lifecycle_resources(self.template, self._client("events"), self._client("scheduler"))
        return {**self.kept, **names}

    def stop(self) -> None:
        """Turn moto off, keeping its state for the next test (which empties it)."""
        self._stops.pop()(remove_data=False)
        TemplateAws.left_in_moto = True

    @classmethod
    def forget(cls) -> None:
        """Empty moto entirely, as `mock_aws()` leaves it when it stops (the next `start` builds again)."""
        from moto.core.base_backend import BackendDict

        BackendDict.reset()
        cls.left_in_moto = False

    def _build(self) -> None:
        from local.cognito import create_user_pools
        from local.template import create_tables

        self.forget()  # whatever a test left half-made (a table of ours deleted), as a fresh moto
        self.kept = create_tables(self._client("dynamodb"), self.template)
        [(pool_id, groups)] = create_user_pools(self._client("cognito-idp"), self.template).values()
        self.kept["UserPool"] = pool_id
        self.groups = set(groups)

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def _backend(self, service: str) -> Any:
        from moto.backends import get_backend

        return get_backend(service)[self.ACCOUNT][self.REGION]  # type: ignore[call-overload]

    def _built(self) -> bool:
        tables = self._backend("dynamodb").tables
        pools = self._backend("cognito-idp").user_pools
        return (
            bool(self.kept)
            and self.kept["UserPool"] in pools
            and all(name in tables for logical_id, name in self.kept.items() if logical_id != "UserPool")
        )

    def _reset_the_rest(self) -> None:
        from moto.core.base_backend import BackendDict

        for service in list(BackendDict._instances):
            if service.service_name not in self.KEPT:
                for account in service.values():
                    account.reset()

    def _empty_tables(self) -> None:
        from moto.dynamodb.models.table import StreamShard

        backend = self._backend("dynamodb")
        ours = set(self.kept.values())
        for name in list(backend.tables):
            if name not in ours:  # made by the test itself
                del backend.tables[name]
                continue
            table = backend.tables[name]
            table.items.clear()
            if table.stream_shard is not None:
                table.stream_shard = StreamShard(self.ACCOUNT, table)

    def _empty_user_pool(self) -> None:
        pools = self._backend("cognito-idp").user_pools
        for pool_id in [p for p in pools if p != self.kept["UserPool"]]:
            del pools[pool_id]  # made by the test itself
        pool = pools[self.kept["UserPool"]]
        for name in [g for g in pool.groups if g not in self.groups]:
            del pool.groups[name]
        for group in pool.groups.values():
            group.users.clear()
        for held in (pool.users, pool.clients, pool.refresh_tokens, pool.access_tokens, pool.id_tokens):
            held.clear()


@pytest.fixture(scope="session")
def template_aws() -> TemplateAws:
    return TemplateAws()


@pytest.fixture(autouse=True, scope="module")
def _moto_as_each_module_expects_it() -> None:
    """A module starts without what another module's tests left in moto: its module-scoped fixtures (an in-process
    local stack on moto) are built before any test's own fixtures run, so the per-test reset below must not be the
    first to empty moto under them."""
    if TemplateAws.left_in_moto:
        TemplateAws.forget()


@pytest.fixture(autouse=True)
def _moto_as_other_tests_expect_it(request: pytest.FixtureRequest) -> None:
    """A test without the `tables` fixture starts without what the previous tests left in moto."""
    if TemplateAws.left_in_moto and "tables" not in request.fixturenames:
        TemplateAws.forget()


@pytest.fixture
def tables(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, template_aws: TemplateAws
) -> Iterator[dict[str, str]]:
    """Given the deployed schema: every table of template.yaml, its lifecycle bus and schedule group, and its user
    pool with the role groups, in moto (in-process), with nothing in them (TemplateAws)."""
    from local.stack import serialise_moto_transactions

    request.addfinalizer(serialise_moto_transactions())
    names = template_aws.start()
    try:
        for logical_id, env_name in {**TABLE_ENV, **LIFECYCLE_ENV}.items():
            monkeypatch.setenv(env_name, names[logical_id])
        monkeypatch.setenv("RATE_LIMITS", json.dumps({"table": names["RateLimitsTable"]}))
        monkeypatch.setenv("USER_POOL_ID", names["UserPool"])
        _clear_caches()
        yield names
        _clear_caches()
    finally:
        template_aws.stop()


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
