"""README.md's `bash` examples, run as pasted against a stack, so the README cannot rot.

The stack gives what `make run` prints and `source .local/env.sh` exports (ARENA, WS, ADMIN, TRADER, FEED); lines
that start `make ` or `source ` are that setup and are not run. The other blocks run in README order in one bash
shell (so `EVENT=$(...)` carries on to the next), with `set -euo pipefail` and curl failing on any HTTP error; the
long-running WebSocket clients run on their own and are stopped once they have answered.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import time

import pytest

from tests.e2e.conftest import ROOT, ArenaClient

README = ROOT / "README.md"
CLIENTS = ("local.watch", "-m websockets")
SETUP = ("make ", "source ")
PREAMBLE = """set -euo pipefail
curl() { command curl --show-error --fail-with-body --write-out '\n' "$@"; }  # one answer a line
"""


def bash_blocks(text: str) -> list[str]:
    return [block.strip("\n") for block in re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)]


def runnable(block: str) -> str:
    return "\n".join(line for line in block.splitlines() if not line.lstrip().startswith(SETUP)).strip()


@pytest.fixture(scope="module")
def blocks() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"script": [], "clients": []}
    for block in bash_blocks(README.read_text()):
        code = runnable(block)
        if code:
            found["clients" if any(client in code for client in CLIENTS) else "script"].append(code)
    return found


@pytest.fixture(scope="module")
def environment(arena: ArenaClient) -> dict[str, str]:
    health = arena.call("GET", "/local/health").body
    return {
        **os.environ,
        "ARENA": arena.base_url,
        "WS": health["websocket"]["url"],
        "ADMIN": arena.token("readme-admin", ["admin"]),
        "TRADER": arena.token("trader-01", ["user"]),
        "FEED": arena.token("readme-feed", ["service"]),
    }


@pytest.fixture(scope="module")
def script_run(blocks: dict[str, list[str]], environment: dict[str, str]) -> dict[str, str]:
    steps = (f"{block}\necho\necho '=== block {i} ==='\n" for i, block in enumerate(blocks["script"]))
    script = PREAMBLE + "".join(steps)
    script += 'echo "EVENT=$EVENT"\n'
    run = subprocess.run(["bash", "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, f"a README example failed:\n{run.stdout}\n{run.stderr}"
    event = run.stdout.strip().splitlines()[-1].removeprefix("EVENT=")
    return {"stdout": run.stdout, "event": event}


def test_the_readme_has_the_examples_a_newcomer_needs(blocks: dict[str, list[str]]) -> None:
    """Given the README's code blocks
    When the script and client examples are read
    Then they call every route a newcomer needs, show both WebSocket clients, and write no dates that go stale."""
    script = "\n".join(blocks["script"])
    for needed in ("/api/events", "/join", "/api/trades", "local.send_trades", "/leaderboard", "/participants/me"):
        assert needed in script, needed
    assert any("local.watch" in block for block in blocks["clients"])
    assert any("-m websockets" in block for block in blocks["clients"])
    # no dates written into an example: they go stale (the trade example once lay in the future)
    assert not re.search(r"20\d\d-\d\d-\d\dT", script)


def test_the_curl_and_queue_examples_work_as_pasted(script_run: dict[str, str], arena: ArenaClient) -> None:
    """Given a stack and the variables make run prints
    When the README's examples run in order (create an event, join, read, trade over HTTP and over the queue)
    Then each succeeds, the event is ACTIVE with the body's fields, and both trades count for trader-01."""
    answers = [json.loads(line) for line in script_run["stdout"].splitlines() if line.startswith("{")]
    trade_answers = [answer for answer in answers if "received" in answer]
    assert trade_answers == [{"received": 1, "accepted": 1, "duplicates": 0, "ignored": [], "rejected": []}]
    assert any("message_id" in answer for answer in answers)  # the queue example sent its message

    event_id = script_run["event"]
    admin = arena.token("readme-check", ["admin"])
    event = arena.call("GET", f"/api/events/{event_id}", admin)
    assert event.status == 200, event.body
    assert event.body["status"] == "ACTIVE"
    assert event.body["claim"] == {"mode": "manual", "window_days": 14}
    assert event.body["qualification"] == {"min_volume": "1000", "min_trades": 1}
    assert len(event.body["prizes"]) == 2

    trader = arena.token("trader-01", ["user"])
    deadline = time.monotonic() + 30
    while True:  # the queued trade arrives through the queue's poller
        me = arena.call("GET", f"/api/events/{event_id}/participants/me", trader)
        assert me.status == 200, me.body
        if me.body["trade_count"] >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert me.body["trade_count"] >= 2, me.body  # exactly 2 on a stack of its own; the demo may add some
    assert me.body["qualified"] is True


def _read_until(process: subprocess.Popen[bytes], wanted: list[str], seconds: float) -> str:
    assert process.stdout is not None
    seen, deadline = "", time.monotonic() + seconds
    while time.monotonic() < deadline and not all(text in seen for text in wanted):
        ready, _, _ = select.select([process.stdout], [], [], 0.5)
        if ready:  # raw reads: a buffered readline would hide lines that select() cannot see
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            seen += chunk.decode(errors="replace")
    return seen


@pytest.mark.parametrize("client", CLIENTS)
def test_the_websocket_clients_work_as_pasted(
    client: str, blocks: dict[str, list[str]], environment: dict[str, str], script_run: dict[str, str]
) -> None:
    """Given the event the README created When its WebSocket client example runs Then the API answers it."""
    command = next(block for block in blocks["clients"] if client in block)
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=ROOT,
        env={**environment, "EVENT": script_run["event"], "PYTHONUNBUFFERED": "1"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        if client == "local.watch":
            wanted = [f'"topic":"leaderboard:{script_run["event"]}"', '"topic":"user:trader-01"']
        else:
            assert process.stdin is not None
            process.stdin.write(b'{"action": "ping"}\n')
            process.stdin.flush()
            wanted = ['"type":"pong"']
        output = _read_until(process, wanted, 30)
    finally:
        process.kill()
        process.wait(10)
    for text in wanted:
        assert text in output, output
    if client == "local.watch":
        assert '"type":"subscribed"' in output, output
