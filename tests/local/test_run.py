"""`python -m local` (what `make run` runs) as a person uses it: a busy port, Ctrl-C and SIGTERM.

These start the real command in a subprocess on DynamoDB Local, as `make run` does.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _environment(port: int, **extra: str) -> dict[str, str]:
    return {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "ARENA_DYNAMODB": "local", **extra}


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def _post(url: str, token: str | None, body: object) -> object:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def test_a_busy_port_is_one_clear_line_and_a_non_zero_exit() -> None:
    """Given a process listening on the port When `python -m local` starts on it
    Then it exits 1 at once (before starting DynamoDB Local) with one line saying what to do, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        run = subprocess.run(
            [sys.executable, "-m", "local"],
            cwd=ROOT,
            env=_environment(port),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert run.stderr.strip() == f"port {port} is in use: stop the other process or run PORT={port + 1} make run"
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    ("how", "demo"),
    [("SIGTERM", "0"), ("Ctrl-C", "1")],
    ids=["sigterm-without-demo", "ctrl-c-with-demo"],
)
def test_stopping_is_clean_and_prompt(how: str, demo: str, tmp_path: Path) -> None:
    """Given `python -m local` running (with traffic: an event, a join, trades through the stream pollers)
    When it gets SIGTERM, or Ctrl-C (SIGINT to its whole process group, DynamoDB Local's Java included)
    Then it exits 0 within 30 s, with no traceback on its console and no process left behind."""
    port = _free_port()
    output = tmp_path / "console.log"
    with output.open("wb") as console:
        process = subprocess.Popen(
            [sys.executable, "-m", "local"],
            cwd=ROOT,
            env=_environment(port, ARENA_DEMO=demo),
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job
            # pytest may run with SIGINT ignored (a background job): a terminal's Ctrl-C is not
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 240  # a machine running other suites starts it slowly
            while time.monotonic() < deadline:
                assert process.poll() is None, output.read_text()
                try:
                    if _get(f"{base}/local/health") == 200:
                        break
                except OSError:
                    pass
                time.sleep(0.3)
            else:
                pytest.fail("the stack did not become healthy")
            admin = _post(f"{base}/local/token", None, {"sub": "admin-1", "groups": ["admin"]})["token"]
            trader = _post(f"{base}/local/token", None, {"sub": "trader-9", "groups": ["user"]})["token"]
            feed = _post(f"{base}/local/token", None, {"sub": "feed", "groups": ["service"]})["token"]
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
            event = _post(f"{base}/api/events", admin, {"name": "Stop cup", "start_at": now, "end_at": end})["id"]
            _post(f"{base}/api/events/{event}/join", trader, {})
            trade = {"user_id": "trader-9", "market": "BTC-USDT", "side": "buy", "quantity": "1", "price": "10"}
            trades = [{**trade, "trade_id": f"S-{i}", "executed_at": now} for i in range(50)]
            _post(f"{base}/api/trades", feed, {"trades": trades})
            time.sleep(1)  # the pollers are delivering
            children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
            assert children, "DynamoDB Local runs as a child process"

            stopped_at = time.monotonic()
            if how == "SIGTERM":
                process.send_signal(signal.SIGTERM)
            else:
                os.killpg(process.pid, signal.SIGINT)
            code = process.wait(timeout=60)
            elapsed = time.monotonic() - stopped_at
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    console_text = output.read_text()
    assert code == 0, console_text
    assert elapsed < 30, console_text  # seconds when quiet; a CI machine running other suites takes longer
    assert "Traceback" not in console_text, console_text
    assert "failed to poll" not in console_text, console_text
    for child in children:  # DynamoDB Local stopped with it
        assert not Path(f"/proc/{child}").exists() or "zombie" in Path(f"/proc/{child}/status").read_text()
