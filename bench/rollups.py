"""`python -m bench rollups [--runs 1:120,5:120,20:120,20:900]`: amortised analytics rollup writes per ingested
trade at the demo's trade mix, per run of (batching window seconds : simulated seconds).

The demo's mix (local/demo.py `demo_simulator`): one event taking three markets, 20 traders joined, 40 more trading
without joining and a fourth market the event does not take, 25 trades a second (Pareto activity, so a few traders
make most trades). On a DynamoDB Local of its own per run, that many simulated seconds of the feed are ingested
through the ingest service on a simulated clock (one tick a second); every `window` seconds the trades and
participants tables' streams are drained into the rollups of RollupTradesFunction (`services/rollups.rollup_stream`;
the archive's Firehose put that follows is no DynamoDB write) through the local stack's stream poller with the
template's batch sizes and filters: what Lambda's MaximumBatchingWindowInSeconds does. The long run
shows the steady state, where hot items carry their full list of remembered stream positions. Counted with
botocore hooks (bench/counters.py) while the streams drain, so the figures are the rollups' own requests.
Printed and written into bench/RESULTS.md between the rollups markers. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import report
from bench.counters import DynamoCounters
from bench.harness import (
    ADMIN_CLAIMS,
    CONTEXT,
    ROOT,
    Console,
    load_handler,
    log,
    prepare_environment,
    table_variables,
    use_tables,
)
from local.samples import api_event

START, END = "<!-- rollups:start -->", "<!-- rollups:end -->"
DEMO_START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class WindowResult:
    window: int
    seconds: int
    trades: int  # unique valid trades ingested
    batches: int
    writes: int  # rollup items written (PutItem on the analytics table)
    reads: int  # BatchGetItem and GetItem requests of the rollups
    write_units: float  # as AWS would price the writes (1 unit per started KB per item)
    counted: int  # trades in the demo event's totals afterwards (a check: every accepted trade once)
    accepted: int

    def row(self) -> list[str]:
        return [
            f"{self.window} s",
            f"{self.seconds:,} s",
            f"{self.trades:,}",
            f"{self.batches:,}",
            f"{self.writes:,}",
            f"{self.writes / self.trades:.3f}",
            f"{self.write_units / self.trades:.2f}",
            f"{self.reads / self.trades:.3f}",
            "yes" if self.counted == self.accepted else f"no ({self.counted} of {self.accepted})",
        ]


def _stream_poller(table: str, handler: Any, batch_size: int, filters: Any) -> Any:
    import boto3

    from local.pollers import DynamoDBStreamPoller

    arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    return DynamoDBStreamPoller(
        boto3.client("dynamodbstreams"),
        arn,
        handler,
        batch_size=batch_size,
        starting_position="TRIM_HORIZON",
        report_batch_item_failures=True,
        filters=filters,
        retry_backoff=0,
    )


def run_window(window: int, seconds: int) -> WindowResult:
    import json

    from arena import clock
    from arena.services import ingest, rollups
    from arena.store import analytics, dynamo

    from local.demo import DEMO_TRADERS, TRADES_PER_TICK, demo_simulator
    from local.pollers import compile_filters
    from local.template import create_tables, load_template

    template = load_template(ROOT / "template.yaml")
    dynamo.client.cache_clear()
    client = dynamo.client()
    counters = DynamoCounters().attach(client)
    names = create_tables(client, template)
    use_tables(table_variables(template), names)
    rollups.clear_cache()

    now = [DEMO_START]
    clock.set_source(lambda: now[0])
    create = load_handler("functions/events/create_event.py", f"bench_rollups_create_{window}")
    join = load_handler("functions/participants/join_event.py", f"bench_rollups_join_{window}")
    body = json.loads(api_event("events/create_event.json")["body"])
    body.update(
        start_at=clock.to_iso(DEMO_START),
        end_at=clock.to_iso(DEMO_START + timedelta(days=7)),
        markets=["BTC-USDT", "ETH-USDT", "SOL-USDT"],
        qualification={"min_volume": "0", "min_trades": 1},
    )
    created = create.lambda_handler(api_event("events/create_event.json", body=body, claims=ADMIN_CLAIMS), CONTEXT)
    event_id = json.loads(created["body"])["id"]
    for trader in DEMO_TRADERS:
        claims = {"sub": trader, "cognito:groups": "[user]", "custom:kyc_level": "2", "custom:account_type": "retail"}
        event = api_event("participants/join_event.json", path={"eventId": event_id}, claims=claims)
        answer = join.lambda_handler(event, CONTEXT)
        assert answer["statusCode"] == 201, answer

    props = template["Resources"]["RollupTradesFunction"]["Properties"]["Events"]
    batches = [0]

    def handler(event: dict[str, Any]) -> dict[str, Any]:
        batches[0] += 1
        rollups.rollup_stream(event["Records"])
        return {"batchItemFailures": []}

    pollers = [
        _stream_poller(
            names[table],
            handler,
            props[source]["Properties"]["BatchSize"],
            compile_filters(props[source]["Properties"].get("FilterCriteria")),
        )
        for table, source in (("TradesTable", "TradeInserts"), ("ParticipantsTable", "ParticipantInserts"))
    ]
    simulator = demo_simulator(f"B{window}")
    rollup_tally = counters.snapshot() - counters.snapshot()
    accepted = trades = 0

    def drain() -> None:
        nonlocal rollup_tally
        before = counters.snapshot()
        for poller in pollers:
            while poller.poll_once() > 0:
                pass
        rollup_tally = rollup_tally + (counters.snapshot() - before)

    for tick in range(1, seconds + 1):
        now[0] = DEMO_START + timedelta(seconds=tick)
        result = ingest.ingest(
            [simulator.trade(now[0] - timedelta(milliseconds=i * 7)) for i in range(TRADES_PER_TICK)]
        )
        accepted += result.accepted
        trades += result.received - len(result.rejected) - result.duplicates
        if tick % window == 0:
            drain()
    drain()
    table = names["AnalyticsTable"]
    totals = analytics.event_totals(event_id)
    writes = rollup_tally.items_written[table]
    reads = rollup_tally.calls["BatchGetItem"] + rollup_tally.calls["GetItem"]
    return WindowResult(
        window=window,
        seconds=seconds,
        trades=trades,
        batches=batches[0],
        writes=writes,
        reads=reads,
        write_units=rollup_tally.aws_write_units,
        counted=totals.tally.trades if totals else 0,
        accepted=accepted,
    )


def section(results: list[WindowResult]) -> str:
    header = [
        "batching window",
        "simulated",
        "trades",
        "consumer batches",
        "rollup writes",
        "writes / trade",
        "write units / trade (AWS pricing)",
        "reads / trade",
        "every accepted trade counted once",
    ]
    lines = [
        START,
        "## Analytics rollups: writes per ingested trade",
        "",
        "The demo's mix (one event on 3 of the feed's 4 markets, 20 joined traders and 40 others, 25 trades/s) "
        "ingested on a simulated clock, the "
        "trades and participants streams drained into RollupTradesFunction once per batching window "
        "(`python -m bench rollups`, DynamoDB Local). Target: 0.1 or fewer rollup writes per trade at the "
        "template's window (MaximumBatchingWindowInSeconds: 20). Writes are whole-item puts of the buckets a batch "
        "touched: each event's minute, hour and day bucket and totals, and each trader's day.",
        "",
        report.table(header, [r.row() for r in results]),
        END,
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    report.write_section(text, path, START, END)


def main(argv: list[str]) -> int:
    from local.dynamodb_local import DynamoDBLocal

    parser = argparse.ArgumentParser(prog="python -m bench rollups", description=__doc__)
    parser.add_argument(
        "--runs",
        default="1:120,5:120,20:120,20:900",
        help="window:seconds pairs, the batching window and the simulated seconds of feed (default: %(default)s)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    results = []
    runs = [tuple(int(part) for part in run.split(":")) for run in args.runs.split(",") if run.strip()]
    for window, seconds in runs:
        engine = DynamoDBLocal()
        log(f"rollups: window {window} s, {seconds} simulated s, DynamoDB Local on {engine.endpoint}")
        engine.start()
        try:
            prepare_environment(engine.endpoint)
            with redirect_stdout(Console()):
                results.append(run_window(window, seconds))
        finally:
            engine.stop()
        log(f"  {results[-1].writes / results[-1].trades:.3f} rollup writes per trade")
    text = section(results)
    print(text)
    write_section(text, args.output)
    log(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
