"""The Locust users of `make load`, `make stress` and `make soak` (bench/load.py starts Locust with this file).

Runs in the load tool's own venv (.venv-load: Locust, gevent, websocket-client), never in the product's. Everything
it needs comes from the JSON file named by LOAD_CONFIG, which bench/load.py writes after setting the stack up:

* `FeedUser` - the exchange's trade feed: `POST /api/trades` with the machine token, batches paced to the offered
  rate (a fixed rate, or stress's steps), trades only for traders whose join succeeded, one "probe" trade a batch
  for the probe trader (whose score then leads the board by far: the lag is measured on it), a failed batch
  retried with the same trade ids (the feed is at-least-once, ingest exactly-once) and the truth (volume per
  trader of every acknowledged batch) kept for the final check.
* `TraderUser` - a trader (its token made by bench/load.py): joins on start, then polls the leaderboard's first
  page with `If-None-Match` (304 is a cache hit), its rank (`/leaderboard/me?around=2`) and its totals
  (`/participants/me`).
* `ClaimerUser` - a winner of the completed claims event: claims its prize once, then reads its prizes and history.
* `WebSocketUser` - a client of the WebSocket API subscribed to the event's leaderboard and its own user topic; the
  leaderboard pushes carry the probe's score, so each client's trade-to-client latency is measured.
* `LagUser` - polls the top of the board four times a second: the snapshot's lag behind ingest.

At the end it writes LOAD_EXTRA (JSON): 304 counts per route, the probe lags, the truth, stress's steps, and the
batches still unacknowledged when the run stopped (a request cut off by the stop, or given up): bench/load.py sends
those again, as a feed does after a restart, before it checks the board.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import gevent
import websocket
from locust import FastHttpUser, User, between, constant, events, task
from locust.exception import StopUser

CONFIG: dict[str, Any] = json.loads(open(os.environ["LOAD_CONFIG"]).read())  # noqa: SIM115
EVENT = CONFIG["event_id"]
PROBE = CONFIG["probe_user"]
PROBE_HANDLE = CONFIG["probe_handle"]  # how the probe's row is named to other traders (never by user id)
PROBE_QUANTITY, PROBE_PRICE = Decimal("1000"), Decimal("100")
MARKETS = ("BTC-USDT", "ETH-USDT")
FEEDERS = int(CONFIG["feeders"])
STARTED = time.time()

JOINED: list[str] = []  # traders whose join answered 201/200: only they get trades (others' would be ignored)
TRUTH: dict[str, Decimal] = defaultdict(Decimal)  # volume per trader of every acknowledged batch
FEED = Counter()  # trades sent, accepted, duplicates, ignored, rejected, batches failed for good
PROBES: list[tuple[float, Decimal]] = []  # (acknowledged at, the probe's cumulative volume then)
PROBE_TOTAL = [Decimal(0)]
LAGS: list[tuple[float, float]] = []  # (acknowledged at, seconds until the board showed it)
PUSH_LAGS: list[tuple[float, float]] = []  # (acknowledged at, seconds until a WebSocket client got it)
CONDITIONAL = defaultdict(Counter)  # route -> {"200": n, "304": n}
WS_MESSAGES = Counter()
PENDING: dict[str, dict[str, Any]] = {}  # batches sent but not acknowledged yet (or given up): bench/load.py resends
STEPS: list[dict[str, Any]] = []
STOP_REASON: list[str] = []
_lock = threading.Lock()


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------- the offered rate


def offered_rate(elapsed: float) -> float:
    """Trades per second the feed offers `elapsed` seconds into the run: the fixed rate, or stress's step."""
    steps = CONFIG.get("steps")
    if not steps:
        return float(CONFIG["rate"])
    elapsed -= CONFIG["warmup"]  # the first step's rate while the crowd spawns and joins
    index = min(max(0, int(elapsed // CONFIG["step_seconds"])), len(steps) - 1)
    return float(steps[index])


def current_lag(now: float) -> float:
    """How far the board is behind ingest now: the age of the oldest acknowledged probe it does not show yet."""
    seen = len(LAGS)
    return now - PROBES[seen][0] if seen < len(PROBES) else 0.0


# ---------------------------------------------------------------------------------------------- users


class FeedUser(FastHttpUser):
    """The exchange's feed: one of FEEDERS posters, each offering 1/FEEDERS of the rate, paced each second."""

    fixed_count = FEEDERS
    wait_time = constant(0)
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.headers = {"authorization": f"Bearer {CONFIG['feed_token']}", "content-type": "application/json"}
        self.feeder = next(_feeder_ids)
        self.sequence = 0
        self.next_tick = time.monotonic() + random.random()

    @task
    def post_batches(self) -> None:
        delay = self.next_tick - time.monotonic()
        if delay > 0:
            gevent.sleep(delay)
        self.next_tick = max(self.next_tick + 1.0, time.monotonic() - 1.0)  # a slow second is not made up twice
        if not JOINED:
            return
        count = math.ceil(offered_rate(time.time() - STARTED) / FEEDERS)
        while count > 0:
            size = min(count, CONFIG["batch_size"])
            self._post(size)
            count -= size

    def _post(self, size: int) -> None:
        self.sequence += 1
        now = time.time()
        trades, volumes = [], defaultdict(Decimal)
        for index in range(size - 1):
            user = random.choice(JOINED)
            quantity = Decimal(random.randint(1, 2000)) / 1000
            price = Decimal(random.randint(9000, 11000)) / 100
            trades.append(self._trade(index, user, quantity, price, now))
            volumes[user] += quantity * price
        trades.append(self._trade(size, PROBE, PROBE_QUANTITY, PROBE_PRICE, now))
        body = json.dumps({"trades": trades})
        batch = trades[0]["trade_id"]
        PENDING[batch] = {"body": body, "volumes": {user: str(volume) for user, volume in volumes.items()}}
        for _attempt in range(5):  # the same trade ids each time: a retry after a lost answer counts once
            with self.client.post(
                "/api/trades", data=body, headers=self.headers, name="POST /api/trades", catch_response=True
            ) as answer:
                if answer.status_code == 200:
                    result = answer.json()
                    with _lock:
                        FEED["sent"] += size
                        for key in ("accepted", "duplicates", "ignored", "rejected"):
                            value = result.get(key, 0)  # ignored and rejected are lists of trades
                            FEED[key] += len(value) if isinstance(value, list) else int(value)
                        for user, volume in volumes.items():
                            TRUTH[user] += volume
                        PROBE_TOTAL[0] += PROBE_QUANTITY * PROBE_PRICE
                        PROBES.append((time.time(), PROBE_TOTAL[0]))
                        PENDING.pop(batch, None)
                    if result.get("ignored") or result.get("rejected"):
                        answer.failure(f"ignored {result.get('ignored')}, rejected {result.get('rejected')}")
                    return
                answer.failure(f"status {answer.status_code}")
            gevent.sleep(0.5)
        FEED["batches_failed"] += 1

    def _trade(self, index: int, user: str, quantity: Decimal, price: Decimal, now: float) -> dict[str, str]:
        return {
            "trade_id": f"L-{CONFIG['run']}-{self.feeder}-{self.sequence}-{index}-{int(now * 1000)}",
            "user_id": user,
            "market": random.choice(MARKETS),
            "side": random.choice(("buy", "sell")),
            "quantity": str(quantity),
            "price": str(price),
            "executed_at": _iso(now),
        }


class TraderUser(FastHttpUser):
    """A trader: joins, then polls the board (conditionally), its rank and its totals."""

    weight = 1
    wait_time = between(CONFIG["trader_wait"][0], CONFIG["trader_wait"][1])
    network_timeout = 60.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.user_id, token = CONFIG["traders"][next(_trader_ids) % len(CONFIG["traders"])]
        self.etag: str | None = None
        self.joined = False
        self.headers = {"authorization": f"Bearer {token}"}
        self.join()

    def join(self) -> None:
        """201 joined, 200 already joined (a retry after an answer lost to a timeout); until then no "me" reads,
        which would rightly answer 404 to a non-participant."""
        with self.client.post(
            f"/api/events/{EVENT}/join", headers=self.headers, name="POST /join", catch_response=True
        ) as answer:
            if answer.status_code in (200, 201):
                self.joined = True
                JOINED.append(self.user_id)
            else:
                answer.failure(f"status {answer.status_code}")

    @task(6)
    def leaderboard(self) -> None:
        headers = dict(self.headers)
        if self.etag:
            headers["if-none-match"] = self.etag
        with self.client.get(
            f"/api/events/{EVENT}/leaderboard?limit=20", headers=headers, name="GET /leaderboard", catch_response=True
        ) as answer:
            _conditional("GET /leaderboard", answer)
            if answer.status_code == 200:
                self.etag = answer.headers.get("etag")

    @task(3)
    def my_rank(self) -> None:
        if not self.joined:
            self.join()
            return
        with self.client.get(
            f"/api/events/{EVENT}/leaderboard/me?around=2",
            headers=self.headers,
            name="GET /leaderboard/me",
            catch_response=True,
        ) as answer:
            _conditional("GET /leaderboard/me", answer)

    @task(1)
    def my_totals(self) -> None:
        if not self.joined:
            self.join()
            return
        with self.client.get(
            f"/api/events/{EVENT}/participants/me",
            headers=self.headers,
            name="GET /participants/me",
            catch_response=True,
        ) as answer:
            _conditional("GET /participants/me", answer)


class ClaimerUser(FastHttpUser):
    """A winner of the completed claims event: one claim, then its prizes and its claim history now and then."""

    fixed_count = len(CONFIG["claimers"])
    wait_time = between(10, 20)
    network_timeout = 60.0

    def on_start(self) -> None:
        self.user_id, token = CONFIG["claimers"][next(_claimer_ids) % len(CONFIG["claimers"])]
        self.headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        with self.client.get("/api/events/prizes/me", headers=self.headers, name="GET /prizes/me") as answer:
            prizes = answer.json().get("prizes", []) if answer.status_code == 200 else []
        for prize in prizes:
            if prize.get("status") != "CLAIMABLE":
                continue
            with self.client.post(
                f"/api/events/prizes/{prize['prize_id']}/claim",
                data="{}",
                headers={**self.headers, "idempotency-key": f"load-{self.user_id}"},
                name="POST /prizes/{id}/claim",
                catch_response=True,
            ) as answer:
                if answer.status_code not in (200, 201):
                    answer.failure(f"status {answer.status_code}: {answer.text[:200]}")

    @task(2)
    def my_prizes(self) -> None:
        self.client.get("/api/events/prizes/me", headers=self.headers, name="GET /prizes/me")

    @task(1)
    def history(self) -> None:
        self.client.get("/api/events/prizes/history", headers=self.headers, name="GET /prizes/history")


class WebSocketUser(User):
    """A WebSocket client subscribed to the board and to itself; every push's delay and the probe's latency."""

    fixed_count = int(CONFIG["websockets"])
    wait_time = constant(30)

    def on_start(self) -> None:
        token = CONFIG["ws_tokens"][next(_ws_ids) % len(CONFIG["ws_tokens"])]
        self.closing = False
        self.seen = 0  # probes this client has seen
        started = time.perf_counter()
        try:
            self.socket = websocket.create_connection(f"{CONFIG['ws_url']}/?token={token}", timeout=30)
            for topic in (f"leaderboard:{EVENT}", f"event:{EVENT}"):
                self.socket.send(json.dumps({"action": "subscribe", "topic": topic}))
            self.socket.settimeout(None)  # the connect's 30 s bound is not a bound on the quiet between pushes
        except Exception as error:  # a refused connection is a failed request of the run, not a crash
            _fire("WS", "connect", (time.perf_counter() - started) * 1000, error)
            raise StopUser() from error
        _fire("WS", "connect", (time.perf_counter() - started) * 1000, None)
        self.reader = gevent.spawn(self._read)

    def _read(self) -> None:
        while True:
            try:
                raw = self.socket.recv()
            except Exception as error:
                if not self.closing:  # the server dropped the connection during the run
                    _fire("WS", "receive", 0, error)
                return
            if not raw:
                continue
            received = time.time()
            message = json.loads(raw)
            kind = message.get("type", "?")
            WS_MESSAGES[kind] += 1
            if kind != "leaderboard":
                continue
            sent = datetime.fromisoformat(message["ts"]).timestamp()
            _fire("WSPUSH", "leaderboard push delay", (received - sent) * 1000, None, len(raw))
            for row in message.get("data", {}).get("rows", []):
                if row.get("handle") == PROBE_HANDLE:
                    self._probe_seen(Decimal(row["score"]), received)

    def _probe_seen(self, score: Decimal, received: float) -> None:
        while self.seen < len(PROBES) and PROBES[self.seen][1] <= score:
            PUSH_LAGS.append((PROBES[self.seen][0], received - PROBES[self.seen][0]))
            self.seen += 1

    @task
    def ping(self) -> None:
        self.socket.send(json.dumps({"action": "ping"}))

    def on_stop(self) -> None:
        self.closing = True
        with contextlib.suppress(Exception):  # the server may have dropped it already
            self.socket.close()


class LagUser(FastHttpUser):
    """The top of the board four times a second: when it shows each acknowledged probe batch."""

    fixed_count = 1
    wait_time = constant(0.25)

    def on_start(self) -> None:
        self.headers = {"authorization": f"Bearer {CONFIG['watcher_token']}"}

    @task
    def top(self) -> None:
        with self.client.get(
            f"/api/events/{EVENT}/leaderboard?limit=1", headers=self.headers, name="lag: GET /leaderboard?limit=1"
        ) as answer:
            if answer.status_code != 200:
                return
            entries = answer.json().get("entries") or []
        now = time.time()
        if not entries or entries[0].get("handle") != PROBE_HANDLE:
            return
        score = Decimal(entries[0]["score"])
        with _lock:
            while len(LAGS) < len(PROBES) and PROBES[len(LAGS)][1] <= score:
                LAGS.append((PROBES[len(LAGS)][0], now - PROBES[len(LAGS)][0]))


# ---------------------------------------------------------------------------------------------- helpers


def _counter():
    number = 0
    while True:
        number += 1
        yield number


_trader_ids, _claimer_ids, _ws_ids, _feeder_ids = (_counter() for _ in range(4))


def _conditional(route: str, answer: Any) -> None:
    if answer.status_code in (200, 304):
        CONDITIONAL[route][str(answer.status_code)] += 1
        answer.success()
    else:
        answer.failure(f"status {answer.status_code}")


def _fire(kind: str, name: str, millis: float, error: BaseException | None, length: int = 0) -> None:
    events.request.fire(
        request_type=kind, name=name, response_time=millis, response_length=length, exception=error, context={}
    )


# ---------------------------------------------------------------------------------------------- stress's knee


def _stress_watch(environment: Any) -> None:
    """Each step's offered and achieved rate, failures and worst lag; stops the run at the first step with failures
    or a lag over the limit (the knee)."""
    steps, seconds = CONFIG["steps"], CONFIG["step_seconds"]
    for index, rate in enumerate(steps):
        started = STARTED + CONFIG["warmup"] + index * seconds
        gevent.sleep(max(0.0, started + seconds - time.time()))
        stats = environment.stats
        failures = sum(entry.num_failures for entry in stats.entries.values() if not entry.name.startswith("setup"))
        sent_before = STEPS[-1]["sent_total"] if STEPS else 0
        failures_before = STEPS[-1]["failures_total"] if STEPS else 0
        end = started + seconds
        lags = [lag for acked, lag in LAGS if started <= acked < end]
        backlog = current_lag(time.time())  # the oldest acknowledged batch the board does not show yet
        # A sustained lag ends the ramp (the step's p95, or a backlog still growing at its end), not one slow poll.
        worst = max(_percentile(lags, 95) or 0.0, backlog)
        STEPS.append(
            {
                "rate": rate,
                "start": started,
                "end": end,
                "achieved": (FEED["sent"] - sent_before) / seconds,
                "sent_total": FEED["sent"],
                "failures": failures - failures_before,
                "failures_total": failures,
                "lag_max": max([*lags, backlog], default=0.0),
                "lag_p95": _percentile(lags, 95),
                "backlog": backlog,
            }
        )
        if failures - failures_before > 0 or worst > CONFIG["lag_limit"]:
            STOP_REASON.append(
                f"step {rate:g} trades/s: {failures - failures_before} failed requests, "
                f"lag p95 or backlog {worst:.1f} s"
            )
            environment.runner.quit()
            return
    STOP_REASON.append("every step passed")
    environment.runner.quit()


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@events.test_start.add_listener
def _on_start(environment: Any, **_: Any) -> None:
    if CONFIG.get("steps"):
        gevent.spawn(_stress_watch, environment)


@events.quitting.add_listener
def _on_quit(environment: Any, **_: Any) -> None:
    extra = {
        "started": STARTED,
        "ended": time.time(),
        "joined": len(JOINED),
        "feed": dict(FEED),
        "truth": {user: str(volume) for user, volume in TRUTH.items()},
        "probe_user": PROBE,
        "probe_total": str(PROBE_TOTAL[0]),
        "probe_volume": str(PROBE_QUANTITY * PROBE_PRICE),
        "pending": list(PENDING.values()),
        "probes": len(PROBES),
        "lags": LAGS,
        "unseen_probe_age": current_lag(time.time()),
        "push_lags": PUSH_LAGS,
        "conditional": {route: dict(counts) for route, counts in CONDITIONAL.items()},
        "ws_messages": dict(WS_MESSAGES),
        "steps": STEPS,
        "stop_reason": STOP_REASON,
    }
    with open(os.environ["LOAD_EXTRA"], "w") as out:
        json.dump(extra, out)
