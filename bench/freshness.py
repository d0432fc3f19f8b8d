"""`python -m bench freshness [--participants 10000] [--rate 200] [--seconds 30] [--window 1.0] [--baseline REF]
[--output PATH]`: how fast the leaderboard snapshot follows the participants stream, in records per second, and how
far it lags behind ingest under a live feed.

Per variant (the code as it is, and with `--baseline REF` the shared layer and functions of that git revision,
run first): a fresh DynamoDB Local, the template's tables, an event made through its handler, then

1. **seed**: every participant's first trade through the ingest handler (batches of 500, 4 threads), nothing
   refreshing meanwhile; then the whole participants stream drained into `refresh_leaderboard` in batches of up to
   1,000 (the template's BatchSize): records per second of catching up, and what a record costs in DynamoDB
   requests, item writes and write units (AWS pricing from item sizes, bench/counters.py);
2. **live**: trades posted through the ingest handler at `--rate` trades per second in 5 batches a second for
   `--seconds`, while a second thread follows the stream into the refresh handler as Lambda does with the
   template's MaximumBatchingWindowInSeconds (`--window`: after a batch, the next is read once the window has
   passed). Each posting batch carries a trade of a marker trader larger than everyone else's volume together,
   so its score names the batch: the lag of a batch is from the start of its POST to the end of the refresh whose
   stream records include it. Records per second, the refresh's busy share of the time, batches, lag p50/p95/max.

Each variant runs in its own process (a layer per interpreter). Figures, not assertions; the section between the
freshness markers in bench/RESULTS.md is replaced on each run.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import random
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout, suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import report
from bench.harness import (
    ADMIN_CLAIMS,
    CONTEXT,
    FEED_CLAIMS,
    ROOT,
    Console,
    answer,
    log,
    make_users,
    percentile,
    prepare_environment,
    table_variables,
    use_tables,
)

RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- freshness:start -->", "<!-- freshness:end -->"
TICKS_PER_SECOND = 5
SEED_BATCH = 500
SEED_THREADS = 4
MARKER = "bench-freshness-marker"
MARKER_PRICE = Decimal(10) ** 9


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Variant:
    """One variant's run: its code root (layer and functions), its tables and handlers on one DynamoDB Local."""

    def __init__(self, root: Path, endpoint: str, engine_pid: int) -> None:
        import boto3
        from botocore.config import Config

        self.root, self.engine_pid = root, engine_pid
        from arena.config import settings
        from arena.store import dynamo

        from bench.counters import DynamoCounters

        settings.cache_clear()
        dynamo.client.cache_clear()
        self.counters = DynamoCounters().attach(dynamo.client())
        retries = {"max_attempts": 8, "mode": "standard"}
        self.admin = boto3.client("dynamodb", config=Config(retries=retries))
        self.streams = boto3.client("dynamodbstreams", config=Config(retries=retries))
        self.create_event = self._load("functions/events/create_event.py", "fresh_create_event")
        self.refresh = self._load("functions/leaderboard/refresh_leaderboard.py", "fresh_refresh_leaderboard")
        self.ingest = [
            self._load("functions/trades/ingest_trades.py", f"fresh_ingest_trades_{i}") for i in range(SEED_THREADS)
        ]

    def _load(self, relative: str, name: str) -> Any:
        import importlib.util

        spec = importlib.util.spec_from_file_location(name, self.root / relative)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    def setup(self, participants: int) -> tuple[str, list[str]]:
        from local.samples import api_event
        from local.template import TABLE_TYPE, create_tables, load_template, resources_of_type

        template = load_template(ROOT / "template.yaml")
        names = {logical: f"fresh-{logical}" for logical in resources_of_type(template, TABLE_TYPE)}
        created = create_tables(self.admin, template, names)
        use_tables(table_variables(template), created)
        self.participants_table = created["ParticipantsTable"]
        now = datetime.now(UTC)
        body = {
            "name": f"Freshness bench ({participants:,})",
            "start_at": _iso(now - timedelta(days=1)),
            "end_at": _iso(now + timedelta(days=7)),
            "ranking_metric": "volume",
            "markets": [],
            "join_required": False,
            "qualification": {"min_volume": "20000", "min_trades": 1},
            "prizes": [{"rank_from": 1, "rank_to": 10, "type": "points", "amount": "1000"}],
        }
        event = api_event("events/create_event.json", body=body, claims=ADMIN_CLAIMS)
        event_id = answer(self.create_event.lambda_handler(event, CONTEXT), 201)["id"]
        return event_id, make_users(participants, random.Random(participants))

    def post(self, module: Any, trades: list[dict[str, Any]]) -> dict[str, Any]:
        from local.samples import api_event

        event = api_event("trades/ingest_trades.json", body=json.dumps({"trades": trades}), claims=FEED_CLAIMS)
        return answer(module.lambda_handler(event, CONTEXT))

    def poller(self) -> Any:
        from local.pollers import DynamoDBStreamPoller

        arn = self.admin.describe_table(TableName=self.participants_table)["Table"]["LatestStreamArn"]
        self.batches: list[dict[str, Any]] = []

        def deliver(event: dict[str, Any]) -> Any:
            records = event["Records"]
            marker = max(
                (
                    Decimal(r["dynamodb"]["NewImage"]["score"]["N"])
                    for r in records
                    if r["dynamodb"].get("NewImage", {}).get("user_id", {}).get("S") == MARKER
                    and "score" in r["dynamodb"]["NewImage"]
                ),
                default=None,
            )
            started = time.perf_counter()
            response = self.refresh.lambda_handler(event, CONTEXT)
            ended = time.perf_counter()
            self.batches.append(
                {
                    "records": len(records),
                    "seconds": ended - started,
                    "ended": time.time(),
                    "marker": marker,
                    "failed": bool(response.get("batchItemFailures")),
                }
            )
            return response

        return DynamoDBStreamPoller(
            self.streams,
            arn,
            deliver,
            batch_size=1000,
            starting_position="TRIM_HORIZON",
            report_batch_item_failures=True,
            retry_backoff=0,
        )


def run_variant(root: Path, participants: int, rate: int, seconds: float, window: float) -> dict[str, Any]:
    from local.dynamodb_local import DynamoDBLocal
    from local.simulator import TradeSimulator

    engine = DynamoDBLocal().start()
    try:
        prepare_environment(engine.endpoint)
        layer = str(root / "layers" / "shared" / "python")
        if layer in sys.path:
            sys.path.remove(layer)
        sys.path.insert(0, layer)  # this variant's arena package, before anything imports it
        assert engine._process is not None
        variant = Variant(root, engine.endpoint, engine._process.pid)
        _, users = variant.setup(participants)
        simulator = TradeSimulator(users, seed=participants, prefix=f"F{participants}")
        now = datetime.now(UTC)

        # 1. seed: every participant's first trade, then catch up from the stream's beginning
        firsts = [simulator.trade(now - timedelta(seconds=random.random() * 3600), trader=u) for u in users]
        log(f"seed: {len(firsts):,} trades")
        seeding = time.perf_counter()
        free: queue.Queue[Any] = queue.Queue()
        for module in variant.ingest:
            free.put(module)

        def seed_batch(trades: list[dict[str, Any]]) -> None:
            module = free.get()  # one call at a time per handler module (its resolver holds the request)
            try:
                variant.post(module, trades)
            finally:
                free.put(module)

        with ThreadPoolExecutor(SEED_THREADS) as pool:
            list(pool.map(seed_batch, [firsts[i : i + SEED_BATCH] for i in range(0, len(firsts), SEED_BATCH)]))
        log(f"seed posted in {time.perf_counter() - seeding:.0f} s; catching up from the stream")
        poller = variant.poller()
        before = variant.counters.snapshot()
        cpu = (time.process_time(), _cpu_seconds(variant.engine_pid))
        started = time.perf_counter()
        delivered, idle = 0, 0
        while idle < 8:
            count = poller.poll_once()
            delivered += count
            idle = 0 if count else idle + 1
        catch_up = time.perf_counter() - started
        tally = variant.counters.snapshot() - before
        seed = {
            "records": delivered,
            "batches": len(variant.batches),
            "seconds": catch_up,
            "handler_seconds": sum(b["seconds"] for b in variant.batches),
            "records_per_second": delivered / catch_up,
            "python_cpu": time.process_time() - cpu[0],
            "engine_cpu": _cpu_seconds(variant.engine_pid) - cpu[1],
            "requests_per_record": tally.requests / max(1, delivered),
            "items_per_record": tally.items / max(1, delivered),
            "aws_write_units_per_record": tally.aws_write_units / max(1, delivered),
            "by_operation": tally.by_operation(),
            "failed_batches": sum(b["failed"] for b in variant.batches),
        }
        log(f"seed caught up: {json.dumps({k: v for k, v in seed.items() if k != 'by_operation'})}")
        variant.batches.clear()

        # 2. live: a feed at `rate` while the refresh follows the stream with the batching window
        stop = threading.Event()

        def follow() -> None:
            while not stop.is_set():
                if poller.poll_once():
                    stop.wait(window)
                else:
                    stop.wait(0.05)

        follower = threading.Thread(target=follow, name="refresh", daemon=True)
        ticks: list[tuple[float, Decimal]] = []
        marker_total = Decimal(0)
        per_tick = max(1, rate // TICKS_PER_SECOND)
        rng = random.Random(7)
        posted = 0
        cpu = (time.process_time(), _cpu_seconds(variant.engine_pid))
        follower.start()
        live_started = time.time()
        tick = 0
        while time.time() < live_started + seconds:
            tick += 1
            at = datetime.now(UTC)
            batch = [
                simulator.trade(at - timedelta(milliseconds=rng.randint(0, 50)), trader=rng.choice(users))
                for _ in range(per_tick)
            ]
            marker_total += MARKER_PRICE
            batch.append(
                {
                    "trade_id": f"FRESHM-{tick}",
                    "user_id": MARKER,
                    "market": "BTC-USDT",
                    "side": "buy",
                    "quantity": "1",
                    "price": str(MARKER_PRICE),
                    "executed_at": _iso(at),
                }
            )
            began = time.time()
            posted += variant.post(variant.ingest[0], batch)["accepted"]
            ticks.append((began, marker_total))
            time.sleep(max(0.0, live_started + tick / TICKS_PER_SECOND - time.time()))
        feeding = time.time() - live_started
        # Until the last marker is on the board (bounded).
        deadline = time.time() + 120
        while time.time() < deadline and not any(
            b["marker"] is not None and b["marker"] >= marker_total for b in variant.batches
        ):
            time.sleep(0.1)
        stop.set()
        follower.join(30)
        window_seconds = max(b["ended"] for b in variant.batches) - live_started if variant.batches else feeding
        records = sum(b["records"] for b in variant.batches)
        lags, missed = [], 0
        for began, total in ticks:
            done = next((b["ended"] for b in variant.batches if b["marker"] is not None and b["marker"] >= total), None)
            if done is None:
                missed += 1
            else:
                lags.append(done - began)
        handler = sum(b["seconds"] for b in variant.batches)
        live = {
            "trades": posted,
            "trades_per_second": posted / feeding,
            "records": records,
            "records_per_second": records / window_seconds,
            "capacity_records_per_second": records / handler if handler else 0.0,
            "batches": len(variant.batches),
            "records_per_batch": records / max(1, len(variant.batches)),
            "busy_share": handler / window_seconds,
            "lag_p50": percentile(lags, 50) if lags else None,
            "lag_p95": percentile(lags, 95) if lags else None,
            "lag_max": max(lags) if lags else None,
            "ticks": len(ticks),
            "missed": missed,
            "python_cpu": time.process_time() - cpu[0],
            "engine_cpu": _cpu_seconds(variant.engine_pid) - cpu[1],
            "failed_batches": sum(b["failed"] for b in variant.batches),
        }
        log(f"live: {json.dumps(live)}")
        return {"participants": participants, "seed": seed, "live": live, "load": os.getloadavg()[0]}
    finally:
        engine.stop()


# ------------------------------------------------------------------------------------------------ report


def section(runs: list[dict[str, Any]], options: dict[str, Any]) -> str:
    def s(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f} s"

    rows = []
    for r in runs:
        seed, live = r["seed"], r["live"]
        rows.append(
            [
                r["name"],
                f"{seed['records']:,} in {seed['seconds']:.1f} s: **{seed['records_per_second']:,.0f}/s** "
                f"({seed['batches']} batches)",
                f"{seed['requests_per_record']:.3f} / {seed['items_per_record']:.3f} / "
                f"{seed['aws_write_units_per_record']:.2f}",
                f"{live['trades_per_second']:.0f}",
                f"**{live['records_per_second']:,.0f}/s** ({live['records_per_batch']:.0f} a batch), "
                f"busy {live['busy_share']:.0%}",
                f"{live['capacity_records_per_second']:,.0f}/s",
                f"{s(live['lag_p50'])} / **{s(live['lag_p95'])}** / {s(live['lag_max'])}",
                f"{live['missed']} of {live['ticks']}",
            ]
        )
    header = [
        "code",
        "catch-up (seed)",
        "requests / item writes / write units per record",
        "live trades/s",
        "live records/s",
        "refresh capacity (records per handler second)",
        "lag p50 / p95 / max",
        "batches not on the board",
    ]
    loads = ", ".join(f"{r['load']:.1f}" for r in runs)
    lines = [
        START,
        "## Leaderboard freshness (snapshot refresh from the participants stream)",
        "",
        f"`python -m bench freshness`, run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on this machine "
        f"({os.cpu_count()} cores, shared; load average {loads} at the end of each run). "
        f"{options['participants']:,} participants; live feed {options['rate']} trades/s asked for "
        f"{options['seconds']:.0f} s, batching window {options['window']:g} s. Method in the module docstring "
        "(bench/freshness.py). Write units are AWS's, from item sizes; catch-up requests by operation: "
        + "; ".join(f"{r['name']}: {r['seed']['by_operation']}" for r in runs)
        + ".",
        "",
        report.table(header, rows),
    ]
    if len(runs) == 2:
        before, after = runs

        def ratio(part: str, key: str) -> str:
            return f"{after[part][key] / max(1e-9, before[part][key]):.2f}x"

        lines += [
            "",
            f"After / before: catch-up records/s {ratio('seed', 'records_per_second')}, write units per record "
            f"{ratio('seed', 'aws_write_units_per_record')}, item writes per record "
            f"{ratio('seed', 'items_per_record')}, refresh capacity under the live feed "
            f"{ratio('live', 'capacity_records_per_second')}, live lag p95 {ratio('live', 'lag_p95')}.",
        ]
    lines += ["", READING, END]
    return "\n".join(lines) + "\n"


READING = (
    "Reading: a refresh batch reads the locators of its users, the HEAD and the buckets its changes touch, then "
    "writes a new copy of every touched bucket (up to 512 entries, ~256 after a split), an index copy and the "
    "HEAD, one locator per changed participant, and re-puts every bucket it retired with its TTL set. With "
    "~40 buckets at 10,000 participants, a batch of a few hundred random changes touches nearly all of them, so a "
    "batch costs about two copies of the whole board whatever its size: records per second grow with the batch "
    "size, and the live feed's batches (what arrives within the batching window) make each record far dearer "
    "than the catch-up's batches of 1,000. The refresh keeps up while its busy share stays under 100%; the lag "
    "is then the batching window plus one refresh, plus the ingest of the trade itself."
)


# ------------------------------------------------------------------------------------------------ main


def _baseline_root(ref: str, into: Path) -> Path:
    """The shared layer and the functions of git revision `ref`, unpacked under `into`."""
    archive = into / "baseline.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", ref, "layers/shared/python", "functions"], cwd=ROOT, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--one":
        import faulthandler
        import signal

        faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 <pid>`: where a slow run is
        root, participants, rate, seconds, window = Path(argv[1]), int(argv[2]), int(argv[3]), *map(float, argv[4:6])
        console = Console()
        with redirect_stdout(console):  # the handlers' EMF lines and logs: kept aside, as the leaderboard bench does
            result = run_variant(root, participants, rate, seconds, window)
        print(json.dumps(result, default=str), flush=True)
        return 0
    parser = argparse.ArgumentParser(prog="python -m bench freshness", description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=200, help="live feed, trades per second (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="live feed duration (default 30)")
    parser.add_argument("--window", type=float, default=1.0, help="batching window, seconds (template: 1)")
    parser.add_argument("--baseline", help="also run the layer and functions of this git revision, first")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-freshness-") as scratch:
        variants = [("this tree", ROOT)]
        if args.baseline:
            variants.insert(0, (f"baseline ({args.baseline})", _baseline_root(args.baseline, Path(scratch))))
        for name, root in variants:
            log(f"freshness: {name}")
            command = [sys.executable, "-m", "bench.freshness", "--one", str(root), str(args.participants)]
            command += [str(args.rate), str(args.seconds), str(args.window)]
            answer_ = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
            if answer_.returncode != 0:
                log(f"{name}: the run failed (exit {answer_.returncode})")
                return answer_.returncode
            result = json.loads(answer_.stdout.strip().splitlines()[-1])
            result["name"] = name
            runs.append(result)
    text = section(runs, vars(args))
    print(text)
    if not args.no_write:
        with suppress(FileNotFoundError):
            report.write_section(text.rstrip("\n"), args.output, START, END)
        log(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
