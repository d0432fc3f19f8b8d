"""`python -m bench load [--mode load|stress|soak] [...]`: the load, stress and soak runs through the real HTTP and
WebSocket paths (`make load`, `make stress`, `make soak`), figures in bench/LOAD.md.

It starts the local stack itself (`python -m local`, DynamoDB Local, on free loopback ports), sets an event up (a
live one for the run, plus a completed manual-claim event whose winners claim during the run), runs Locust headless
and bounded (bench/locustfile.py, from the load tool's own venv .venv-load) and samples the CPU and memory of each
process from /proc meanwhile. Then it lets the snapshot catch up, checks the final board against the truth computed
from what the feed sent, reads the stack's own counts (invocations and errors per function, the event-source
pollers' batches, the dead-letter queues' depths, the leaderboard cache's hit metrics) and writes its section of
bench/LOAD.md. Loopback only; every loop is bounded in count and time.

* load: `--duration` (180 s), `--traders` (1,000), `--websockets` (100), `--rate` trades/s (100).
* stress: 100 traders and 20 WebSocket clients while the feed ramps through `--steps` (trades/s) of
  `--step-seconds` each until the first failed request or a leaderboard lag over `--lag-limit` (5 s): the knee,
  and which process saturates first.
* soak: `--duration` (1,800 s) at 20 trades/s, 100 traders, 20 WebSocket clients: memory of each process over
  time, no failed batch, no lost trade.
* `--name` writes another section than the mode's (e.g. a lighter load beside the default one).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "load"
LOCUST = ROOT / ".venv-load" / "bin" / "locust"
REPORT = ROOT / "bench" / "LOAD.md"
TARGET_P95_MS = 200.0
TARGET_HIT = 0.90
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
PROBE_USER = "load-probe"
# Routes of the product (the brief's targets apply to them); the rest is the tool's own (tokens, the lag watcher).
CONDITIONAL_ROUTES = ("GET /leaderboard", "GET /leaderboard/me", "GET /participants/me")
ETAG_ROUTES = ("GET /leaderboard",)  # the routes that answer an ETag (and 304 to If-None-Match)


@dataclass
class Options:
    mode: str = "load"
    name: str = ""  # the section of bench/LOAD.md (default: the mode), so one mode can be reported at two loads
    duration: int = 180
    traders: int = 1000
    websockets: int = 100
    claimers: int = 50
    rate: float = 100.0
    steps: list[float] = field(default_factory=list)
    step_seconds: int = 40
    lag_limit: float = 5.0
    warmup: int = 30  # stress: seconds at the first step's rate before the steps count (users spawn and join)
    spawn_rate: float = 20.0
    trader_wait: tuple[float, float] = (10.0, 20.0)
    feeders: int = 4
    batch_size: int = 500
    sample_seconds: float = 2.0
    output: Path = REPORT


# ---------------------------------------------------------------------------------------------- HTTP


class Http:
    """JSON over HTTP to the stack (loopback)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.base + path, data=None if body is None else json.dumps(body).encode(), method=method
        )
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                raw, status = answer.read(), answer.status
        except urllib.error.HTTPError as error:
            raw, status = error.read(), error.code
        return status, json.loads(raw) if raw else None

    def ok(self, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
        status, answer = self.call(method, path, token, body)
        if status not in (200, 201, 202):
            raise RuntimeError(f"{method} {path}: {status} {answer}")
        return answer

    def token(self, sub: str, groups: list[str]) -> str:
        return self.ok("POST", "/local/token", body={"sub": sub, "groups": groups, "ttl_seconds": 7200})["token"]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# ---------------------------------------------------------------------------------------------- processes


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(CPU ticks used, resident bytes) of a process, from /proc; None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None
    return int(fields[11]) + int(fields[12]), resident


MACHINE = "machine (all processes)"


def _machine_ticks() -> tuple[int, int] | None:
    """(busy, total) CPU ticks of all cores since boot, from /proc/stat."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def children(pid: int) -> list[int]:
    """The direct children of `pid` (DynamoDB Local's Java process is the stack's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


class Sampler:
    """CPU (% of one core) and resident memory of named processes, every `every` seconds, on a thread."""

    def __init__(self, processes: dict[str, int], every: float) -> None:
        self.processes, self.every = processes, every
        self.samples: list[dict[str, Any]] = []  # {"t", name: {"cpu", "rss"}}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def add(self, name: str, pid: int) -> None:
        self.processes[name] = pid

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        last: dict[str, tuple[float, int]] = {}
        machine_before = _machine_ticks()
        while not self._stop.is_set():
            now = time.time()
            sample: dict[str, Any] = {"t": now}
            machine = _machine_ticks()
            if machine and machine_before and machine[1] > machine_before[1]:
                # every process on the machine (other work shares the 2 cores): busy share of all cores, in % of one
                busy = (machine[0] - machine_before[0]) / (machine[1] - machine_before[1])
                sample[MACHINE] = {"cpu": 100.0 * busy * (os.cpu_count() or 1), "rss": 0}
            machine_before = machine
            for name, pid in list(self.processes.items()):
                stat = _proc_stat(pid)
                if stat is None:
                    continue
                ticks, resident = stat
                if name in last:
                    then, before = last[name]
                    sample[name] = {
                        "cpu": 100.0 * (ticks - before) / CLOCK_TICKS / max(now - then, 1e-6),
                        "rss": resident,
                    }
                last[name] = (now, ticks)
            if any(name != MACHINE for name in sample if name != "t"):
                self.samples.append(sample)
            self._stop.wait(self.every)


def start_stack(log_path: Path) -> tuple[subprocess.Popen[bytes], Http, int]:
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "WS_PORT": str(free_port()),
        "HOST": "127.0.0.1",
        "ARENA_DEMO": "0",
        "INGEST_GRACE_SECONDS": "5",  # the claims event completes within seconds of its end
        "LOG_LEVEL": "WARNING",
    }
    env.pop("PYTHONPATH", None)
    log = open(log_path, "wb")  # noqa: SIM115 - the process's log, closed with it
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "local"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    http = Http(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {process.returncode}; see {log_path}")
        try:
            if http.call("GET", "/local/health")[0] == 200:
                return process, http, port
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise RuntimeError("the local stack was not healthy within 120 s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------- setup


def create_event(http: Http, admin: str, name: str, start: datetime, end: datetime, **fields: Any) -> str:
    body = {
        "name": name,
        "start_at": iso(start),
        "end_at": iso(end),
        "ranking_metric": "volume",
        "markets": ["BTC-USDT", "ETH-USDT"],
        "join_required": True,
        "max_participants": 100000,
        "qualification": {"min_volume": "0", "min_trades": 0},
        "prizes": [{"rank_from": 1, "rank_to": 10, "type": "points", "amount": "100"}],
        **fields,
    }
    return str(http.ok("POST", "/api/events", admin, body)["id"])


def tokens(http: Http, users: list[str], threads: int = 4) -> list[list[str]]:
    """[user, token] of each user (group `user`), issued before the run so the run measures the product only."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(threads) as pool:
        return [
            [user, token] for user, token in zip(users, pool.map(lambda u: http.token(u, ["user"]), users), strict=True)
        ]


def claims_event(http: Http, admin: str, feed: str, winners: int) -> list[list[str]]:
    """A manual-claim event with `winners` points prizes, traded, completed and distributed: its winners' prizes
    wait CLAIMABLE for the run's claimers."""
    if winners <= 0:
        return []
    now = datetime.now(UTC)
    event = create_event(
        http,
        admin,
        "Load claims cup",
        now,
        now + timedelta(hours=1),  # ended below once its winners traded: setup time varies with the machine
        prizes=[{"rank_from": 1, "rank_to": winners, "type": "points", "amount": "25"}],
        claim={"mode": "manual", "window_days": 14},
    )
    signed = tokens(http, [f"claimer-{event[-6:]}-{n:03d}" for n in range(winners)])
    users = [user for user, _ in signed]
    for _user, token in signed:
        http.ok("POST", f"/api/events/{event}/join", token)
    trades = [
        {
            "trade_id": f"C-{event}-{n}",
            "user_id": user,
            "market": "BTC-USDT",
            "side": "buy",
            "quantity": str(n + 1),
            "price": "100",
            "executed_at": iso(datetime.now(UTC)),
        }
        for n, user in enumerate(users)
    ]
    http.ok("POST", "/api/trades", feed, {"trades": trades})
    time.sleep(3)  # the trades reach the ranking through the participants stream before the event freezes it
    http.ok("POST", f"/api/events/{event}/end", admin, {"reason": "load run: claims during the run"})
    deadline = time.monotonic() + 120
    while http.ok("GET", f"/api/events/{event}", admin)["status"] != "COMPLETED":
        if time.monotonic() > deadline:
            raise RuntimeError("the claims event did not complete within 120 s")
        time.sleep(1)
    http.ok("POST", f"/api/events/{event}/prizes/distribute", admin)
    deadline = time.monotonic() + 120
    while http.ok("GET", f"/api/events/{event}/prizes/distribution", admin)["run"]["status"] != "COMPLETED":
        if time.monotonic() > deadline:
            raise RuntimeError("the claims event's distribution did not complete within 120 s")
        time.sleep(1)
    return signed


# ---------------------------------------------------------------------------------------------- after the run


def resend(http: Http, feed: str, extra: dict[str, Any]) -> dict[str, int]:
    """Send again every batch the run left unacknowledged (same trade ids: ingest counts each trade once), then add
    them to the truth: afterwards the board must equal it exactly. Counts what came back accepted or duplicate."""
    counts = {"batches": 0, "accepted": 0, "duplicates": 0}
    truth = {user: Decimal(volume) for user, volume in extra["truth"].items()}
    probe_total = Decimal(extra["probe_total"])
    for batch in extra.get("pending", []):
        for attempt in range(5):
            status, answer = http.call("POST", "/api/trades", feed, json.loads(batch["body"]))
            if status == 200:
                break
            if attempt == 4:
                raise RuntimeError(f"a pending batch was refused 5 times: {status} {answer}")
            time.sleep(2)
        counts["batches"] += 1
        counts["accepted"] += int(answer.get("accepted", 0))
        counts["duplicates"] += int(answer.get("duplicates", 0))
        for user, volume in batch["volumes"].items():
            truth[user] = truth.get(user, Decimal(0)) + Decimal(volume)
        probe_total += Decimal(extra["probe_volume"])
    extra["truth"] = {user: str(volume) for user, volume in truth.items()}
    extra["probe_total"] = str(probe_total)
    return counts


def drain(http: Http, token: str, event: str, probe_total: Decimal, seconds: float) -> float | None:
    """Seconds until the board's top shows the probe's final score (the snapshot caught up), None if it did not."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        status, page = http.call("GET", f"/api/events/{event}/leaderboard?limit=1", token)
        entries = (page or {}).get("entries") or [] if status == 200 else []
        if entries and entries[0]["user_id"] == PROBE_USER and Decimal(entries[0]["score"]) >= probe_total:
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def board(http: Http, token: str, event: str) -> dict[str, Decimal]:
    """Every entry of the board, paged to the end."""
    scores: dict[str, Decimal] = {}
    cursor = None
    for _page in range(10_000):
        path = f"/api/events/{event}/leaderboard?limit=100" + (f"&cursor={cursor}" if cursor else "")
        page = http.ok("GET", path, token)
        for entry in page["entries"]:
            scores[entry["user_id"]] = Decimal(entry["score"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return scores


def compare(truth: dict[str, str], scores: dict[str, Decimal], probe: str, probe_total: str) -> dict[str, Any]:
    """The final board against what the feed's acknowledged batches add up to, trader by trader."""
    expected = {user: Decimal(volume) for user, volume in truth.items()}
    expected[probe] = Decimal(probe_total)
    wrong = {
        user: {"expected": str(volume), "board": str(scores.get(user))}
        for user, volume in expected.items()
        if scores.get(user) != volume
    }
    extra = sorted(set(scores) - set(expected))
    return {"traders": len(expected), "on_board": len(scores), "wrong": wrong, "unexpected": extra}


def dlq_depths(endpoint: str, queues: dict[str, str]) -> dict[str, int]:
    """Messages in each dead-letter queue (moto's SQS, JSON protocol; moto routes on the credential scope)."""
    depths = {}
    for name, url in queues.items():
        if not name.endswith("DLQ"):
            continue
        request = urllib.request.Request(
            endpoint + "/",
            data=json.dumps(
                {
                    "QueueUrl": url,
                    "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                }
            ).encode(),
            method="POST",
        )
        request.add_header("content-type", "application/x-amz-json-1.0")
        request.add_header("x-amz-target", "AmazonSQS.GetQueueAttributes")
        request.add_header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0",
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            attributes = json.loads(answer.read())["Attributes"]
        depths[name] = sum(int(value) for value in attributes.values())
    return depths


# ---------------------------------------------------------------------------------------------- parsing


def read_stats(path: Path) -> list[dict[str, Any]]:
    """Locust's `<prefix>_stats.csv`: one row per (type, name) and the Aggregated row, numbers as floats."""
    rows = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            parsed: dict[str, Any] = {"type": row["Type"], "name": row["Name"]}
            for key in ("Request Count", "Failure Count", "Requests/s", "Failures/s", "50%", "95%", "99%", "100%"):
                value = row.get(key, "")
                parsed[key] = float(value) if value not in ("", "N/A") else float("nan")
            rows.append(parsed)
    return rows


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def cpu_summary(samples: list[dict[str, Any]], start: float, end: float) -> dict[str, dict[str, float]]:
    """Per process: mean and peak CPU (% of one core) and peak memory (MiB) of the samples within [start, end)."""
    summary: dict[str, dict[str, float]] = {}
    for sample in samples:
        if not start <= sample["t"] < end:
            continue
        for name, values in sample.items():
            if name == "t":
                continue
            entry = summary.setdefault(name, {"n": 0, "cpu_sum": 0.0, "cpu_max": 0.0, "rss_max": 0.0})
            entry["n"] += 1
            entry["cpu_sum"] += values["cpu"]
            entry["cpu_max"] = max(entry["cpu_max"], values["cpu"])
            entry["rss_max"] = max(entry["rss_max"], values["rss"] / 2**20)
    return {
        name: {"cpu_mean": e["cpu_sum"] / e["n"], "cpu_max": e["cpu_max"], "rss_max_mib": e["rss_max"]}
        for name, e in summary.items()
        if e["n"]
    }


def memory_trend(samples: list[dict[str, Any]], name: str) -> dict[str, float] | None:
    """Resident memory of `name` at the start, middle and end of the run (MiB) and a least-squares slope per hour
    over the second half (after warm-up): growth shows as a steady positive slope."""
    points = [(s["t"], s[name]["rss"] / 2**20) for s in samples if name in s]
    if len(points) < 4:
        return None
    half = points[len(points) // 2 :]
    t0 = half[0][0]
    xs, ys = [t - t0 for t, _ in half], [m for _, m in half]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return {
        "start": points[0][1],
        "middle": points[len(points) // 2][1],
        "end": points[-1][1],
        "max": max(m for _, m in points),
        "slope_mib_per_hour": slope * 3600,
    }


# ---------------------------------------------------------------------------------------------- the report


def _ms(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def route_table(stats: list[dict[str, Any]], conditional: dict[str, dict[str, int]], seconds: float) -> str:
    """Per route: requests, p50/p95/p99, errors, throughput, 304 share, and the brief's two targets judged."""
    rows = []
    for row in stats:
        if row["name"] == "Aggregated" or row["name"].startswith("setup"):
            continue
        count, failures = row["Request Count"], row["Failure Count"]
        counts = conditional.get(row["name"])
        hit = None
        if counts is not None:
            total = counts.get("200", 0) + counts.get("304", 0)
            hit = counts.get("304", 0) / total if total else None
        is_api = row["type"] in ("GET", "POST") and not row["name"].startswith("lag")
        p95 = row["95%"]
        verdicts = []
        if is_api:
            verdicts.append(("met" if p95 < TARGET_P95_MS else "NOT met") + f" (p95 {_ms(p95)} ms)")
        if row["name"] in CONDITIONAL_ROUTES:
            if row["name"] not in ETAG_ROUTES:
                verdicts.append("cache: NOT met, no ETag on this route")
            else:
                verdicts.append(
                    "cache: "
                    + ("met" if hit and hit > TARGET_HIT else "NOT met")
                    + (f" ({hit:.1%})" if hit is not None else "")
                )
        rows.append(
            [
                f"{row['type']} {row['name']}" if row["type"] not in ("GET", "POST") else row["name"],
                f"{count:,.0f}",
                _ms(row["50%"]),
                _ms(p95),
                _ms(row["99%"]),
                f"{failures / count:.2%}" if count else "-",
                f"{count / seconds:.1f}" if seconds else "-",
                "-" if hit is None else f"{hit:.1%}",
                "; ".join(verdicts) or "-",
            ]
        )
    return table(
        [
            "route",
            "requests",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "errors",
            "req/s",
            "304 share",
            "targets (p95 < 200 ms; hit > 90%)",
        ],
        rows,
    )


def machine_line() -> str:
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    load = Path("/proc/loadavg").read_text().split()[:3]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    return (
        f"{os.cpu_count()} CPUs ({cpu.group(1).strip() if cpu else '?'}), Python {sys.version.split()[0]}, "
        f"commit {commit.strip()}, load average at the end {' / '.join(load)}"
    )


def render(options: Options, result: dict[str, Any]) -> str:
    """The mode's section of bench/LOAD.md."""
    mode = options.mode
    extra, stats = result["extra"], result["stats"]
    seconds = max(1.0, extra["ended"] - extra["started"])
    lags = [lag for _, lag in extra["lags"]]
    pushes = [lag for _, lag in extra["push_lags"]]
    feed = extra["feed"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        f"<!-- {options.name}:start -->",
        f"## {options.name.capitalize()}",
        "",
        f"`{result['command']}` on {when}, {seconds:.0f} s of traffic ({machine_line()}). "
        f"{result['users']} Locust users: {options.feeders} feed posters, {extra['joined']:,} traders joined, "
        f"{len(result['claimers'])} claimers, {options.websockets} WebSocket clients, 1 lag watcher.",
        "",
    ]
    if mode != "stress":
        out.append(
            f"Feed offered {options.rate:g} trades/s; sent {feed.get('sent', 0):,} trades "
            f"({feed.get('sent', 0) / seconds:.1f}/s), accepted {feed.get('accepted', 0):,}, duplicates "
            f"{feed.get('duplicates', 0)}, ignored {feed.get('ignored', 0)}, rejected {feed.get('rejected', 0)}, "
            f"batches given up {feed.get('batches_failed', 0)}."
        )
        out.append("")
    out += ["### Per route", "", route_table(stats, extra["conditional"], seconds), ""]
    out.append(
        "The stack keeps no cache metrics of its own here: the leaderboard's LeaderboardCacheHit/Miss are EMF metrics, "
        "and the local stack runs every function in one process, where Powertools' process-wide Metrics object is "
        "flushed by concurrent invocations (enabled, it answered 500 `Must contain at least one metric`), so they stay "
        "off (POWERTOOLS_METRICS_DISABLED). The cache figure is the clients': the 304 share."
    )
    out.append("")
    out += [
        "### Snapshot lag behind ingest",
        "",
        "Each feed batch carries one trade of the probe trader, who leads the board by far; the lag is the time from "
        "the batch's acknowledgement to the first poll of the board's top (4 a second) showing its score, and for "
        "WebSocket clients to the first leaderboard push carrying it (trade-to-client).",
        "",
        table(
            ["measure", "samples", "p50", "p95", "p99", "max"],
            [
                [
                    "board shows the batch (GET /leaderboard)",
                    str(len(lags)),
                    _s(percentile(lags, 50)),
                    _s(percentile(lags, 95)),
                    _s(percentile(lags, 99)),
                    _s(max(lags, default=None)),
                ],
                [
                    "WebSocket push carries it (per client)",
                    str(len(pushes)),
                    _s(percentile(pushes, 50)),
                    _s(percentile(pushes, 95)),
                    _s(percentile(pushes, 99)),
                    _s(max(pushes, default=None)),
                ],
            ],
        ),
        "",
        f"After the feed stopped: {result['drain_text']}. WebSocket messages received: "
        + ", ".join(f"{kind} {count:,}" for kind, count in sorted(extra["ws_messages"].items())),
        "",
    ]
    if mode == "stress":
        out += stress_section(result)
    out += ["### Processes", "", process_table(result["cpu"]), ""]
    if mode == "soak":
        out += soak_section(result)
    out += health_section(result)
    out.append(f"<!-- {options.name}:end -->")
    return "\n".join(out)


def process_table(cpu: dict[str, dict[str, float]]) -> str:
    rows = [
        [name, f"{v['cpu_mean']:.0f}%", f"{v['cpu_max']:.0f}%", f"{v['rss_max_mib']:,.0f}" if v["rss_max_mib"] else "-"]
        for name, v in cpu.items()
    ]
    return "CPU in % of one core (2 cores = 200%), from /proc:\n\n" + table(
        ["process", "CPU mean", "CPU peak", "memory peak MiB"], rows
    )


def stress_section(result: dict[str, Any]) -> list[str]:
    steps = result["extra"]["steps"]
    rows = []
    for step in steps:
        cpu = cpu_summary(result["samples"], step["start"], step["end"])
        rows.append(
            [
                f"{step['rate']:g}",
                f"{step['achieved']:.0f}",
                str(step["failures"]),
                _s(step["lag_p95"]),
                _s(step["lag_max"]),
                *(
                    f"{cpu.get(name, {}).get('cpu_mean', 0):.0f}%"
                    for name in ("stack", "dynamodb-local", "locust", MACHINE)
                ),
            ]
        )
    knee = result["extra"]["stop_reason"]
    return [
        "### Ramp (stress)",
        "",
        f"After {result['options'].warmup} s of warm-up at the first step's rate (the crowd spawns and joins), steps "
        f"of {result['options'].step_seconds} s; the run stops at the first step with a failed request or a "
        f"sustained lag over {result['options'].lag_limit:g} s (the step's p95, or the backlog at its end; one "
        f"slow poll alone does not stop it). Stopped: {'; '.join(knee) or '?'}.",
        "",
        table(
            [
                "offered trades/s",
                "sent trades/s",
                "failed requests",
                "lag p95",
                "lag max",
                "stack CPU",
                "DynamoDB Local CPU",
                "Locust CPU",
                "whole machine CPU",
            ],
            rows,
        ),
        "",
        result.get("verdict", ""),
        "",
    ]


def soak_section(result: dict[str, Any]) -> list[str]:
    rows = []
    for name in ("stack", "dynamodb-local", "locust"):
        trend = memory_trend(result["samples"], name)
        if trend:
            rows.append(
                [
                    name,
                    f"{trend['start']:,.0f}",
                    f"{trend['middle']:,.0f}",
                    f"{trend['end']:,.0f}",
                    f"{trend['max']:,.0f}",
                    f"{trend['slope_mib_per_hour']:+,.0f}",
                ]
            )
    return [
        "### Memory over time (soak)",
        "",
        "Resident memory (MiB) sampled every "
        f"{result['options'].sample_seconds:g} s; the slope is a least-squares fit over the run's second half.",
        "",
        table(["process", "start", "middle", "end", "max", "slope MiB/h (2nd half)"], rows),
        "",
    ]


def health_section(result: dict[str, Any]) -> list[str]:
    truth = result["truth"]
    lines = ["### Correctness and the stack's own counts", ""]
    resent = result.get("resent") or {}
    if resent.get("batches"):
        lines.append(
            f"Batches unacknowledged when the run stopped (cut off by the stop or given up): {resent['batches']}, sent "
            f"again with the same trade ids: {resent['duplicates']} trades came back as duplicates (the first send "
            f"had been ingested), {resent['accepted']} accepted."
        )
        lines.append("")
    if truth is None:
        lines.append("Final board: not checked (the snapshot did not catch up).")
    else:
        lines.append(
            f"Final board against the truth from the acknowledged batches: {truth['traders']:,} traders expected, "
            f"{truth['on_board']:,} on the board, {len(truth['wrong'])} with a wrong score, "
            f"{len(truth['unexpected'])} unexpected"
            + (" - **no lost trade**." if not truth["wrong"] and not truth["unexpected"] else " - **MISMATCH**.")
        )
        if truth["wrong"]:
            sample = list(truth["wrong"].items())[:5]
            lines.append(f"First mismatches: {sample}")
    errors = {name: f["errors"] for name, f in result["functions"].items() if f["errors"]}
    lines.append("")
    lines.append(f"Function errors (handler raised): {errors or 'none'}.")
    pollers = result["pollers"]
    bad = {
        name: s
        for name, s in pollers.items()
        if s.get("failed_batches") or s.get("partial_failures") or s.get("skipped_batches")
    }
    batches = sum(s.get("batches", 0) for s in pollers.values())
    records = sum(s.get("records", 0) for s in pollers.values())
    lines.append(
        f"Event-source pollers: {batches:,} batches, {records:,} records; failed, partial or skipped batches: "
        f"{bad or 'none'}."
    )
    lines.append(f"Dead-letter queues: {result['dlq'] or 'none'}.")
    invocations = {name: f["invocations"] for name, f in result["functions"].items() if f["invocations"]}
    lines.append("")
    lines.append(
        "Invocations per function: "
        + ", ".join(f"{n} {c:,}" for n, c in sorted(invocations.items(), key=lambda i: -i[1]))
    )
    lines.append("")
    return lines


# ---------------------------------------------------------------------------------------------- the run


def run(options: Options) -> dict[str, Any]:
    OUT.mkdir(parents=True, exist_ok=True)
    if not LOCUST.exists():
        raise SystemExit(f"{LOCUST} is missing: run `make load` (it installs requirements-load.txt into .venv-load)")
    mode, tag = options.mode, options.name or options.mode
    stack_log = OUT / f"stack-{tag}.log"
    process, http, _port = start_stack(stack_log)
    sampler = Sampler({"stack": process.pid}, options.sample_seconds)
    try:
        for child in children(process.pid):
            sampler.add("dynamodb-local", child)
        sampler.start()
        health = http.ok("GET", "/local/health")
        admin = http.token("load-admin", ["admin"])
        feed = http.ok("POST", "/local/token", body={"client_id": "arena-local-trade-feed", "ttl_seconds": 7200})[
            "token"
        ]
        log(f"{mode}: stack up at {http.base}; setting up the claims event ({options.claimers} winners)")
        claimers = claims_event(http, admin, feed, options.claimers)
        now = datetime.now(UTC)
        run_seconds = options.duration
        if options.steps:
            run_seconds = options.warmup + options.step_seconds * len(options.steps) + 15
        event = create_event(http, admin, f"Load {mode}", now - timedelta(seconds=5), now + timedelta(hours=3))
        probe = http.token(PROBE_USER, ["user"])
        http.ok("POST", f"/api/events/{event}/join", probe)
        # Other traders see the probe by its public handle only (leaderboard pages and pushes)
        probe_handle = http.ok("GET", "/api/me/profile", probe)["identity"]["handle"]
        log(f"{mode}: tokens for {options.traders} traders and {options.websockets} WebSocket clients")
        traders = tokens(http, [f"load-{event[-8:]}-{n:05d}" for n in range(options.traders)])
        ws_tokens = [token for _, token in tokens(http, [f"ws-client-{n}" for n in range(max(1, options.websockets))])]
        config = {
            "run": event[-8:],
            "event_id": event,
            "probe_user": PROBE_USER,
            "probe_handle": probe_handle,
            "feed_token": feed,
            "ws_url": health["websocket"]["url"],
            "ws_tokens": ws_tokens,
            "traders": traders,
            "watcher_token": http.token("load-lag-watcher", ["user"]),
            "claimers": claimers,
            "websockets": options.websockets,
            "feeders": options.feeders,
            "batch_size": options.batch_size,
            "rate": options.rate,
            "steps": options.steps,
            "step_seconds": options.step_seconds,
            "lag_limit": options.lag_limit,
            "warmup": options.warmup if options.steps else 0,
            "trader_wait": list(options.trader_wait),
        }
        config_path, extra_path = OUT / f"config-{tag}.json", OUT / f"extra-{tag}.json"
        config_path.write_text(json.dumps(config))
        users = options.feeders + 1 + len(claimers) + options.websockets + options.traders
        command = [
            str(LOCUST),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--host",
            http.base,
            "-u",
            str(users),
            "-r",
            str(options.spawn_rate),
            "-t",
            f"{run_seconds}s",
            "--stop-timeout",
            "10",
            "--csv",
            str(OUT / tag),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ]
        env = {**os.environ, "LOAD_CONFIG": str(config_path), "LOAD_EXTRA": str(extra_path)}
        log(f"{mode}: event {event}; Locust with {users} users for {run_seconds} s")
        with open(OUT / f"locust-{tag}.log", "wb") as locust_log:
            locust = subprocess.Popen(command, cwd=ROOT, env=env, stdout=locust_log, stderr=locust_log)
            sampler.add("locust", locust.pid)
            try:
                locust.wait(timeout=run_seconds + 180)
            except subprocess.TimeoutExpired:
                stop_process(locust)  # type: ignore[arg-type]
        extra = json.loads(extra_path.read_text())
        resent = resend(http, feed, extra)
        log(f"{mode}: Locust done; {resent['batches']} unacknowledged batches sent again; waiting for the snapshot")
        watcher = http.token("load-checker", ["admin"])  # compares scores by user id: an admin's view has them
        drained = drain(http, watcher, event, Decimal(extra["probe_total"]), 300)
        drain_text = (
            f"the board showed every acknowledged trade {drained:.1f} s later"
            if drained is not None
            else "the board had NOT caught up within 300 s"
        )
        truth = (
            compare(extra["truth"], board(http, watcher, event), PROBE_USER, extra["probe_total"])
            if drained is not None
            else None
        )
        health = http.ok("GET", "/local/health")
        functions = http.ok("GET", "/local/functions")
        dlq = {
            name: depth
            for name, depth in dlq_depths(health["aws"]["endpoint"], health["aws"]["queues"]).items()
            if depth
        }
    finally:
        sampler.stop()
        stop_process(process)
    samples = sampler.samples
    cpu = cpu_summary(samples, extra["started"], extra["ended"])
    result = {
        "options": options,
        "users": users,
        "claimers": claimers,
        "extra": extra,
        "stats": read_stats(OUT / f"{tag}_stats.csv"),
        "samples": samples,
        "cpu": cpu,
        "drain_text": drain_text,
        "resent": resent,
        "truth": truth,
        "functions": functions,
        "pollers": health.get("event_sources", {}),
        "dlq": dlq,
    }
    if mode == "stress":
        result["verdict"] = saturation_verdict(result)
    (OUT / f"samples-{tag}.json").write_text(json.dumps(samples))
    return result


def saturation_verdict(result: dict[str, Any]) -> str:
    """Which ran out first in the last step measured (the knee): one of our processes (a core's worth: the stack's
    Python is one GIL), or the machine's cores as a whole (other work shares them)."""
    steps = result["extra"]["steps"]
    if not steps:
        return ""
    last = steps[-1]
    cpu = cpu_summary(result["samples"], last["start"], last["end"])
    ranked = sorted(((n, v) for n, v in cpu.items() if n != MACHINE), key=lambda item: -item[1]["cpu_mean"])
    if not ranked:
        return ""
    text = "At the last step: " + ", ".join(
        f"{name} {values['cpu_mean']:.0f}% of a core (peak {values['cpu_max']:.0f}%)" for name, values in ranked
    )
    whole = cpu.get(MACHINE, {}).get("cpu_mean")
    if whole is None:
        return text + "."
    ours = sum(values["cpu_mean"] for _, values in ranked)
    cores = 100.0 * (os.cpu_count() or 1)
    text += f"; the whole machine {whole:.0f}% of {cores:.0f}% (ours {ours:.0f}%, other work {whole - ours:.0f}%)."
    if ranked[0][1]["cpu_mean"] >= 90:
        return text + f" First to saturate: {ranked[0][0]}, a whole core (the stack's Python is one GIL)."
    if whole >= 0.9 * cores:
        return text + " First to saturate: the machine's cores, shared with other work; none of ours had a core."
    return text + " Neither a process of ours nor the machine was CPU-bound: the wait is elsewhere."


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def write(options: Options, text: str) -> None:
    from bench.report import write_section

    path = options.output
    if not path.exists():
        path.write_text(
            "# Arena load, stress and soak results\n\nWritten by `make load`, `make stress` and `make soak` "
            "(`python -m bench load`, bench/load.py with bench/locustfile.py): the local stack over loopback "
            "(every function in one Python process, DynamoDB Local in a Java process, moto in-process), driven by "
            "Locust on the same 2-core machine. Figures, not assertions: re-run to refresh.\n"
        )
    write_section(text, path, f"<!-- {options.name}:start -->", f"<!-- {options.name}:end -->")


def parse(argv: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench load", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mode", choices=("load", "stress", "soak"), default="load")
    parser.add_argument("--name", default="", help="the section of bench/LOAD.md (default: the mode)")
    parser.add_argument("--duration", type=int, help="seconds of traffic (load 180, soak 1800)")
    parser.add_argument("--traders", type=int)
    parser.add_argument("--websockets", type=int)
    parser.add_argument("--claimers", type=int, default=50)
    parser.add_argument("--rate", type=float, help="trades a second the feed offers (load 200, soak 100)")
    parser.add_argument("--steps", help="stress: comma-separated trades/s (default 5,10,20,40,80,160,320,640)")
    parser.add_argument("--step-seconds", type=int, default=40)
    parser.add_argument("--lag-limit", type=float, default=5.0)
    parser.add_argument("--output", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    defaults = {
        "load": {"duration": 180, "traders": 1000, "websockets": 100, "rate": 100.0, "sample_seconds": 2.0},
        "stress": {"duration": 0, "traders": 100, "websockets": 20, "rate": 0.0, "sample_seconds": 2.0},
        "soak": {"duration": 1800, "traders": 100, "websockets": 20, "rate": 20.0, "sample_seconds": 10.0},
    }[args.mode]
    options = Options(
        mode=args.mode,
        name=args.name or args.mode,
        duration=args.duration or int(defaults["duration"]),
        traders=args.traders if args.traders is not None else int(defaults["traders"]),
        websockets=args.websockets if args.websockets is not None else int(defaults["websockets"]),
        claimers=args.claimers,
        rate=args.rate or float(defaults["rate"]),
        step_seconds=args.step_seconds,
        lag_limit=args.lag_limit,
        sample_seconds=float(defaults["sample_seconds"]),
        output=args.output,
    )
    if args.mode == "stress":
        options.steps = [float(s) for s in (args.steps or "5,10,20,40,80,160,320,640").split(",") if s.strip()]
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    result = run(options)
    result["command"] = "python -m bench load " + " ".join(sys.argv[1:] if argv is None else argv)
    text = render(options, result)
    write(options, text)
    print(text)
    log(f"{options.mode}: done in {time.monotonic() - started:.0f} s; written to {options.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
