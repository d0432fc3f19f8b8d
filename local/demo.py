"""`make run`: the local stack plus a live demo competition.

Starts every route of template.yaml on 127.0.0.1:$PORT, creates a demo event with 20 traders, and keeps a trade
simulator posting through the real POST /api/trades route so the leaderboard moves. Prints the URLs and
ready-to-use tokens. Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from local.simulator import TradeSimulator
from local.stack import LocalStack

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
    return event["id"]


def simulate(base_url: str, feed_token: str, stop: threading.Event) -> None:
    simulator = TradeSimulator(DEMO_TRADERS, seed=None, prefix=f"DEMO{int(time.time())}")
    while not stop.wait(TICK_SECONDS):
        now = datetime.now(UTC)
        trades = [simulator.trade(now - timedelta(milliseconds=i * 7)) for i in range(TRADES_PER_TICK)]
        try:
            call(base_url, "POST", "/api/trades", feed_token, {"trades": trades})
        except OSError as error:  # the stack is stopping, or a transient local error: keep the demo alive
            print(f"simulator: {error}")


def _websocket_url(stack: LocalStack) -> str:
    return next((s.url for s in stack.services if getattr(s, "name", "") == "websocket-api" and s.url), "(none)")


def main() -> None:
    port = int(os.environ.get("PORT", "3000"))
    # One INFO line per invocation is a lot on a console; LOG_LEVEL=INFO make run shows them.
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", os.environ.get("LOG_LEVEL", "WARNING"))
    stack = LocalStack(port=port)
    stack.start()
    base = stack.base_url
    tokens = {"admin": stack.issuer.issue("demo-admin", groups=["admin"])}
    tokens.update({t: stack.issuer.issue(t, groups=["user"]) for t in DEMO_TRADERS})
    feed_token = stack.issuer.issue("exchange-feed", groups=[], scopes=["arena/trades.write"])
    event_id = seed_demo(base, tokens)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    feeder = threading.Thread(target=simulate, args=(base, feed_token, stop), name="trade-simulator", daemon=True)
    feeder.start()
    print(
        f"""
Arena local stack is up.
  API           {base}/api/events
  Health        {base}/local/health
  Token         POST {base}/local/token  {{"sub": "alice", "groups": ["user"]}}
  OpenAPI       docs/openapi.json

Demo event {event_id}: {len(DEMO_TRADERS)} traders, {TRADES_PER_TICK} trades a second.
  Leaderboard   curl -s -H "Authorization: Bearer $ADMIN" {base}/api/events/{event_id}/leaderboard

Live updates (WebSocket API {_websocket_url(stack)}): the leaderboard and trader-01's own channel
  .venv/bin/python -m local.watch "{_websocket_url(stack)}/?token=$TRADER" leaderboard:{event_id} user:trader-01

export ADMIN={tokens["admin"]}
export TRADER={tokens[DEMO_TRADERS[0]]}   # trader-01
export FEED={feed_token}

Ctrl-C to stop.""",
        flush=True,
    )
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        stack.stop()


if __name__ == "__main__":
    main()
