"""The benchmark run: DynamoDB Local, the template's tables, the real handlers in-process, counted DynamoDB calls.

Per size N (participants):

1. tables from template.yaml (fresh per size), an event created through POST /api/events (join not required,
   ranking by volume, a minimum volume so some participants are unqualified, started yesterday, ending next week);
2. trades from local.simulator.TradeSimulator: every one of the N users trades once, half as many more go to
   users weighted by the simulator's Pareto activity, and 10% of the trades are sent again later (at-least-once
   delivery, both inside a batch and across batches); posted through POST /api/trades in batches of 500 by a few
   threads, each with its own copy of the handler module (an API resolver serves one request at a time);
3. the participants stream drained into the refresh handler (DynamoDBStreamPoller.poll_once, batches of 1,000);
4. the naive design's table filled with a copy of the participants (set-up, not measured);
5. top-100, my rank and around me through the real read handlers for a sample of users, cold (cache cleared
   before each call) and warm (cache kept), and the same three reads done the naive way.

Nothing here asserts on time; a wrong answer (a rank that differs from the naive COUNT, a trade not counted) is
reported as a mismatch.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
import os
import queue
import random
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stdout, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.counters import DynamoCounters, Tally
from local.samples import api_event

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "shared" / "python"
FEED_CLAIMS = {"sub": "feed", "cognito:groups": "[service]"}
ADMIN_CLAIMS = {"sub": "bench-admin", "cognito:groups": "[admin]"}
MIN_VOLUME = "20000"  # about half the participants trade less than this: unqualified
WARMUP_CALLS = 30  # unmeasured calls of each read before the measured ones


@dataclass
class Options:
    sizes: list[int]
    samples: int = 200
    # The naive rank reads COUNT everything above the user: at 100,000 participants one call reads ~50,000 index
    # entries, and DynamoDB Local takes seconds for it (each 1 MB page costs it ~0.3 s of CPU). Its my-rank and
    # around-me figures use max(20, budget // N) of the sampled users, evenly spaced by rank (all of them up to
    # 10,000 participants); top-100 always uses every sample.
    naive_items_budget: int = 2_000_000
    naive_samples: int | None = None
    batch_size: int = 500
    ingest_threads: int = 4
    extra_trades: float = 0.5  # beyond one trade per user, as a fraction of N
    repeats: float = 0.10  # trades sent again, as a fraction of the unique trades
    around: int = 5
    output: Path = ROOT / "bench" / "RESULTS.md"
    seed: int = 20_261_201


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- figures


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


@dataclass
class ReadFigures:
    name: str
    calls: int
    p50_ms: float
    p95_ms: float
    mean_ms: float
    requests: float  # DynamoDB requests per call (mean)
    max_requests: int
    read_units: float  # per call (mean)
    max_read_units: float
    operations: str
    hit_rate: float | None = None

    @classmethod
    def of(cls, name: str, latencies: list[float], tallies: list[Tally], hit_rate: float | None = None) -> ReadFigures:
        total = Tally()
        for t in tallies:
            total.calls.update(t.calls)
            total.read_units += t.read_units
        n = max(1, len(tallies))
        return cls(
            name=name,
            calls=len(latencies),
            p50_ms=percentile(latencies, 50),
            p95_ms=percentile(latencies, 95),
            mean_ms=sum(latencies) / max(1, len(latencies)),
            requests=total.requests / n,
            max_requests=max((t.requests for t in tallies), default=0),
            read_units=total.read_units / n,
            max_read_units=max((t.read_units for t in tallies), default=0.0),
            operations=", ".join(f"{op} {c / n:.2f}" for op, c in sorted(total.calls.items())) or "none",
            hit_rate=hit_rate,
        )


@dataclass
class SizeResult:
    participants: int
    event_id: str = ""
    # per phase: (wall seconds, CPU seconds of this Python process, CPU seconds of DynamoDB Local)
    phases: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)
    refresh: dict[str, Any] = field(default_factory=dict)
    ours_cold: dict[str, ReadFigures] = field(default_factory=dict)
    ours_warm: dict[str, ReadFigures] = field(default_factory=dict)
    naive: dict[str, ReadFigures] = field(default_factory=dict)
    checks: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- environment


BENCH_COMMUNITY_SECRET = "bench-community-secret-0123456789abcdef"


def _handle(user_id: str) -> str:
    """A trader's public handle, as the leaderboard names them to other traders."""
    from arena.domain.community import handle

    return handle(BENCH_COMMUNITY_SECRET, user_id)


def prepare_environment(endpoint: str) -> None:
    """Fake credentials, one region, DynamoDB (and its streams) at DynamoDB Local; the layer on sys.path."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": endpoint,
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            # Any other AWS service the product calls (Scheduler, EventBridge: event creation syncs schedules, best
            # effort) goes to a closed local port and fails at once: nothing leaves the machine.
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            "AWS_MAX_ATTEMPTS": "1",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            # Metrics stay on (their cost is part of a read); their EMF lines go to stdout, which run() discards.
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "arena",
            # Traders are named by handle and public name (as deployed): the profile reads are part of a read.
            "COMMUNITY_SECRET": BENCH_COMMUNITY_SECRET,
        }
    )
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    if str(LAYER) not in sys.path:
        sys.path.insert(0, str(LAYER))  # stands in for the Lambda layer at /opt/python
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def table_variables(template: dict[str, Any]) -> dict[str, str]:
    """{environment variable: table logical id} from the template's Globals (EVENTS_TABLE: !Ref EventsTable, ...),
    so a table the template adds is created and named for the handlers without touching the bench."""
    from local.template import TABLE_TYPE, resources_of_type

    tables = resources_of_type(template, TABLE_TYPE)
    variables = (((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get("Variables")
    return {
        name: value["Ref"]
        for name, value in (variables or {}).items()
        if isinstance(value, dict) and value.get("Ref") in tables
    }


def use_tables(variables: dict[str, str], names: dict[str, str]) -> None:
    from arena.config import settings
    from arena.services import leaderboard

    for variable, logical_id in variables.items():
        os.environ[variable] = names[logical_id]
    # One bench caller reads far past any quota: the figures are the product's work without the rate limit, whose
    # own cost is measured apart (bench/rate_limits.py).
    if "RateLimitsTable" in names:
        os.environ["RATE_LIMITS"] = json.dumps({"table": names["RateLimitsTable"], "enabled": False})
    settings.cache_clear()
    leaderboard.cache.clear()


def load_handler(relative: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / relative)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class FakeLambdaContext:
    function_name = "arena-bench"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:arena-bench"
    memory_limit_in_mb = 1024
    aws_request_id = "bench-request"
    log_group_name = "/aws/lambda/arena-bench"
    log_stream_name = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 29_000


CONTEXT = FakeLambdaContext()


def answer(response: dict[str, Any], expected: int = 200) -> Any:
    if response.get("statusCode") != expected:
        raise RuntimeError(f"handler answered {response.get('statusCode')}: {response.get('body')}")
    return json.loads(response["body"]) if response.get("body") else None


ENGINE_PID: int | None = None


def engine_cpu_seconds() -> float:
    """User + system CPU time of the DynamoDB Local process so far (0 when unknown)."""
    if ENGINE_PID is None:
        return 0.0
    try:
        fields = Path(f"/proc/{ENGINE_PID}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def timed(phases: dict[str, tuple[float, float, float]], name: str) -> Iterator[None]:
    started, python, engine = time.perf_counter(), time.process_time(), engine_cpu_seconds()
    log(f"{name} ...")
    try:
        yield
    finally:
        phases[name] = (
            time.perf_counter() - started,
            time.process_time() - python,
            engine_cpu_seconds() - engine,
        )
        wall, py, java = phases[name]
        log(f"{name}: {wall:.1f} s (CPU: Python {py:.1f} s, DynamoDB Local {java:.1f} s)")


# ---------------------------------------------------------------------------------------------- load


def make_users(n: int, rng: random.Random) -> list[str]:
    # Cognito subjects are UUIDs; their entropy is what the snapshot buckets have to store.
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(n)]


def make_trades(
    users: list[str], start: datetime, end: datetime, options: Options, seed: int
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every user once, plus extra trades by activity, plus repeats sent after their original (same or later batch).

    TradeSimulator.trade picks a trader with random.choices(weights=...), which sums N weights per trade; the
    traders are picked here once with cumulative weights instead and passed in."""
    from local.simulator import TradeSimulator

    rng = random.Random(seed)
    simulator = TradeSimulator(traders=users, seed=seed, prefix=f"B{len(users)}")
    extra = rng.choices(
        users, cum_weights=list(accumulate(simulator._activity)), k=int(len(users) * options.extra_trades)
    )
    order = users + extra
    rng.shuffle(order)
    span_ms = int((end - start).total_seconds() * 1000)
    unique = [simulator.trade(start + timedelta(milliseconds=rng.randrange(span_ms)), trader=u) for u in order]
    # Repeats: a copy of an earlier trade, placed anywhere after it.
    keyed = [(float(i), t) for i, t in enumerate(unique)]
    for i in rng.sample(range(len(unique)), k=int(len(unique) * options.repeats)):
        keyed.append((rng.uniform(i + 0.5, len(unique)), dict(unique[i])))
    keyed.sort(key=lambda kt: kt[0])
    posted = [t for _, t in keyed]
    in_batch = 0
    for start_index in range(0, len(posted), options.batch_size):
        ids = [t["trade_id"] for t in posted[start_index : start_index + options.batch_size]]
        in_batch += len(ids) - len(set(ids))
    repeats = len(posted) - len(unique)
    return posted, {
        "unique": len(unique),
        "repeats": repeats,
        "repeats_in_batch": in_batch,
        "repeats_across": repeats - in_batch,
    }


# ---------------------------------------------------------------------------------------------- the run


class Bench:
    def __init__(self, options: Options, endpoint: str) -> None:
        import boto3
        from arena.config import settings
        from arena.store import dynamo
        from botocore.config import Config

        from local.template import load_template

        self.options = options
        settings.cache_clear()
        dynamo.client.cache_clear()
        self.client = dynamo.client()  # the product's client: every product call goes through it
        self.counters = DynamoCounters().attach(self.client)
        # Set-up and the stream reads are not product calls: a client nobody counts.
        retries = {"max_attempts": 8, "mode": "standard"}
        self.admin = boto3.client("dynamodb", config=Config(retries=retries, max_pool_connections=16))
        self.streams = boto3.client("dynamodbstreams", config=Config(retries=retries))
        self.naive_client = boto3.client("dynamodb", config=Config(retries={"max_attempts": 8, "mode": "adaptive"}))
        self.naive_counters = DynamoCounters().attach(self.naive_client)
        self.template = load_template(ROOT / "template.yaml")
        self.endpoint = endpoint
        self.create_event = load_handler("functions/events/create_event.py", "bench_create_event")
        self.get_leaderboard = load_handler("functions/leaderboard/get_leaderboard.py", "bench_get_leaderboard")
        self.get_my_rank = load_handler("functions/leaderboard/get_my_rank.py", "bench_get_my_rank")
        self.refresh = load_handler("functions/leaderboard/refresh_leaderboard.py", "bench_refresh_leaderboard")
        self.ingest_modules = [
            load_handler("functions/trades/ingest_trades.py", f"bench_ingest_trades_{i}")
            for i in range(max(1, options.ingest_threads))
        ]

    # -- per size

    def run_size(self, n: int) -> SizeResult:
        from local.template import TABLE_TYPE, create_tables, resources_of_type

        result = SizeResult(participants=n)
        rng = random.Random(self.options.seed + n)
        names = {logical_id: f"bench{n}-{logical_id}" for logical_id in resources_of_type(self.template, TABLE_TYPE)}
        with timed(result.phases, f"N={n:,}: tables"):
            created = create_tables(self.admin, self.template, names)
            use_tables(table_variables(self.template), created)
        try:
            self._event(result)
            users = make_users(n, rng)
            with timed(result.phases, f"N={n:,}: generate trades"):
                now = datetime.now(UTC)
                trades, shape = make_trades(
                    users, now - timedelta(days=1), now - timedelta(seconds=5), self.options, rng.getrandbits(32)
                )
            self._ingest(result, trades, shape)
            self._drain(result, created["ParticipantsTable"])
            naive_table = f"bench{n}-Naive"
            with timed(result.phases, f"N={n:,}: copy participants to the naive table"):
                from bench.baseline import create_and_copy

                result.checks["naive_items"] = create_and_copy(self.admin, created["ParticipantsTable"], naive_table)
            sample = rng.sample(users, k=min(self.options.samples, n))
            warmup = rng.sample(users, k=min(self.options.samples, n))
            self._reads_ours(result, sample, warmup)
            self._reads_naive(result, sample, naive_table)
        finally:
            with timed(result.phases, f"N={n:,}: drop tables"):
                for table in [*created.values(), f"bench{n}-Naive"]:
                    with suppress(self.admin.exceptions.ResourceNotFoundException):
                        self.admin.delete_table(TableName=table)
        return result

    def _event(self, result: SizeResult) -> None:
        now = datetime.now(UTC)
        body = {
            "name": f"Bench volume cup ({result.participants:,})",
            "description": "Benchmark event",
            "start_at": (now - timedelta(days=1)).isoformat().replace("+00:00", "Z"),
            "end_at": (now + timedelta(days=7)).isoformat().replace("+00:00", "Z"),
            "ranking_metric": "volume",
            "markets": [],
            "join_required": False,
            "qualification": {"min_volume": MIN_VOLUME, "min_trades": 1},
            "prizes": [{"rank_from": 1, "rank_to": 10, "type": "points", "amount": "1000"}],
        }
        created = answer(
            self.create_event.lambda_handler(
                api_event("events/create_event.json", body=body, claims=ADMIN_CLAIMS), CONTEXT
            ),
            201,
        )
        result.event_id = created["id"]

    def _ingest(self, result: SizeResult, trades: list[dict[str, Any]], shape: dict[str, int]) -> None:
        size = self.options.batch_size
        bodies = [json.dumps({"trades": trades[i : i + size]}) for i in range(0, len(trades), size)]
        events = [api_event("trades/ingest_trades.json", body=b, claims=FEED_CLAIMS) for b in bodies]
        del bodies
        handlers: queue.Queue[ModuleType] = queue.Queue()
        for module in self.ingest_modules:
            handlers.put(module)
        totals: Counter = Counter()
        lock = threading.Lock()

        def post(event: dict[str, Any]) -> None:
            module = handlers.get()
            try:
                body = answer(module.lambda_handler(event, CONTEXT))
            finally:
                handlers.put(module)
            with lock:
                totals.update(
                    received=body["received"],
                    accepted=body["accepted"],
                    duplicates=body["duplicates"],
                    ignored=len(body["ignored"]),
                    rejected=len(body["rejected"]),
                    batches=1,
                )
                if totals["batches"] % max(1, len(events) // 10) == 0:
                    log(f"  {totals['batches']}/{len(events)} batches posted")

        before = self.counters.snapshot()
        started = time.perf_counter()
        pool = ThreadPoolExecutor(max_workers=len(self.ingest_modules))
        try:
            with timed(result.phases, f"N={result.participants:,}: ingest"):
                list(pool.map(post, events))
        finally:
            pool.shutdown(wait=True, cancel_futures=True)  # on an error or ^C, do not post the rest
        seconds = time.perf_counter() - started
        tally = self.counters.snapshot() - before
        posted = len(trades)
        participants_table = os.environ["PARTICIPANTS_TABLE"]
        trades_table = os.environ["TRADES_TABLE"]
        transactions = tally.calls["TransactWriteItems"]
        cancelled = sum(n for k, n in tally.errors.items() if k.startswith("TransactWriteItems:"))
        result.ingest = {
            "posted": posted,
            "batches": len(events),
            "threads": len(self.ingest_modules),
            **shape,
            **dict(totals),
            "seconds": seconds,
            "trades_per_second": posted / seconds,
            "tally": tally,
            "requests_per_trade": tally.requests / posted,
            "reads_per_trade": tally.reads / posted,
            "writes_per_trade": tally.writes / posted,
            "read_units_per_trade": tally.read_units / posted,
            "write_units_per_trade": tally.write_units / posted,
            "aws_write_units_per_trade": tally.aws_write_units / posted,
            "items_per_accepted": tally.items / max(1, totals["accepted"]),
            "trade_items": tally.items_written[trades_table],
            "participant_items": tally.items_written[participants_table],
            "transactions": transactions,
            "committed": transactions - cancelled,
            "cancelled": cancelled,
            "errors": dict(tally.errors),
            "retries": tally.retries,
        }
        result.checks["every_unique_trade_counted"] = totals["accepted"] == shape["unique"]
        result.checks["every_repeat_reported"] = totals["duplicates"] == shape["repeats"]
        result.checks["nothing_ignored_or_rejected"] = totals["ignored"] == 0 and totals["rejected"] == 0

    def _drain(self, result: SizeResult, participants_table: str) -> None:
        from local.pollers import DynamoDBStreamPoller

        arn = self.admin.describe_table(TableName=participants_table)["Table"]["LatestStreamArn"]
        records: Counter = Counter()
        handler_seconds = 0.0
        generations: dict[str, int] = {}

        def deliver(event: dict[str, Any]) -> Any:
            nonlocal handler_seconds
            for record in event["Records"]:
                records[record["eventName"]] += 1
                image = record["dynamodb"]
                old = (image.get("OldImage") or {}).get("board_key", {}).get("S")
                new = (image.get("NewImage") or {}).get("board_key", {}).get("S")
                # What the naive design's GSI would have written for this change: a changed index key is a delete
                # plus a put; a new key one put; the same key with changed projected attributes one update.
                records["gsi_writes"] += (old is not None) + (new is not None) if old != new else int(old is not None)
            started = time.perf_counter()
            response = self.refresh.lambda_handler(event, CONTEXT)
            handler_seconds += time.perf_counter() - started
            records["batches"] += 1
            if records["batches"] % 25 == 0:
                log(f"  {records['batches']} stream batches, {records['INSERT'] + records['MODIFY']:,} records")
            if response.get("batchItemFailures"):
                records["failed_batches"] += 1
            return response

        poller = DynamoDBStreamPoller(
            self.streams,
            arn,
            deliver,
            batch_size=1000,
            starting_position="TRIM_HORIZON",
            report_batch_item_failures=True,
            retry_backoff=0,
        )
        expected = result.ingest["committed"]  # one participant write, one stream record, per committed transaction
        before = self.counters.snapshot()
        started = time.perf_counter()
        delivered, idle = 0, 0
        with timed(result.phases, f"N={result.participants:,}: drain stream into refresh"):
            while delivered < expected and idle < 200:
                count = poller.poll_once()
                delivered += count
                idle = 0 if count else idle + 1
        seconds = time.perf_counter() - started
        tally = self.counters.snapshot() - before
        trades = max(1, result.ingest["accepted"])
        result.refresh = {
            "expected_records": expected,
            "records": delivered,
            "inserts": records["INSERT"],
            "modifies": records["MODIFY"],
            "batches": records["batches"],
            "failed_batches": records["failed_batches"],
            "seconds": seconds,
            "handler_seconds": handler_seconds,
            "tally": tally,
            "reads": tally.reads,
            "writes": tally.writes,
            "items": tally.items,
            "read_units": tally.read_units,
            "write_units": tally.write_units,
            "writes_per_trade": tally.writes / trades,
            "items_per_trade": tally.items / trades,
            "write_units_per_trade": tally.write_units / trades,
            "aws_write_units_per_trade": tally.aws_write_units / trades,
            "read_units_per_trade": tally.read_units / trades,
            "naive_gsi_writes": records["gsi_writes"],
            "naive_gsi_writes_per_trade": records["gsi_writes"] / trades,
            "generations": generations,
        }
        result.checks["stream_fully_delivered"] = delivered == expected
        result.checks["no_failed_refresh_batches"] = records["failed_batches"] == 0

    # -- reads

    def _measure(
        self, calls: list[Callable[[], Any]], counters: DynamoCounters, before_each: Callable[[], None] | None = None
    ) -> tuple[list[float], list[Tally], list[Any]]:
        latencies, tallies, results = [], [], []
        for call in calls:
            if before_each is not None:
                before_each()
            snapshot = counters.snapshot()
            started = time.perf_counter()
            value = call()
            latencies.append((time.perf_counter() - started) * 1000)
            tallies.append(counters.snapshot() - snapshot)
            results.append(value)
        return latencies, tallies, results

    def _read_calls(self, event_id: str, users: list[str]) -> dict[str, list[Callable[[], Any]]]:
        top = api_event(
            "leaderboard/get_leaderboard.json",
            path={"eventId": event_id},
            query={"limit": "100"},
            claims={"sub": users[0], "cognito:groups": "[user]"},
        )

        def mine(user: str, around: int) -> dict[str, Any]:
            return api_event(
                "leaderboard/get_my_rank.json",
                path={"eventId": event_id},
                query={"around": str(around)},
                claims={"sub": user, "cognito:groups": "[user]"},
            )

        def call(handler: Callable[..., Any], event: dict[str, Any]) -> Callable[[], Any]:
            return lambda: answer(handler(event, CONTEXT))

        board, rank = self.get_leaderboard.lambda_handler, self.get_my_rank.lambda_handler
        return {
            "top-100": [call(board, top) for _ in users],
            "my-rank": [call(rank, mine(u, 0)) for u in users],
            "around-me": [call(rank, mine(u, self.options.around)) for u in users],
        }

    def _reads_ours(self, result: SizeResult, sample: list[str], warmup: list[str]) -> None:
        from arena.services.leaderboard import cache

        calls = self._read_calls(result.event_id, sample)
        with timed(result.phases, f"N={result.participants:,}: reads (ours, cold and warm)"):
            # Not measured: the first calls of a process (and DynamoDB Local's JIT) are not what a size costs.
            for batch in self._read_calls(result.event_id, warmup[:WARMUP_CALLS]).values():
                for call in batch:
                    cache.clear()
                    call()
            answers: dict[str, list[Any]] = {}
            for name, batch in calls.items():
                latencies, tallies, answers[name] = self._measure(batch, self.counters, before_each=cache.clear)
                result.ours_cold[name] = ReadFigures.of(name, latencies, tallies)
            # Warm: one pass over other users first (the Lambda has been serving for a while), then measure.
            cache.clear()
            for batch in self._read_calls(result.event_id, warmup).values():
                for call in batch:
                    call()
            for name, batch in calls.items():
                cache.hits = cache.misses = 0
                latencies, tallies, _ = self._measure(batch, self.counters)
                result.ours_warm[name] = ReadFigures.of(name, latencies, tallies, hit_rate=cache.hit_rate)
        top = answers["top-100"][0]
        result.checks["board_total_is_n"] = top["total"] == result.participants
        result.checks["top_page_has_100"] = len(top["entries"]) == min(100, result.participants)
        result.checks["ours_ranks"] = {a["user_id"]: a["rank"] for a in answers["my-rank"]}
        # Other traders are named by handle in a trader's answers; the naive side's user ids are turned into handles.
        result.checks["ours_around"] = {
            a["user_id"]: ([e["handle"] for e in a["above"]], a["rank"], [e["handle"] for e in a["below"]])
            for a in answers["around-me"]
        }
        result.checks["ours_top"] = [e["handle"] for e in top["entries"]]

    def naive_rank_samples(self, n: int) -> int:
        o = self.options
        if o.naive_samples is not None:
            return min(o.samples, o.naive_samples)
        return min(o.samples, max(20, o.naive_items_budget // n))

    def _reads_naive(self, result: SizeResult, sample: list[str], table: str) -> None:
        """The naive reads. around-me is my-rank's GetItem + COUNT plus the two neighbour queries, measured right
        after it for the same user and added up per user, so each COUNT runs once (on DynamoDB Local a COUNT over
        50,000 index entries takes seconds). Above 10,000 participants the rank figures use an evenly spaced
        subset of the sample by rank (every k-th user in rank order), so the few users still cover the ranks."""
        from bench.baseline import NaiveLeaderboard

        naive = NaiveLeaderboard(self.naive_client, table, result.event_id)
        ours_ranks: dict[str, int] = result.checks.pop("ours_ranks")
        ours_around = result.checks.pop("ours_around")
        ours_top = result.checks.pop("ours_top")
        k = self.naive_rank_samples(result.participants)
        by_rank = sorted(sample, key=lambda u: ours_ranks.get(u) or 0)
        ranked = by_rank if k >= len(by_rank) else [by_rank[int((i + 0.5) * len(by_rank) / k)] for i in range(k)]
        with timed(result.phases, f"N={result.participants:,}: reads (naive)"):
            for user in by_rank[:5]:  # not measured, as for ours: the best ranks COUNT little
                naive.top(100)
                naive.my_rank(user)
            latencies, tallies, tops = self._measure([lambda: naive.top(100) for _ in sample], self.naive_counters)
            result.naive["top-100"] = ReadFigures.of("top-100", latencies, tallies)
            rank_ms, rank_tallies, ranks = self._measure(
                [(lambda u=u: naive.my_rank(u)) for u in ranked], self.naive_counters
            )
            near_calls = [(lambda key=key: naive.neighbours(key, self.options.around)) for key, _ in ranks]
            near_ms, near_tallies, near = self._measure(near_calls, self.naive_counters)
        result.naive["my-rank"] = ReadFigures.of("my-rank", rank_ms, rank_tallies)
        result.naive["around-me"] = ReadFigures.of(
            "around-me",
            [a + b for a, b in zip(rank_ms, near_ms, strict=True)],
            [a + b for a, b in zip(rank_tallies, near_tallies, strict=True)],
        )
        result.checks["naive_rank_users"] = len(ranked)
        result.checks["rank_mismatches"] = sum(
            1 for u, (_, rank) in zip(ranked, ranks, strict=True) if ours_ranks.get(u) != rank
        )
        result.checks["around_mismatches"] = sum(
            1
            for u, (_, rank), (above, below) in zip(ranked, ranks, near, strict=True)
            if ours_around.get(u)
            != ([_handle(e["user_id"]) for e in above], rank, [_handle(e["user_id"]) for e in below])
        )
        result.checks["top_100_matches"] = ours_top == [_handle(e["user_id"]) for e in tops[0]]


class Console(io.TextIOBase):
    """Stands in for stdout during the run: the handlers' CloudWatch EMF metric lines are dropped (their cost stays
    in the figures), log lines are kept (the last 40) and errors counted, to be shown if something goes wrong."""

    def __init__(self) -> None:
        self.kept: deque[str] = deque(maxlen=40)
        self.error_messages: Counter = Counter()
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if not line.strip() or line.startswith('{"_aws"'):
                continue
            self.kept.append(line)
            if '"level":"ERROR"' in line.replace(" ", ""):
                try:
                    self.error_messages[str(json.loads(line).get("message"))[:160]] += 1
                except ValueError:
                    self.error_messages[line[:160]] += 1
        return len(text)


def run(options: Options) -> tuple[list[SizeResult], dict[str, Any]]:
    """Every size on a DynamoDB Local of its own, started for it and stopped after it (also on errors).

    One engine for the whole run would be simpler, but DynamoDB Local keeps the stream records of a deleted table
    and then looks them over on every write to any streamed table: after one size's participants table (with its
    stream) is dropped, the next size's transactional writes run ~8 times slower (measured: ~940 transactions/s on
    a fresh engine, ~115/s after a streamed table with 20,000 records was deleted)."""
    from local.dynamodb_local import DynamoDBLocal

    global ENGINE_PID
    started = time.perf_counter()
    load_before = os.getloadavg()
    console = Console()
    results: list[SizeResult] = []
    try:
        # The handlers print EMF metrics and logs on stdout, as in Lambda: keep the work, not the lines.
        with redirect_stdout(console):
            for n in options.sizes:
                engine = DynamoDBLocal()
                log(f"N={n:,}: starting DynamoDB Local on {engine.endpoint}")
                engine.start()
                ENGINE_PID = engine._process.pid if engine._process else None
                try:
                    prepare_environment(engine.endpoint)
                    results.append(Bench(options, engine.endpoint).run_size(n))
                finally:
                    engine.stop()
                    ENGINE_PID = None
                    log(f"N={n:,}: DynamoDB Local stopped")
    except BaseException:
        for line in console.kept:
            print(line, file=sys.stderr)
        raise
    return results, {
        "total_seconds": time.perf_counter() - started,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "logged_errors": dict(console.error_messages),
    }
