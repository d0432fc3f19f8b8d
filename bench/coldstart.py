"""`python -m bench coldstart [--build-dir .aws-sam/x86_64] [--functions A,B,C] [--runs 7] [--output PATH]`: the
cold-start import time of handlers from the built artifact (`make artifact`), and what dominates it.

Each function's handler is imported the way tools/artifact.py checks the artifact: a fresh interpreter (`python
-I -S`, no site-packages) whose path is what Lambda gives the function (its code folder, then its layers'
python/ folders), with the function's environment from the built template and LAMBDA_TASK_ROOT, which Lambda sets
and the X-Ray SDK reads. `--runs` imports per function, timing the wall clock and the CPU (median and spread;
on a shared machine the wall time grows with the load, the CPU time much less); then three more under `-X
importtime`, whose self times are summed by top-level package (arena by its subpackage), the median of the three
per package, to say what the time goes to. Figures, not assertions; the section between the coldstart markers in
bench/RESULTS.md is replaced on each run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- coldstart:start -->", "<!-- coldstart:end -->"
# An HTTP read on the hot path, the HTTP write the feed calls, and the stream consumer that keeps the snapshot.
DEFAULT_FUNCTIONS = ("GetLeaderboardFunction", "IngestTradesFunction", "RefreshLeaderboardFunction")
TARGET_MS = 300.0
# tools/artifact.py's probe, also timing the CPU the import takes: on a shared machine the wall time of an import
# grows with the load, its CPU time much less.
PROBE = """
import importlib, json, sys, time
module_name, attribute = sys.argv[1].rsplit(".", 1)
sys.path[:0] = json.loads(sys.argv[2])
started, cpu = time.perf_counter(), time.process_time()
try:
    handler = getattr(importlib.import_module(module_name), attribute)
except BaseException as error:
    print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
else:
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(json.dumps({"ok": callable(handler), "import_ms": wall * 1000, "cpu_ms": cpu * 1000}))
"""


def _artifact() -> Any:
    spec = importlib.util.spec_from_file_location("arena_tools_artifact", ROOT / "tools" / "artifact.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def _probe(artifact: Any, build_dir: Path, template: dict, spec: Any, importtime: bool) -> tuple[dict, str]:
    """One import of the handler in a fresh interpreter: ({import_ms, cpu_ms}, -X importtime's report or "")."""
    path = artifact.lambda_path(build_dir, template, spec)
    environment = artifact.function_environment(spec, artifact.tpl.LocalContext(template=template))
    # Lambda names the function's code folder; the X-Ray SDK reads it to know it runs in Lambda (and then samples
    # from the invocation's trace header instead of building an X-Ray client for centralised sampling).
    environment["LAMBDA_TASK_ROOT"] = str((build_dir / spec.code_uri).resolve())
    flags = ["-X", "importtime"] if importtime else []
    completed = subprocess.run(
        [sys.executable, "-I", "-S", *flags, "-c", PROBE, spec.handler, json.dumps(path)],
        env=environment,
        cwd=str(build_dir / spec.code_uri),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    if not answer.get("ok"):
        raise RuntimeError(f"{spec.logical_id} does not import: {answer.get('error')}")
    return answer, completed.stderr


def attribute(importtime: str) -> tuple[Counter, int]:
    """-X importtime's lines -> self microseconds by group (top-level package; arena.<subpackage>), and the
    number of modules imported."""
    groups: Counter = Counter()
    modules = 0
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        _, self_us, _cumulative, name = (part.strip() for part in line.replace("import time:", "|", 1).split("|"))
        parts = name.split(".")
        group = ".".join(parts[:2]) if parts[0] == "arena" and len(parts) > 1 else parts[0]
        groups[group] += int(self_us)
        modules += 1
    return groups, modules


def measure(build_dir: Path, functions: list[str], runs: int) -> list[dict[str, Any]]:
    artifact = _artifact()
    template_path = build_dir / "template.yaml"
    if not template_path.is_file():
        raise SystemExit(f"{template_path} not found: run `make artifact` (sam build) first")
    template = artifact.tpl.load_template(template_path.resolve())
    specs = {spec.logical_id: spec for spec in artifact.tpl.functions(template)}
    results = []
    for name in functions:
        spec = specs[name]
        probes = [_probe(artifact, build_dir, template, spec, importtime=False)[0] for _ in range(runs)]
        times, cpu = [p["import_ms"] for p in probes], [p["cpu_ms"] for p in probes]
        # Self times by group, the median of 3 runs (one run's split moves with the machine's load).
        attributed = [attribute(_probe(artifact, build_dir, template, spec, importtime=True)[1]) for _ in range(3)]
        modules = attributed[0][1]
        names = {name for groups_, _ in attributed for name in groups_}
        groups = Counter({name: int(statistics.median(g.get(name, 0) for g, _ in attributed)) for name in names})
        results.append(
            {
                "function": name,
                "handler": spec.handler,
                "first_ms": times[0],
                "median_ms": statistics.median(times),
                "min_ms": min(times),
                "max_ms": max(times),
                "cpu_median_ms": statistics.median(cpu),
                "cpu_min_ms": min(cpu),
                "cpu_max_ms": max(cpu),
                "runs": runs,
                "modules": modules,
                "groups": dict(groups.most_common()),
                "importtime_total_ms": sum(groups.values()) / 1000,
            }
        )
        figures = results[-1]
        print(
            f"{name}: median {figures['median_ms']:.0f} ms wall, {figures['cpu_median_ms']:.0f} ms CPU ({runs} runs)",
            file=sys.stderr,
            flush=True,
        )
    return results


def section(results: list[dict[str, Any]], build_dir: Path, baseline: list[dict[str, Any]] | None = None) -> str:
    before = {r["function"]: r for r in baseline or []}
    header = [
        "function",
        "import CPU, median (min-max)",
        "import wall, median (min-max)",
        f"CPU under {TARGET_MS:.0f} ms",
        "modules",
    ]
    if before:
        header[1:1] = ["before: CPU / wall, median; modules"]
    rows = []
    for r in results:
        row = [
            f"{r['function']} (`{r['handler']}`)",
            f"**{r['cpu_median_ms']:.0f} ms** ({r['cpu_min_ms']:.0f}-{r['cpu_max_ms']:.0f})",
            f"{r['median_ms']:.0f} ms ({r['min_ms']:.0f}-{r['max_ms']:.0f})",
            "yes" if r["cpu_median_ms"] < TARGET_MS else "no",
            f"{r['modules']:,}",
        ]
        if before:
            was = before.get(r["function"])
            row[1:1] = [
                f"{was['cpu_median_ms']:.0f} ms / {was['median_ms']:.0f} ms; {was['modules']:,}" if was else "-"
            ]
        rows.append(row)
    groups: Counter = Counter()
    for r in results:
        groups.update({name: us / max(1, sum(r["groups"].values())) for name, us in r["groups"].items()})
    top = [name for name, _ in groups.most_common(12)]

    def share(r: dict[str, Any], name: str) -> str:
        part = r["groups"].get(name, 0) / max(1, sum(r["groups"].values()))
        return f"{part:.0%} (~{part * r['cpu_median_ms']:.0f} ms)"

    shares = [[name, *(share(r, name) for r in results)] for name in top]
    load = os.getloadavg()
    lines = [
        START,
        "## Cold start: handler import time from the artifact",
        "",
        f"`python -m bench coldstart`, run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on this machine "
        f"({os.cpu_count()} cores, shared, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}) from "
        f"`{build_dir.relative_to(ROOT) if build_dir.is_relative_to(ROOT) else build_dir}` (`make artifact`). Each "
        "handler imported in a fresh `python -I -S` with Lambda's path (its code, then its layers) and its "
        f"environment, {results[0]['runs'] if results else 0} times (tools/artifact.py's probe); the time is the "
        "import of the handler module, after the interpreter's own start. Target: under "
        f"{TARGET_MS:.0f} ms with Powertools and pydantic.",
        "",
        report.table(header, rows),
        "",
        "Where the time goes: each package's share of the import's self time under `-X importtime` (median of 3 "
        "runs; arena by subpackage), and that share of the CPU median:",
        "",
        report.table(["package", *(r["function"] for r in results)], shares),
        "",
        READING,
        END,
    ]
    return "\n".join(lines) + "\n"


READING = (
    "Reading: no single package dominates. A handler imports Powertools (the resolver or the batch utilities, "
    "the Logger, Metrics and the Tracer, which imports the X-Ray SDK and patches botocore before any client is "
    "made), boto3 and botocore (and, through boto3, s3transfer and multiprocessing), pydantic with "
    "pydantic-settings, the arena models (each pydantic model builds its validator when its class is made) and "
    "urllib3; each is a few percent to a sixth of the import. What is imported is used on the first invocation "
    "(the DynamoDB client, the settings, the models of the request and the event), so making it lazy would move "
    "the time from Lambda's init phase, which runs at full CPU whatever the memory size, into the first "
    "invocation, not remove it; the 300 ms aim with Powertools, pydantic and boto3 is not met here. Measured with "
    "LAMBDA_TASK_ROOT set, as in Lambda: without it the X-Ray SDK believes it runs outside Lambda and builds a "
    "botocore X-Ray client for centralised sampling at import, about 150 ms more (tools/artifact.py's check "
    "imports without it). Wall times here are inflated by the machine's load (its load average is in the "
    "heading); the CPU times are the figure to compare."
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench coldstart", description=__doc__.splitlines()[0])
    artifact = _artifact()
    parser.add_argument("--build-dir", type=Path, default=artifact.default_build_dir())
    parser.add_argument("--functions", default=",".join(DEFAULT_FUNCTIONS))
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline-dir", type=Path, help="also measure this build output (before), first")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--save", type=Path, help="keep the figures as JSON in this file")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--render", type=Path, help="no runs: write the section from figures --save kept")
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads(args.render.read_text())
        text = section(saved["results"], args.build_dir.resolve(), saved.get("baseline"))
        print(text)
        if not args.no_write:
            report.write_section(text.rstrip("\n"), args.output, START, END)
        return 0
    functions = [f.strip() for f in args.functions.split(",") if f.strip()]
    baseline = measure(args.baseline_dir.resolve(), functions, args.runs) if args.baseline_dir else None
    results = measure(args.build_dir.resolve(), functions, args.runs)
    if args.save:
        args.save.write_text(json.dumps({"results": results, "baseline": baseline}, indent=1))
    text = section(results, args.build_dir.resolve(), baseline)
    print(text)
    if not args.no_write:
        report.write_section(text.rstrip("\n"), args.output, START, END)
    return 0


if __name__ == "__main__":
    sys.exit(main())
