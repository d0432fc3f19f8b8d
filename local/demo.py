"""The demo competition `make run` starts on the local stack: an event, the demo traders who joined it, and a trade
simulator posting through the real POST /api/trades route so the leaderboard moves.

`python -m local` runs it when ARENA_DEMO=1 (`make run` sets that unless you say ARENA_DEMO=0);
`python -m local.demo` is the same as `ARENA_DEMO=1 python -m local`.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from local.simulator import TradeSimulator

DEMO_TRADERS = [f"trader-{i:02d}" for i in range(1, 21)]
TRADES_PER_TICK = 25
TICK_SECONDS = 1.0


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def call(base_url: str, method: str, path: str, token: str, body: Any = None, timeout: float = 60) -> Any:
    """One JSON request to the local stack's HTTP API with a bearer token; the decoded JSON answer."""
    request = urllib.request.Request(
        base_url + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    request.add_header("authorization", f"Bearer {token}")
    request.add_header("content-type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        return json.loads(answer.read())


def seed_demo(base_url: str, tokens: dict[str, str]) -> str:
    """Create the demo event (live now, for a week) and join every demo trader; returns its id."""
    now = datetime.now(UTC)
    event = call(
        base_url,
        "POST",
        "/api/events",
        tokens["admin"],
        {
            "name": "Arena Demo Cup",
            "description": "A live demo: 20 simulated traders compete on spot volume for a week.",
            "start_at": _iso(now),
            "end_at": _iso(now + timedelta(days=7)),
            "ranking_metric": "volume",
            "markets": ["BTC-USDT", "ETH-USDT", "SOL-USDT"],
            "prizes": [
                {"rank_from": 1, "rank_to": 1, "type": "token", "amount": "1000", "token": "USDT"},
                {"rank_from": 2, "rank_to": 5, "type": "points", "amount": "5000"},
            ],
        },
    )
    for trader in DEMO_TRADERS:
        call(base_url, "POST", f"/api/events/{event['id']}/join", tokens[trader])
    # Prices for the demo's prize currencies, so its analytics value the prizes (prize cost, ROI) from the start.
    prices = call(base_url, "GET", "/api/events/analytics/prices", tokens["admin"])
    if not prices["prices"]:
        table = [{"type": "points", "price": "0.01"}, {"type": "token", "token": "USDT", "price": "1"}]
        body = {"prices": table, "version": prices["version"], "reason": "Demo prices"}
        call(base_url, "PUT", "/api/events/analytics/prices", tokens["admin"], body)
    return event["id"]


def simulate(base_url: str, feed_token: str, stop: threading.Event) -> None:
    simulator = TradeSimulator(DEMO_TRADERS, seed=None, prefix=f"DEMO{int(time.time())}")
    while not stop.wait(TICK_SECONDS):
        now = datetime.now(UTC)
        trades = [simulator.trade(now - timedelta(milliseconds=i * 7)) for i in range(TRADES_PER_TICK)]
        try:
            call(base_url, "POST", "/api/trades", feed_token, {"trades": trades})
        except OSError as error:  # a transient local error: keep the demo alive; the stack stopping: say nothing
            if not stop.is_set():
                print(f"simulator: {error}", flush=True)


class Demo:
    """The demo event and its simulator on a started stack; `stop()` ends the simulator (before the stack stops)."""

    def __init__(self, base_url: str, admin_token: str, trader_tokens: dict[str, str], feed_token: str):
        self.base_url = base_url
        self.tokens = {"admin": admin_token, **trader_tokens}
        self.feed_token = feed_token
        self.event_id: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        self.event_id = seed_demo(self.base_url, self.tokens)
        self._thread = threading.Thread(
            target=simulate, args=(self.base_url, self.feed_token, self._stop), name="trade-simulator", daemon=True
        )
        self._thread.start()
        return self.event_id

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None


def main() -> int:
    from local.__main__ import main as run

    return run(["--demo"])


if __name__ == "__main__":
    raise SystemExit(main())
