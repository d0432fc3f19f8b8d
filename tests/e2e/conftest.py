"""The end-to-end tests drive a running local stack over HTTP.

With ARENA_BASE_URL set they use that stack (e.g. the one `make run` started); otherwise they start
`python -m local` on a free port for the session and stop it afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str]


def _decoded(raw: bytes, headers: dict[str, str]) -> Any:
    """JSON as data; anything else (the docs page, its script) as text."""
    if not raw:
        return None
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "application/json")
    return json.loads(raw) if "json" in kind else raw.decode("utf-8", "replace")


class ArenaClient:
    """A tiny JSON-over-HTTP client for the local stack."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def call(self, method: str, path: str, token: str | None = None, body: Any = None) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                raw, status, headers = answer.read(), answer.status, dict(answer.headers)
        except urllib.error.HTTPError as error:
            raw, status, headers = error.read(), error.code, dict(error.headers)
        return Reply(status, _decoded(raw, headers), headers)

    def token(self, sub: str, groups: list[str], **claims: Any) -> str:
        reply = self.call("POST", "/local/token", body={"sub": sub, "groups": groups, "claims": claims})
        assert reply.status == 200, reply.body
        return reply.body["token"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_healthy(client: ArenaClient, process: subprocess.Popen[bytes] | None, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {process.returncode}")
        try:
            if client.call("GET", "/local/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the local stack at {client.base_url} was not healthy within {seconds} s")


@contextmanager
def subprocess_stack(
    template: str | Path = "template.yaml", healthy_within: float = 240, **environment: str
) -> Iterator[ArenaClient]:
    """`python -m local` on a free port, running `template` (the source tree's, or the one `sam build` wrote: then
    the handlers and the layer are imported from the build output only), healthy within `healthy_within` seconds,
    until the block ends."""
    port = _free_port()
    log = open(ROOT / f".local-e2e-{port}.log", "wb")  # noqa: SIM115 - kept open for the process's lifetime
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "POWERTOOLS_LOG_LEVEL": "WARNING", **environment}
    env.pop("PYTHONPATH", None)  # the layer comes from the template, never from the caller's path
    command = [sys.executable, "-m", "local", "--template", str(template)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    client = ArenaClient(f"http://127.0.0.1:{port}")
    try:
        _wait_healthy(client, process, healthy_within)
        yield client
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def arena() -> Iterator[ArenaClient]:
    """The stack the e2e tests drive: ARENA_BASE_URL's, else one started for the session from ARENA_TEMPLATE
    (`make test` points it at the artifact) or the source tree's template.yaml."""
    external = os.environ.get("ARENA_BASE_URL")
    if external:
        client = ArenaClient(external)
        _wait_healthy(client, None, 30)
        yield client
        return
    with subprocess_stack(os.environ.get("ARENA_TEMPLATE", "template.yaml")) as client:
        yield client


@contextmanager
def in_process_stack(
    dynamodb: str = "moto", parameters: dict[str, str] | None = None, **environment: str
) -> Iterator[Any]:
    """The whole template on a LocalStack in this process (moto for DynamoDB unless "local" is asked for), so the
    test can also read and seed through the arena package, with `environment` set for its lifetime and the
    template's `parameters` overridden."""
    from local.stack import LocalStack
    from tests.conftest import _clear_caches

    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    local = LocalStack(port=0, dynamodb=dynamodb, parameters=parameters).start()
    _clear_caches()  # the test process reads the stack's moto through the same arena package
    try:
        yield local
    finally:
        local.stop()
        _clear_caches()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def iso(moment: Any) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def eventually(what: str, probe: Callable[[], Any], seconds: float = 60) -> Any:
    """`probe()`'s first truthy answer, polled 4 times a second; AssertionError naming `what` once `seconds` pass
    (a deadline that catches what never happens, not a timing the test asserts)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def completed_event(
    client: ArenaClient, admin: str, prizes: list[dict[str, Any]], ranked: list[str], **body: Any
) -> str:
    """An event created over HTTP with `prizes` (and any other `body` fields), then COMPLETED with `ranked` users'
    results frozen in that order, all qualified (written through the arena package the in-process stack runs: the
    lifecycle has end-to-end tests of its own)."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from arena.domain.events import EventStatus
    from arena.store import events as event_store
    from arena.store import results

    now = datetime.now(UTC)
    fields = {
        "name": "Completed cup",
        "start_at": iso(now + timedelta(hours=1)),
        "end_at": iso(now + timedelta(hours=2)),
        "prizes": prizes,
        "qualification": {"min_volume": "0", "min_trades": 0},
        **body,
    }
    created = client.call("POST", "/api/events", admin, fields)
    assert created.status == 201, created.body
    event_id = created.body["id"]
    frozen = [
        {
            "rank": rank,
            "prize_rank": rank,
            "user_id": user,
            "score": Decimal(100 * (len(ranked) - rank + 1)),
            "trade_count": 1,
            "qualified": True,
            "rule": "score desc",
            "generation": 1,
            "frozen_at": iso(now),
        }
        for rank, user in enumerate(ranked, start=1)
    ]
    results.write(event_id, frozen)
    assert event_store.set_status(event_id, tuple(EventStatus), EventStatus.COMPLETED, now) is not None
    return event_id
