"""Figures as Markdown tables (printed, and written to bench/RESULTS.md with the machine and the method)."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.harness import ROOT, Options, SizeResult

CALLS = ("top-100", "my-rank", "around-me")


# ---------------------------------------------------------------------------------------------- machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, cwd=ROOT)
        return (done.stdout + done.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, str]:
    cpu = re.search(r"^model name\s*:\s*(.+)$", _read("/proc/cpuinfo"), re.MULTILINE)
    memory = re.search(r"^MemTotal:\s*(\d+) kB", _read("/proc/meminfo"), re.MULTILINE)
    readme = _read(str(ROOT / ".local" / "dynamodb-local" / "README.txt"))
    version = re.search(r"^\d{4}-\d{2}-\d{2} \(([\d.]+)\)", readme, re.MULTILINE)
    java = _run("java", "-version").splitlines()
    commit = _run("git", "rev-parse", "--short", "HEAD")
    dirty = _run("git", "status", "--porcelain", "--untracked-files=no")
    return {
        "CPU": cpu.group(1).strip() if cpu else (platform.processor() or platform.machine()),
        "CPUs (nproc)": str(os.cpu_count()),
        "Memory": f"{int(memory.group(1)) / 1024 / 1024:.1f} GiB" if memory else "?",
        "OS": platform.platform(),
        "Python": sys.version.split()[0],
        "DynamoDB Local": (version.group(1) if version else "?")
        + " (in memory, -Xmx2g, npm amplify-dynamodb-simulator)",
        "Java": java[0] if java else "?",
        "Commit": commit + (" (with uncommitted changes)" if dirty else ""),
    }


# ---------------------------------------------------------------------------------------------- formatting


def _n(value: float, digits: int = 2) -> str:
    if value != value:  # nan
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ratio(naive: float, ours: float) -> str:
    """How many times the naive design's figure is ours (> 1: ours is cheaper or faster)."""
    if ours == 0:
        return "ours 0" if naive else "-"
    value = naive / ours
    if value >= 100:
        return f"{value:,.0f}x"
    return f"{value:.2f}x"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ingest_table(r: SizeResult) -> str:
    i, f = r.ingest, r.refresh
    trades = max(1, i["accepted"])
    naive_items = i["items_per_accepted"] + f["naive_gsi_writes_per_trade"]
    ours_with_refresh = i["items_per_accepted"] + f["items_per_trade"]
    ingest_wcu = i["tally"].write_units / trades
    ingest_aws = i["tally"].aws_write_units / trades
    gsi = f["naive_gsi_writes"] / trades
    rows = [
        [
            "trades posted (unique + repeats)",
            f"{i['posted']:,} ({i['unique']:,} + {i['repeats']:,}: {i['repeats_in_batch']:,} in the same batch, "
            f"{i['repeats_across']:,} in a later one)",
            "same trades",
            "",
        ],
        [
            "ingest wall time, trades/s",
            f"{i['seconds']:.1f} s, **{i['trades_per_second']:,.0f} trades/s** ({i['batches']} batches of 500, "
            f"{i['threads']} posting threads)",
            "same ingest path",
            "1.00x",
        ],
        [
            "DynamoDB requests per trade posted (ingest)",
            f"{i['requests_per_trade']:.3f} ({i['tally'].by_operation()})",
            "same",
            "1.00x",
        ],
        [
            "transactions: committed / cancelled",
            f"{i['committed']:,} / {i['cancelled']:,} (cancelled: a repeated trade or a version race; "
            f"HTTP retries {i['retries']})",
            "same",
            "",
        ],
        [
            "read units per trade posted (ingest)",
            _n(i["read_units_per_trade"], 3),
            "same",
            "1.00x",
        ],
        [
            "write units per trade posted (ingest): DynamoDB Local / AWS pricing from item sizes",
            f"{i['write_units_per_trade']:.3f} / {i['aws_write_units_per_trade']:.3f}",
            "same",
            "1.00x",
        ],
        [
            "**item writes per accepted trade (ingest)**",
            f"**{i['items_per_accepted']:.3f}** ({i['trade_items']:,} trade records + {i['participant_items']:,} "
            f"participant updates)",
            f"{naive_items:.3f} (+ {f['naive_gsi_writes_per_trade']:.3f} GSI writes)",
            ratio(naive_items, i["items_per_accepted"]),
        ],
        [
            "item writes per accepted trade incl. leaderboard upkeep",
            f"{ours_with_refresh:.3f} (+ {f['items_per_trade']:.3f} snapshot items)",
            f"{naive_items:.3f} (+ GSI)",
            ratio(naive_items, ours_with_refresh),
        ],
        [
            "write units per accepted trade incl. upkeep, AWS pricing from item sizes",
            f"{ingest_aws + f['aws_write_units_per_trade']:.2f} (ingest {ingest_aws:.2f} + snapshots "
            f"{f['aws_write_units_per_trade']:.2f})",
            f"{ingest_aws + gsi:.2f} (ingest {ingest_aws:.2f} + GSI {gsi:.2f})",
            ratio(ingest_aws + gsi, ingest_aws + f["aws_write_units_per_trade"]),
        ],
        [
            "write units per accepted trade incl. upkeep, as DynamoDB Local reports",
            f"{ingest_wcu + f['write_units_per_trade']:.2f} (ingest {ingest_wcu:.2f} + snapshots "
            f"{f['write_units_per_trade']:.2f})",
            f"{ingest_wcu + gsi:.2f} (ingest {ingest_wcu:.2f} + GSI {gsi:.2f})",
            ratio(ingest_wcu + gsi, ingest_wcu + f["write_units_per_trade"]),
        ],
    ]
    return table(["ingest", "ours", "naive GSI design", "naive / ours"], rows)


def refresh_table(r: SizeResult) -> str:
    f = r.refresh
    t = f["tally"]
    rows = [
        [
            "stream records delivered",
            f"{f['records']:,} of {f['expected_records']:,} ({f['inserts']:,} new, "
            f"{f['modifies']:,} changed) in {f['batches']} batches (failed: {f['failed_batches']})",
        ],
        ["time to build the snapshot", f"{f['seconds']:.1f} s wall ({f['handler_seconds']:.1f} s in the handler)"],
        ["DynamoDB requests", f"{t.requests:,} ({t.by_operation()})"],
        [
            "read units / write units (DynamoDB Local) / write units (AWS pricing)",
            f"{_n(t.read_units)} / {_n(t.write_units)} / {_n(t.aws_write_units)}",
        ],
        ["items written", f"{t.items:,} ({f['items_per_trade']:.3f} per accepted trade)"],
        [
            "write units per accepted trade (DynamoDB Local / AWS pricing)",
            f"{f['write_units_per_trade']:.3f} / {f['aws_write_units_per_trade']:.3f}",
        ],
        [
            "naive design instead: GSI item writes (derived from the stream's old/new board keys)",
            f"{f['naive_gsi_writes']:,} ({f['naive_gsi_writes_per_trade']:.3f} per accepted trade, 1 WCU each)",
        ],
    ]
    return table(["snapshot refresh", "figure"], rows)


def reads_table(r: SizeResult) -> str:
    rows = []
    for call in CALLS:
        naive = r.naive[call]
        for mode, figures in (("cold", r.ours_cold[call]), ("warm", r.ours_warm[call])):
            hit = "-" if figures.hit_rate is None else f"{figures.hit_rate:.0%}"
            rows.append(
                [
                    f"{call} {mode}",
                    f"{figures.p50_ms:.2f} / {figures.p95_ms:.2f}",
                    f"{naive.p50_ms:.2f} / {naive.p95_ms:.2f}",
                    ratio(naive.p95_ms, figures.p95_ms),
                    f"{figures.requests:.2f} (max {figures.max_requests})",
                    f"{naive.requests:.2f} (max {naive.max_requests})",
                    ratio(naive.requests, figures.requests),
                    f"{figures.read_units:.2f} (max {figures.max_read_units:.1f})",
                    f"{naive.read_units:,.1f} (max {naive.max_read_units:,.1f})",
                    ratio(naive.read_units, figures.read_units),
                    hit,
                ]
            )
    return table(
        [
            "call",
            "ours p50 / p95 ms",
            "naive p50 / p95 ms",
            "p95 naive/ours",
            "ours reads/call",
            "naive reads/call",
            "reads naive/ours",
            "ours RCU/call",
            "naive RCU/call",
            "RCU naive/ours",
            "cache hit rate",
        ],
        rows,
    )


def operations_table(r: SizeResult) -> str:
    rows = []
    for call in CALLS:
        rows.append([f"{call} cold", r.ours_cold[call].operations, r.naive[call].operations])
        rows.append([f"{call} warm", r.ours_warm[call].operations, ""])
    return table(["call", "ours: requests per call by operation", "naive"], rows)


def checks_line(r: SizeResult) -> str:
    c = r.checks
    parts = [
        f"every unique trade counted: {c.get('every_unique_trade_counted')}",
        f"every repeat reported as duplicate: {c.get('every_repeat_reported')}",
        f"nothing ignored/rejected: {c.get('nothing_ignored_or_rejected')}",
        f"stream fully delivered: {c.get('stream_fully_delivered')}",
        f"no failed refresh batch: {c.get('no_failed_refresh_batches')}",
        f"board total = N: {c.get('board_total_is_n')}",
        f"top-100 same as naive: {c.get('top_100_matches')}",
        f"rank mismatches vs naive COUNT: {c.get('rank_mismatches')}",
        f"around-me mismatches: {c.get('around_mismatches')} (of {c.get('naive_rank_users')} users compared)",
    ]
    return "Checks: " + "; ".join(parts) + "."


def phases_table(r: SizeResult) -> str:
    prefix = f"N={r.participants:,}: "
    rows = [
        [name.removeprefix(prefix), f"{wall:.1f}", f"{python:.1f}", f"{engine:.1f}"]
        for name, (wall, python, engine) in r.phases.items()
    ]
    return table(["phase", "wall s", "CPU s, Python (bench + handlers)", "CPU s, DynamoDB Local"], rows)


def size_section(r: SizeResult) -> str:
    return "\n\n".join(
        [
            f"### {r.participants:,} participants",
            ingest_table(r),
            refresh_table(r),
            f"Reads: {r.ours_cold['my-rank'].calls} calls per figure for ours (random users; top-100 the same "
            f"page); naive: {r.naive['top-100'].calls} top-100 calls, my-rank and around-me for "
            f"{r.naive['my-rank'].calls} of the same users (evenly spaced by rank when fewer). p50/p95 in-process "
            f"around the handler call (ours) or "
            f"the queries (naive); reads = DynamoDB requests per call; RCU = read capacity units per call as "
            f"DynamoDB Local reports them (mean, and the largest single call).",
            reads_table(r),
            operations_table(r),
            checks_line(r),
            "Where the time went:",
            phases_table(r),
        ]
    )


# ---------------------------------------------------------------------------------------------- targets


def targets(results: list[SizeResult]) -> str:
    if not results:
        return "No size was measured."
    r = max(results, key=lambda x: x.participants)
    lines = [f"Judged at the largest size measured: **{r.participants:,} participants**"]
    if r.participants != 100_000:
        lines[0] += " (the targets are stated for 100,000; this run did not measure 100,000)"
    lines.append("")
    rows = []
    for call in ("my-rank", "around-me"):
        cold, warm, naive = r.ours_cold[call], r.ours_warm[call], r.naive[call]
        met = cold.max_requests <= 2
        rows.append(
            [
                f"{call}: 2 or fewer DynamoDB reads",
                f"cold {cold.requests:.2f} per call (max {cold.max_requests}); warm {warm.requests:.2f} "
                f"(max {warm.max_requests})",
                ("met" if met else "NOT met") + f", max {cold.max_requests} vs limit 2",
            ]
        )
        factor = naive.read_units / cold.read_units if cold.read_units else float("inf")
        rows.append(
            [
                f"{call}: at least 50x fewer read units than the naive design",
                f"naive {naive.read_units:,.1f} RCU/call vs ours cold {cold.read_units:.2f} "
                f"(warm {warm.read_units:.2f})",
                ("met" if factor >= 50 else "NOT met") + f", {factor:,.1f}x fewer (target 50x)",
            ]
        )
    top_cold, top_warm = r.ours_cold["top-100"], r.ours_warm["top-100"]
    rows.append(
        [
            "top-100: p95 under 20 ms in-process",
            f"cold p95 {top_cold.p95_ms:.2f} ms, warm p95 {top_warm.p95_ms:.2f} ms",
            ("met" if max(top_cold.p95_ms, top_warm.p95_ms) < 20 else "NOT met")
            + f", cold at {top_cold.p95_ms / 20:.0%} of the limit, warm at {top_warm.p95_ms / 20:.0%}",
        ]
    )
    i, f = r.ingest, r.refresh
    rows.append(
        [
            "amortised DynamoDB writes per trade: 2 or fewer",
            f"{i['items_per_accepted']:.3f} item writes per accepted trade in ingest "
            f"({i['writes_per_trade']:.3f} write requests per trade posted); "
            f"{i['items_per_accepted'] + f['items_per_trade']:.3f} counting the snapshot upkeep",
            ("met" if i["items_per_accepted"] <= 2 else "NOT met")
            + f" for ingest, {2 - i['items_per_accepted']:+.3f} of headroom; "
            + ("met" if i["items_per_accepted"] + f["items_per_trade"] <= 2 else "not met")
            + " with the snapshot upkeep counted",
        ]
    )
    lines.append(table(["target", "measured", "verdict"], rows))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- document

METHOD = """\
* **Engine**: DynamoDB Local (AWS's own engine, in memory) started by `local.dynamodb_local.DynamoDBLocal`, a
  fresh process per size (DynamoDB Local keeps the stream records of a dropped table and re-reads them on every
  write to a streamed table: after one size's tables were dropped, the next size's transactions ran ~8 times
  slower); tables made by `local.template.create_tables` from `template.yaml`, so the deployed schema is what is
  measured. Fake credentials, us-east-1; any other AWS service is pointed at a closed local port.
* **Code path**: the real Lambda handlers, imported from `functions/` with the shared layer on `sys.path`, called
  in-process with API Gateway (HTTP API, payload 2.0) events from `events/`; no HTTP server, no network hop to
  Lambda or API Gateway. Latencies are `time.perf_counter()` around the handler call, so they include the
  handler's routing, validation and JSON serialisation plus the round trips to DynamoDB Local on loopback.
* **Counting**: botocore hooks on the product's DynamoDB client (`arena.store.dynamo.client()`):
  `before-parameter-build` adds `ReturnConsumedCapacity=TOTAL`, `after-call` counts requests per operation, sums
  the consumed capacity into read and write units and counts the items written (successful writes only;
  `response-received` counts HTTP attempts, so retries show). The naive design's queries go through a second,
  separately counted client. DynamoDB Local reports capacity like AWS: a Query or Scan (including `Select=COUNT`)
  is charged for the size of the items it reads, 4 KB per unit, halved for eventually consistent reads; a
  transactional write costs 2 units per KB per item. Cancelled transactions and failed conditional writes report
  no capacity (AWS still charges them); they are counted as requests.
* **Load**: per size N, an event (ranking by volume, join not required, qualification min volume 20,000 and 1
  trade, started yesterday, ends in a week) made through `POST /api/events`. Trades from
  `local.simulator.TradeSimulator` (UUID user ids): each of the N users trades once, 0.5 N more trades go to
  users weighted by the simulator's Pareto activity, and 10% of the trades are posted again after the original
  (some in the same batch, most in a later one), as an at-least-once feed would. Posted through
  `POST /api/trades` (service principal) in batches of 500 by a pool of posting threads, each with its own copy of
  the handler module (a Powertools resolver holds the current request, so one module serves one call at a time);
  the ingest service itself counts participants on 8 threads.
* **Snapshot**: then the participants stream is drained into `functions/leaderboard/refresh_leaderboard.py` by
  `local.pollers.DynamoDBStreamPoller.poll_once()` (batch size 1,000, as in the template), until every committed
  participant write has been delivered.
* **Where the time goes**: each phase's wall time with the CPU seconds of this Python process (the bench and
  the handlers it calls, all threads) and of the DynamoDB Local process, from /proc.
* **Reads**: top-100 (`GET /leaderboard?limit=100`), my rank (`GET /leaderboard/me?around=0`) and around me
  (`around=5`) for the same random sample of users. *Cold*: `arena.services.leaderboard.cache.clear()` before
  every call (a fresh Lambda). *Warm*: the cache kept; first one pass of the three calls for a different sample of
  users, then the measured pass; the hit rate is `cache.hits / (hits + misses)` over the measured pass (the head
  and the event are cached for 1 s, buckets until evicted).
* **Naive design** (`bench/baseline.py`): a separate table holding a copy of the participants' items (Scan of the
  participants table, not measured) with a GSI (event_id HASH, board_key RANGE, INCLUDE score, trade_count).
  Top-100 = one Query on the GSI (descending, Limit 100); my rank = GetItem of the participant (its board key),
  then `Select=COUNT` Query for keys above it following `LastEvaluatedKey`, + 1; around me = my rank plus two
  Limit-5 Queries above and below. The around-me figure adds, per user, the measured my-rank call and the two
  neighbour queries measured right after it, so each COUNT runs once. Above 10,000 participants the naive rank
  figures use max(20, 2,000,000 / N) of the sampled users, evenly spaced by rank: DynamoDB Local spends ~0.3 s of
  CPU per 1 MB COUNT page, so one call at rank 50,000 takes seconds there (AWS is much faster per page; the
  request and read-unit counts are what transfer). Its ingest is the same code path; its leaderboard upkeep is
  the GSI's: one index write for a new key, two (delete + put) for a changed key, derived from the old and new
  board keys of every stream record. Our ranks, neighbours and top-100 are compared with its answers.
* **Ratios**: naive / ours, so above 1 means ours is cheaper or faster.
* No timed assertions; nothing sleeps inside a measured span."""


def document(options: Options, results: list[SizeResult], info: dict[str, Any]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine_rows = [[k, v] for k, v in machine().items()]
    total = info["total_seconds"]
    before, after = info.get("load_before"), info.get("load_after")
    if before and after:
        machine_rows.append(
            [
                "Load average (1/5/15 min)",
                f"before the run {before[0]:.2f} / {before[1]:.2f} / {before[2]:.2f}, after it "
                f"{after[0]:.2f} / {after[1]:.2f} / {after[2]:.2f} (other work on the machine slows the figures)",
            ]
        )
    errors = info.get("logged_errors") or {}
    error_note = (
        "The handlers logged no error during the run."
        if not errors
        else "Errors the handlers logged during the run (message: count): "
        + "; ".join(f"`{m}`: {c}" for m, c in errors.items())
        + "."
    )
    parts = [
        "# Arena benchmark results",
        f"Written by `python -m bench` (`make bench`) on {now}; sizes: "
        + ", ".join(f"{r.participants:,}" for r in results)
        + f" participants; whole run {total / 60:.1f} min. Figures, not assertions: re-run to refresh.",
        "## Machine",
        table(["", ""], machine_rows),
        "## Targets",
        targets(results),
        "## Method",
        METHOD,
        error_note,
        "## Figures",
        *[size_section(r) for r in results],
    ]
    return "\n\n".join(parts) + "\n"


def summary(results: list[SizeResult], options: Options) -> str:
    return "\n\n".join(size_section(r) for r in results) + "\n\n## Targets\n\n" + targets(results)


def write_section(text: str, path: Path, start: str, end: str) -> None:
    """Replace the section between its markers `start` and `end` in `path` (bench/RESULTS.md), or append it: each
    benchmark owns its section and leaves the others' figures as they are."""
    current = path.read_text() if path.exists() else ""
    if start in current and end in current:
        head, rest = current.split(start, 1)
        path.write_text(head + text + rest.split(end, 1)[1])
    else:
        path.write_text(current.rstrip() + "\n\n" + text + "\n")
