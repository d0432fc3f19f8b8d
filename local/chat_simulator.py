"""The demo's chatty traders: a few demo traders talk in the demo event's chat (`local.demo` starts it), so the
chat is visible in `python -m local.chat <event> --user <name>` and the history from the first minute.

Seeded, so every run says the same things in the same order; a line every LINE_SECONDS, now and then a reply to
the last line or a reaction to it, all through the public HTTP routes with each trader's own token (well inside the
per-user chat quota).
"""

from __future__ import annotations

import random
import threading
import urllib.error
from collections.abc import Callable
from typing import Any

LINE_SECONDS = 4.0
TALKERS = 6
SEED = 7
LINES = [
    "gm everyone, good luck this week",
    "BTC volume is wild today",
    "who else is grinding ETH-USDT?",
    "just moved up three places",
    "top 5 pays points, worth the push",
    "spreads are tight on SOL right now",
    "taking a break, see you on the board",
    "that last candle though",
    "anyone tracking the prize zone cut-off?",
    "new here, how does qualification work?",
    "min volume plus min trades, then you're in",
    "leaderboard refreshes every second, nice",
]
REPLIES = ["agreed", "same here", "lol", "good call", "let's go", "nice one"]
REACTIONS = ["\U0001f525", "\U0001f44d", "\U0001f680", "\U0001f602"]

Call = Callable[..., Any]


class ChatSimulator:
    def __init__(self, call: Call, base_url: str, event_id: str, tokens: dict[str, str], traders: list[str]):
        self.call, self.base_url, self.event_id = call, base_url, event_id
        self.tokens = tokens
        self.traders = traders[:TALKERS]
        self.random = random.Random(SEED)
        self.last: dict[str, Any] | None = None
        self.last_by: str | None = None  # who posted the last line (messages name authors by handle, not user id)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> dict[str, Any] | None:
        """One thing said: a line, a reply to the last line, or a reaction to it. The message posted, if any."""
        trader = self.random.choice(self.traders)
        path = f"/api/events/{self.event_id}/chat"
        roll = self.random.random()
        if self.last is not None and roll < 0.2 and self.last_by != trader:
            body = {"emoji": self.random.choice(REACTIONS)}
            self.call(self.base_url, "POST", f"{path}/{self.last['id']}/reactions", self.tokens[trader], body)
            return None
        body: dict[str, Any] = {"text": self.random.choice(LINES)}
        if self.last is not None and roll < 0.4 and self.last_by != trader:
            body = {"text": self.random.choice(REPLIES), "reply_to": self.last["id"]}
        self.last = self.call(self.base_url, "POST", path, self.tokens[trader], body)
        self.last_by = trader
        return self.last

    def _run(self) -> None:
        while not self._stop.wait(LINE_SECONDS):
            try:
                self.step()
            except (OSError, urllib.error.HTTPError) as error:  # the chat off, a limit, the stack stopping
                if not self._stop.is_set():
                    print(f"chat simulator: {error}", flush=True)

    def start(self) -> ChatSimulator:
        self._thread = threading.Thread(target=self._run, name="chat-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
