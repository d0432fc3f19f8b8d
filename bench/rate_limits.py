"""`python -m bench rate_limits [--samples 500]`: what the rate limit adds to a request.

On a DynamoDB Local of its own, the get-event handler (one GetItem) is called `--samples` times in each case, and
each case's latency (p50, p95, mean) and DynamoDB writes per request are set against the same handler with the
limits off:

* off: RATE_LIMITS `enabled: false` (what the bench's other figures run with);
* one request per caller: every request from a caller at rest, the common case (one conditional UpdateItem);
* a burst, one instance: one caller's requests back to back into one instance (its hint picks the right write);
* a burst, no hint: the same, as if each request landed on another instance (the first write's condition fails
  and hands back the stored state, a second write admits);
* refused: a spent quota (one UpdateItem whose condition fails, then the 429).

Printed and written into bench/RESULTS.md between the rate-limits markers. Figures, not assertions: DynamoDB Local
on this machine, not DynamoDB (whose UpdateItem takes single-digit milliseconds in-region).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass
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
    percentile,
    prepare_environment,
    table_variables,
    use_tables,
)
from local.samples import api_event

START, END = "<!-- rate-limits:start -->", "<!-- rate-limits:end -->"


@dataclass
class Case:
    name: str
    samples: int
    millis: list[float]
    writes: int
    statuses: dict[int, int]

    def row(self, baseline: Case | None) -> list[str]:
        p50, p95 = percentile(self.millis, 50), percentile(self.millis, 95)
        mean = sum(self.millis) / len(self.millis)
        added = "" if baseline is None else f"{mean - sum(baseline.millis) / len(baseline.millis):+.2f}"
        statuses = ", ".join(f"{code} x{n}" for code, n in sorted(self.statuses.items()))
        return [
            self.name,
            f"{p50:.2f}",
            f"{p95:.2f}",
            f"{mean:.2f}",
            added,
            f"{self.writes / self.samples:.2f}",
            statuses,
        ]


def _limits(table: str, enabled: bool, quotas: str = "") -> None:
    from arena.config import settings

    os.environ["RATE_LIMITS"] = json.dumps({"table": table, "quotas": quotas, "enabled": enabled})
    settings.cache_clear()


def _measure(
    name: str,
    samples: int,
    call: Callable[[int], dict[str, Any]],
    counters: DynamoCounters,
    before_each: Callable[[], None] = lambda: None,
) -> Case:
    millis: list[float] = []
    statuses: dict[int, int] = {}
    start = counters.snapshot()
    for i in range(samples):
        before_each()
        began = time.perf_counter()
        response = call(i)
        millis.append((time.perf_counter() - began) * 1000)
        statuses[response["statusCode"]] = statuses.get(response["statusCode"], 0) + 1
    tally = counters.snapshot() - start
    log(f"  {name}: p50 {percentile(millis, 50):.2f} ms, {tally.calls.get('UpdateItem', 0)} UpdateItem")
    return Case(name, samples, millis, tally.calls.get("UpdateItem", 0), statuses)


def run(samples: int) -> list[Case]:
    from arena.services import rate_limiting
    from arena.store import dynamo

    from local.template import create_tables, load_template

    template = load_template(ROOT / "template.yaml")
    dynamo.client.cache_clear()
    client = dynamo.client()
    counters = DynamoCounters().attach(client)
    names = create_tables(client, template)
    use_tables(table_variables(template), names)
    table = names["RateLimitsTable"]

    events = load_handler("functions/events/create_event.py", "bench_rl_create_event")
    get_event = load_handler("functions/events/get_event.py", "bench_rl_get_event")
    _limits(table, enabled=False)
    created = events.lambda_handler(api_event("events/create_event.json", claims=ADMIN_CLAIMS), CONTEXT)
    event_id = json.loads(created["body"])["id"]

    def read(caller: Callable[[int], str]) -> Callable[[int], dict[str, Any]]:
        def call(i: int) -> dict[str, Any]:
            claims = {"sub": caller(i), "cognito:groups": "[user]"}
            event = api_event("events/get_event.json", path={"eventId": event_id}, claims=claims)
            return get_event.lambda_handler(event, CONTEXT)

        return call

    run_id = uuid.uuid4().hex[:8]
    for i in range(30):  # warm up the handler and the connection pool, unmeasured
        read(lambda _: "warm")(i)
    cases = [_measure("limits off", samples, read(lambda i: f"off-{i}"), counters)]
    _limits(table, enabled=True, quotas=f"read={samples * 4}/60")
    cases.append(_measure("one request per caller", samples, read(lambda i: f"{run_id}-rest-{i}"), counters))
    cases.append(_measure("a burst, one instance", samples, read(lambda _: f"{run_id}-burst"), counters))
    cases.append(
        _measure(
            "a burst, no hint (another instance)",
            samples,
            read(lambda _: f"{run_id}-roaming"),
            counters,
            before_each=rate_limiting._last_tat.clear,
        )
    )
    _limits(table, enabled=True, quotas="read=1/3600")
    read(lambda _: f"{run_id}-spent")(0)
    cases.append(_measure("refused (quota spent)", samples, read(lambda _: f"{run_id}-spent"), counters))
    return cases


def section(cases: list[Case]) -> str:
    header = ["case", "p50 ms", "p95 ms", "mean ms", "added ms (mean)", "UpdateItem / request", "answers"]
    rows = [cases[0].row(None), *(case.row(cases[0]) for case in cases[1:])]
    lines = [
        START,
        "## Rate limits: what a request pays",
        "",
        f"GET /api/events/{{eventId}} through its handler, {cases[0].samples} requests per case, DynamoDB Local "
        "(`python -m bench rate_limits`).",
        "",
        report.table(header, rows),
        END,
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    report.write_section(text, path, START, END)


def main(argv: list[str]) -> int:
    from local.dynamodb_local import DynamoDBLocal

    parser = argparse.ArgumentParser(prog="python -m bench rate_limits", description=__doc__)
    parser.add_argument("--samples", type=int, default=500, help="requests per case (default 500)")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    engine = DynamoDBLocal()
    log(f"rate limits: DynamoDB Local on {engine.endpoint}")
    engine.start()
    try:
        prepare_environment(engine.endpoint)
        with redirect_stdout(Console()):
            cases = run(args.samples)
    finally:
        engine.stop()
    text = section(cases)
    print(text)
    write_section(text, args.output)
    log(f"results written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
