"""Check what `sam build` ships: import every function's handler from the build output alone, as Lambda would.

    python tools/artifact.py check [BUILD_DIR] [--function NAME ...]

BUILD_DIR defaults to what `make artifact` writes for this machine, .aws-sam/<x86_64|arm64>.

Each function is imported in its own clean interpreter (`python -I -S`: no site-packages, no PYTHONPATH) whose
path is what Lambda gives a python3.11 function, less the runtime's own boto3 (the layer ships a pinned one): the
function's folder, then the python/ folder (/opt/python) of each layer it names, with the function's environment
from the built template. Nested stacks are read from the build output too (sam build writes each child's template
and code under <BUILD_DIR>/<Application>/). A module missing from the layer, a layer one folder too deep
or a handler name that does not exist fails the check. It prints each function's cold import time and exits 1 when
any function fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local import template as tpl  # noqa: E402 - the repository root is put on the path first

# What runs inside the clean interpreter: import the handler the way Lambda's bootstrap does, time it, report JSON.
_PROBE = """
import importlib, json, sys, time
module_name, attribute = sys.argv[1].rsplit(".", 1)
sys.path[:0] = json.loads(sys.argv[2])
started = time.perf_counter()
try:
    handler = getattr(importlib.import_module(module_name), attribute)
    if not callable(handler):
        raise TypeError(f"{sys.argv[1]} is not callable")
except BaseException as error:
    print(json.dumps({"ok": False, "error": f"{type(error).__name__}: {error}"}))
else:
    print(json.dumps({"ok": True, "import_ms": round((time.perf_counter() - started) * 1000, 1)}))
"""

# Lambda's own variables; the function's come from the template.
_LAMBDA_ENVIRONMENT = {
    "AWS_REGION": tpl.DEFAULT_REGION,
    "AWS_DEFAULT_REGION": tpl.DEFAULT_REGION,
    "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_ACCESS_KEY_ID": "artifact-check",
    "AWS_SECRET_ACCESS_KEY": "artifact-check",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}


def default_build_dir() -> Path:
    """Where `make artifact` builds for this machine (Lambda names aarch64 arm64)."""
    return ROOT / ".aws-sam" / platform.machine().replace("aarch64", "arm64")


@dataclass(frozen=True)
class ImportResult:
    function: str
    handler: str
    ok: bool
    import_ms: float | None
    error: str | None


def lambda_path(build_dir: Path, template: dict, spec: tpl.FunctionSpec) -> list[str]:
    """The import path Lambda gives a function: its code, then its own layers' python/ folders (a nested stack's
    function has its stack's layers, not the parent's)."""
    layers = [str(folder) for folder in tpl.function_layer_dirs(template, spec, build_dir)]
    return [str((build_dir / spec.code_uri).resolve()), *layers]


def function_environment(spec: tpl.FunctionSpec, context: tpl.LocalContext) -> dict[str, str]:
    resolved = tpl.resolve(spec.environment, context)
    own = {name: tpl.environment_string(value) for name, value in resolved.items()}
    return {**_LAMBDA_ENVIRONMENT, **own, "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id}


def import_handler(build_dir: Path, template: dict, spec: tpl.FunctionSpec) -> ImportResult:
    """Import one function's handler in a fresh interpreter with only Lambda's path."""
    path = lambda_path(build_dir, template, spec)
    environment = function_environment(spec, tpl.LocalContext(template=template))
    completed = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-I", "-S", "-c", _PROBE, spec.handler, json.dumps(path)],
        env=environment,
        cwd=str(build_dir / spec.code_uri),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        answer = json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        error = (completed.stderr.strip().splitlines() or [f"exit {completed.returncode}, no output"])[-1]
        return ImportResult(spec.logical_id, spec.handler, False, None, error)
    return ImportResult(spec.logical_id, spec.handler, answer["ok"], answer.get("import_ms"), answer.get("error"))


def check(build_dir: Path, only: list[str] | None = None, workers: int = 2) -> list[ImportResult]:
    template_path = build_dir / "template.yaml"
    if not template_path.is_file():
        raise SystemExit(f"{template_path} not found: run `make artifact` (sam build) first")
    template = tpl.load_template(template_path.resolve())
    specs = [spec for spec in tpl.functions(template) if not only or spec.logical_id in only]
    if only and len(specs) != len(set(only)):
        missing = sorted(set(only) - {spec.logical_id for spec in specs})
        raise SystemExit(f"no such function in {template_path}: {', '.join(missing)}")
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda spec: import_handler(build_dir, template, spec), specs))


def report(results: list[ImportResult]) -> str:
    lines = []
    for result in sorted(results, key=lambda r: (r.ok, r.function)):
        figure = f"{result.import_ms:8.1f} ms" if result.import_ms is not None else "       -   "
        lines.append(f"{'ok  ' if result.ok else 'FAIL'} {figure}  {result.function} ({result.handler})")
        if result.error:
            lines.append(f"                 {result.error}")
    failed = sum(not result.ok for result in results)
    lines.append(f"{len(results) - failed} of {len(results)} functions import from the artifact")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/artifact.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="import every handler from the build output")
    checking.add_argument("build_dir", type=Path, nargs="?", default=default_build_dir())
    checking.add_argument("--function", action="append", dest="functions", metavar="LOGICAL_ID")
    checking.add_argument("--workers", type=int, default=max(1, min(4, os.cpu_count() or 1)))
    args = parser.parse_args(argv)
    started = time.monotonic()
    results = check(args.build_dir, args.functions, args.workers)
    print(report(results))
    print(f"checked in {time.monotonic() - started:.1f} s")
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
