"""`python -m bench distribution [--winners 1000,10000,100000] [--concurrency 4]`: prize distribution throughput.

For each size, on a DynamoDB Local of its own (EventBridge from moto's server): an event COMPLETED with that many
ranked, qualified traders, every one of them a winner (ranks 1-10 get 1,000 points each, the rest share a pool
pro rata by score, so the plan has both kinds of rules and a treasury remainder), then the distribution's steps
exactly as the workflow runs them: freeze (open the run), calculate (batches written, pool funded), the batches
with `--concurrency` workers (the state machine's Map runs 4 at once), verify, complete.

Printed and written into bench/RESULTS.md (between the distribution markers): wall time per step, DynamoDB requests
by operation, items written per winner, transactions and their size, and the checks that make the figures count
(every winner paid exactly her planned amount, the pool back to zero, the ledger summing to zero).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench import report
from bench.counters import DynamoCounters, Tally
from bench.harness import (
    ADMIN_CLAIMS,
    CONTEXT,
    ROOT,
    Console,
    answer,
    load_handler,
    log,
    prepare_environment,
    table_variables,
    use_tables,
)
from local.samples import api_event

SIZES = [1_000, 10_000, 100_000]
START, END = "<!-- distribution:start -->", "<!-- distribution:end -->"


@dataclass
class DistributionResult:
    winners: int
    concurrency: int
    steps: dict[str, float] = field(default_factory=dict)  # step -> wall seconds
    tallies: dict[str, Tally] = field(default_factory=dict)  # step -> DynamoDB requests
    batches: int = 0
    transactions: int = 0
    largest_transaction: int = 0
    checks: list[str] = field(default_factory=list)
    naive_seconds: float | None = None  # the per-award baseline, same engine, same plan
    naive_requests: int | None = None

    @property
    def distribute_seconds(self) -> float:
        return sum(v for k, v in self.steps.items() if k != "seed results")


class TransactionSizes:
    """Counts TransactWriteItems calls and their action counts on a client."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        self.largest = 0
        client.meta.events.register("before-parameter-build.dynamodb.TransactWriteItems", self._seen)

    def _seen(self, params: dict[str, Any], **_: Any) -> None:
        self.count += 1
        self.largest = max(self.largest, len(params.get("TransactItems", [])))


def _prizes(n: int) -> list[dict[str, Any]]:
    return [
        {"rank_from": 1, "rank_to": 10, "type": "points", "amount": "1000"},
        {"rank_from": 11, "rank_to": max(11, n), "split": "pro_rata", "type": "points", "pool": str(20 * n)},
    ]


def _seed(n: int, rng: random.Random) -> str:
    """The event, COMPLETED, with n frozen results (distinct scores, all qualified)."""
    from arena.domain.events import EventStatus
    from arena.store import events as event_store
    from arena.store import results

    create = load_handler("functions/events/create_event.py", "bench_distribution_create_event")
    now = datetime.now(UTC)
    body = {
        "name": f"Bench distribution ({n:,} winners)",
        "start_at": (now + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "end_at": (now + timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "prizes": _prizes(n),
        "prize_settings": {"quantum": "0.01"},
        "claim": {"mode": "auto"},
    }
    event_id = answer(
        create.lambda_handler(api_event("events/create_event.json", body=body, claims=ADMIN_CLAIMS), CONTEXT), 201
    )["id"]
    scores = sorted(rng.sample(range(1_000, 1_000 + 50 * n), n), reverse=True)
    frozen = [
        {
            "rank": rank,
            "prize_rank": rank,
            "user_id": f"w{rank:06d}",
            "score": Decimal(score) / 100,
            "trade_count": 5,
            "qualified": True,
            "rule": "score desc, earliest reached, earliest joined",
            "generation": 1,
            "frozen_at": now.isoformat().replace("+00:00", "Z"),
        }
        for rank, score in enumerate(scores, start=1)
    ]
    results.write(event_id, frozen)
    assert event_store.set_status(event_id, tuple(EventStatus), EventStatus.COMPLETED, now) is not None
    return event_id


def _step(result: DistributionResult, counters: DynamoCounters, name: str, work: Any) -> Any:
    before, started = counters.snapshot(), time.perf_counter()
    value = work()
    result.steps[name] = time.perf_counter() - started
    result.tallies[name] = counters.snapshot() - before
    log(f"  {name}: {result.steps[name]:.1f} s, {result.tallies[name].requests:,} requests")
    return value


def run_size(n: int, concurrency: int, seed: int = 7) -> DistributionResult:
    from arena.config import settings
    from arena.services import ledger
    from arena.services.distribution import start, workflow
    from arena.store import dynamo

    from local.template import TABLE_TYPE, create_tables, load_template, resources_of_type

    template = load_template(ROOT / "template.yaml")
    settings.cache_clear()
    dynamo.client.cache_clear()
    client = dynamo.client()
    counters = DynamoCounters().attach(client)
    sizes = TransactionSizes(client)
    names = {logical_id: f"dist{n}-{logical_id}" for logical_id in resources_of_type(template, TABLE_TYPE)}
    use_tables(table_variables(template), create_tables(client, template, names))

    result = DistributionResult(winners=n, concurrency=concurrency)
    event_id = _step(result, counters, "seed results", lambda: _seed(n, random.Random(seed + n)))
    plan = start.validate_prize_distribution(event_id)
    assert plan.ok, plan.problems
    _step(result, counters, "freeze (open the run)", lambda: workflow.freeze(event_id, "bench"))
    batches = _step(result, counters, "calculate (batches, pool)", lambda: workflow.calculate(event_id))["batches"]
    result.batches = len(batches)
    transactions_before = sizes.count
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        _step(
            result,
            counters,
            f"distribute {len(batches):,} batches",
            lambda: list(pool.map(lambda i: workflow.distribute_batch(event_id, i), batches)),
        )
    result.transactions = sizes.count - transactions_before
    result.largest_transaction = sizes.largest
    _step(result, counters, "verify", lambda: workflow.verify_or_fail(event_id))
    _step(result, counters, "complete", lambda: workflow.complete(event_id))

    # The checks that make the figures count.
    run = workflow.store.get_run(event_id)
    assert run is not None and run["status"] == "COMPLETED", run
    planned = {a.user_id: a.amount for a in plan.awards if a.amount > 0}
    sample = random.Random(seed).sample(sorted(planned), min(200, len(planned)))
    wrong = [u for u in sample if ledger.balance(f"user:{u}") != planned[u]]
    pool = ledger.balance(f"event-pool:{event_id}")
    result.checks = [
        f"run COMPLETED, {run['batches_done']}/{run['batch_count']} batches",
        f"{len(sample)} sampled winners hold exactly their planned amount: {'yes' if not wrong else f'NO {wrong[:5]}'}",
        f"pool after: {pool}",
        f"ledger sum over all accounts: {ledger.out_of_balance()}",
        f"paid {plan.paid.get('points')} + treasury {plan.treasury.get('points', 0)} "
        f"= put up {plan.pool_total['points']}",
    ]
    for line in result.checks:
        log(f"  check: {line}")
    if n <= NAIVE_MAX:
        _naive(result, counters, plan.awards, seed)
    return result


NAIVE_MAX = 10_000


def _naive(result: DistributionResult, counters: DynamoCounters, awards: list[Any], seed: int) -> None:
    """The baseline: what a distribution without batching does, one award at a time (a two-leg ledger posting,
    then the prize record), with the same workers, on the same engine, for a second event's identical plan."""
    from arena.domain import distribution as plans
    from arena.domain import ledger as ledger_rules
    from arena.domain.statuses import PrizeStatus
    from arena.services import ledger
    from arena.services.distribution import workflow
    from arena.store import distribution as store

    event_id = _seed(result.winners, random.Random(seed + result.winners))
    workflow.freeze(event_id, "bench")
    workflow.calculate(event_id)  # the same batches written and pool funded: only paying differs
    pool = ledger_rules.event_pool_account(event_id)

    def pay(award: Any) -> None:
        key = plans.prize_key(event_id, award.user_id, award.rule_index)
        if award.amount > 0:
            ledger.post(ledger_rules.transfer(pool, f"user:{award.user_id}", award.amount), key, "prize_credit")
        planned = plans.PlannedPrize(**award.model_dump(exclude={"status"}))
        store.put_prize(planned.written(event_id, PrizeStatus.CREDITED))

    before, started = counters.snapshot(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=result.concurrency) as workers:
        list(workers.map(pay, awards))
    result.naive_seconds = time.perf_counter() - started
    result.naive_requests = (counters.snapshot() - before).requests
    log(f"  baseline, one award at a time: {result.naive_seconds:.1f} s, {result.naive_requests:,} requests")


def _per_winner(tally: Tally, n: int) -> str:
    return f"{tally.items / n:.2f}"


def section(results: list[DistributionResult]) -> str:
    lines = [
        START,
        "## Prize distribution",
        "",
        "`python -m bench distribution`: every ranked trader a winner (ranks 1-10: 1,000 points each; the rest share "
        "a pool pro rata by score, quantum 0.01), the workflow's steps run in-process against DynamoDB Local, "
        f"batches with {results[0].concurrency if results else 4} workers (the state machine's Map MaxConcurrency).",
        "",
        "| winners | batches | transactions (largest, actions) | distribute batches | whole distribution | "
        "winners/s | requests | items written per winner |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        batch_step = next(k for k in r.steps if k.startswith("distribute "))
        total = r.distribute_seconds
        tally = sum((t for k, t in r.tallies.items() if k != "seed results"), Tally())
        lines.append(
            f"| {r.winners:,} | {r.batches:,} | {r.transactions:,} ({r.largest_transaction}) | "
            f"{r.steps[batch_step]:.1f} s | {total:.1f} s | {r.winners / total:,.0f} | {tally.requests:,} | "
            f"{_per_winner(tally, r.winners)} |"
        )
    lines += ["", "Per step (wall seconds; DynamoDB requests by operation):", ""]
    for r in results:
        lines.append(f"- **{r.winners:,} winners**")
        for name, seconds in r.steps.items():
            if name == "seed results":
                continue
            lines.append(f"  - {name}: {seconds:.2f} s; {r.tallies[name].by_operation()}")
        lines.append("  - checks: " + "; ".join(r.checks))
    lines += [
        "",
        "Against the baseline (same process, same engine, same plan: one posting and one prize write per award, the "
        "same workers), paying the winners:",
        "",
        "| winners | batched | one award at a time | ratio (time) | requests batched / baseline |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        batch_step = next(k for k in r.steps if k.startswith("distribute "))
        if r.naive_seconds is None or r.naive_requests is None:
            lines.append(f"| {r.winners:,} | {r.steps[batch_step]:.1f} s | not run (above {NAIVE_MAX:,}) | | |")
            continue
        lines.append(
            f"| {r.winners:,} | {r.steps[batch_step]:.1f} s | {r.naive_seconds:.1f} s | "
            f"{r.naive_seconds / r.steps[batch_step]:.1f}x faster | "
            f"{r.tallies[batch_step].requests:,} / {r.naive_requests:,} |"
        )
    target = next((r for r in results if r.winners == 10_000), None)
    if target:
        verdict = "met" if target.distribute_seconds < 60 else "NOT met"
        lines += [
            "",
            f"Target (10,000 winners in under a minute): **{verdict}**, {target.distribute_seconds:.1f} s.",
        ]
    lines.append(END)
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    report.write_section(text, path, START, END)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench distribution", description=__doc__)
    parser.add_argument("--winners", help="comma-separated winner counts (default 1000,10000,100000)")
    parser.add_argument("--concurrency", type=int, default=4, help="batch workers (default 4, as the Map)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.winners.split(",")] if args.winners else SIZES
    results = run_all(sizes, args.concurrency)
    text = section(results)
    print(text)
    write_section(text, args.output)
    log(f"results written to {args.output}")
    return 0


def run_all(sizes: list[int], concurrency: int = 4) -> list[DistributionResult]:
    from moto.server import ThreadedMotoServer

    from local.dynamodb_local import DynamoDBLocal

    results = []
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    console = Console()
    try:
        host, port = moto.get_host_and_port()
        for n in sizes:
            engine = DynamoDBLocal()
            log(f"distribution, {n:,} winners: DynamoDB Local on {engine.endpoint}")
            engine.start()
            try:
                prepare_environment(engine.endpoint)
                os.environ["AWS_ENDPOINT_URL_EVENTBRIDGE"] = f"http://{host}:{port}"
                import boto3
                from arena.adapters import domain_events
                from arena.config import settings

                boto3.client("events").create_event_bus(Name=f"bench-{n}")
                os.environ["EVENT_BUS_NAME"] = f"bench-{n}"
                settings.cache_clear()
                domain_events.client.cache_clear()
                with redirect_stdout(console):
                    results.append(run_size(n, concurrency))
            finally:
                engine.stop()
    finally:
        moto.stop()
    return results


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
