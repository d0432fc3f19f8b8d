"""The demo competition `make run` starts on the local stack: an event, the demo traders who joined it, and a trade
simulator posting through the real POST /api/trades route so the leaderboard moves.

The feed sends every trade of the exchange, as the real one does: the demo traders' and those of traders who did not
join, on the event's markets and on one it does not take, so the event's participation rate is a real fraction. At
start, a week of history before the event goes through the same route (past trades: no event counts them, analytics
keeps them per trader per day), so its lift and new traders have a baseline.

`python -m local` runs it when ARENA_DEMO=1 (`make run` sets that unless you say ARENA_DEMO=0);
`python -m local.demo` is the same as `ARENA_DEMO=1 python -m local`.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from local.chat_simulator import ChatSimulator
from local.simulator import MARKETS, TradeSimulator

DEMO_TRADERS = [f"trader-{i:02d}" for i in range(1, 21)]
# Traders of the same exchange who do not join: the rest of the participation rate's denominator.
OTHER_TRADERS = [f"trader-{i:02d}" for i in range(21, 61)]
EVENT_MARKETS = list(MARKETS)
# The exchange lists a market the event does not take: trades there count for no event.
FEED_MARKETS = {**MARKETS, "XRP-USDT": Decimal("2.40")}
# Demo traders who never traded before the event: its new traders.
NEW_TRADERS = DEMO_TRADERS[-4:]
TRADES_PER_TICK = 25
TICK_SECONDS = 1.0
HISTORY_DAYS = 7
HISTORY_TRADES = 1_600
# Smaller tickets before the event than during it: the lift is positive from the first minute (it keeps growing as
# the demo runs: 25 trades a second pack days of volume into minutes).
HISTORY_NOTIONAL = (20, 5_000)
FEED_BATCH = 500  # the route's limit per call
HISTORY_CALLS = 3
# Fixed, so every run trades the same way (who trades how much, where); 42 spreads activity across joined and
# not-joined traders alike (the simulator's activity is heavy-tailed: some seeds hand one trader most trades).
DEMO_SEED = 42
# trader-01's Telegram chat on the fake Telegram (GET /local/telegram lists what it received).
DEMO_CHAT = "100001"
# trader-01's verified address in the user pool (the email dispatcher reads it there; GET /local/mail lists what
# SES sent it).
DEMO_EMAILS = {"trader-01": "trader-01@arena.local"}


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
            "markets": EVENT_MARKETS,
            "prizes": [
                {"rank_from": 1, "rank_to": 1, "type": "token", "amount": "1000", "token": "USDT"},
                {"rank_from": 2, "rank_to": 5, "type": "points", "amount": "5000"},
            ],
        },
    )
    for trader in DEMO_TRADERS:
        call(base_url, "POST", f"/api/events/{event['id']}/join", tokens[trader])
    link_demo_telegram(base_url, tokens[DEMO_TRADERS[0]])
    # Prices for the demo's prize currencies, so its analytics value the prizes (prize cost, ROI) from the start.
    prices = call(base_url, "GET", "/api/events/analytics/prices", tokens["admin"])
    if not prices["prices"]:
        table = [{"type": "points", "price": "0.01"}, {"type": "token", "token": "USDT", "price": "1"}]
        body = {"prices": table, "version": prices["version"], "reason": "Demo prices"}
        call(base_url, "PUT", "/api/events/analytics/prices", tokens["admin"], body)
    return event["id"]


def trader_tokens(issuer: Any, **options: Any) -> dict[str, str]:
    """The demo traders' tokens; trader-01 signs in with its verified address (DEMO_EMAILS), so it is emailed."""
    return {
        trader: issuer.issue(trader, groups=["user"], email=DEMO_EMAILS.get(trader), **options)
        for trader in DEMO_TRADERS
    }


def link_demo_telegram(base_url: str, token: str) -> None:
    """trader-01 links Telegram chat DEMO_CHAT through the real routes (the bot's code read back from the fake
    Telegram) and turns rank changes and milestones on for it, and milestones by email too (its address is in the
    user pool: `trader_tokens`), so /local/telegram and /local/mail show them arriving beside the inbox."""
    call(base_url, "POST", "/api/me/notification-channels/telegram", token, {"address": DEMO_CHAT})
    sent = json.loads(urllib.request.urlopen(base_url + "/local/telegram", timeout=30).read())["messages"]
    text = next(m["text"] for m in reversed(sent) if str(m["chat"]["id"]) == DEMO_CHAT)
    code = re.search(r"\b(\d{6})\b", text)
    if code is None:
        raise RuntimeError(f"no code in the bot's message {text!r}")
    call(base_url, "POST", "/api/me/notification-channels/telegram/verify", token, {"code": code.group(1)})
    prefs = call(base_url, "GET", "/api/me/notification-preferences", token)
    channels = {kind: {**prefs["channels"][kind], "telegram": True} for kind in ("rank_change", "milestone")}
    channels["milestone"]["email"] = True
    body = {"channels": channels, "digest": prefs["digest"], "locale": "en", "version": prefs["version"]}
    call(base_url, "PUT", "/api/me/notification-preferences", token, body)


def demo_simulator(prefix: str, **options: Any) -> TradeSimulator:
    """The exchange's traders (the demo's and the others) on every market the feed sends, seeded: the same traders
    are the busy ones in the history and live."""
    traders = DEMO_TRADERS + OTHER_TRADERS
    return TradeSimulator(traders, markets=dict(FEED_MARKETS), seed=DEMO_SEED, prefix=prefix, **options)


def backfill(base_url: str, feed_token: str, prefix: str, before: datetime) -> int:
    """Post the HISTORY_DAYS full UTC days before `before`'s day through the feed route, in batches: the lift's
    baseline days. NEW_TRADERS sit it out. Returns the number of trades posted."""
    day = datetime(before.year, before.month, before.day, tzinfo=UTC)
    simulator = demo_simulator(prefix, notional=HISTORY_NOTIONAL)
    history = simulator.history(HISTORY_TRADES, day - timedelta(days=HISTORY_DAYS), day)
    history = [trade for trade in history if trade["user_id"] not in NEW_TRADERS]
    batches = [{"trades": history[first : first + FEED_BATCH]} for first in range(0, len(history), FEED_BATCH)]
    # A few calls at once, as a feed catching up would: the stack serves them in parallel.
    with ThreadPoolExecutor(max_workers=HISTORY_CALLS) as pool:
        list(pool.map(lambda batch: call(base_url, "POST", "/api/trades", feed_token, batch), batches))
    return len(history)


def simulate(base_url: str, feed_token: str, simulator: TradeSimulator, stop: threading.Event) -> None:
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
        self.chat: ChatSimulator | None = None

    def start(self) -> str:
        self.event_id = seed_demo(self.base_url, self.tokens)
        run = int(time.time())
        backfill(self.base_url, self.feed_token, f"HIST{run}", datetime.now(UTC))
        simulator = demo_simulator(f"DEMO{run}")
        self._thread = threading.Thread(
            target=simulate,
            args=(self.base_url, self.feed_token, simulator, self._stop),
            name="trade-simulator",
            daemon=True,
        )
        self._thread.start()
        self.chat = ChatSimulator(call, self.base_url, self.event_id, self.tokens, DEMO_TRADERS).start()
        return self.event_id

    def stop(self) -> None:
        self._stop.set()
        if self.chat is not None:
            self.chat.stop()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None


def main() -> int:
    from local.__main__ import main as run

    return run(["--demo"])


if __name__ == "__main__":
    raise SystemExit(main())
