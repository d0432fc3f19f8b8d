"""Integration fixtures: the Lambda handler modules of functions/, loaded as the runtime loads them.

Each handler file is loaded from its path under a unique module name (two areas may share a file name) and
registered in sys.modules before it runs, as importlib expects. `fresh=True` loads another, independent
instance of the module: a second warm Lambda container with its own resolver, for the concurrency tests.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import sys
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import api_event, sample_event

ROOT = Path(__file__).resolve().parents[2]
_loaded: dict[tuple[str, str], ModuleType] = {}
_instances = itertools.count(1)


def _load(area: str, module: str, fresh: bool) -> ModuleType:
    key = (area, module)
    if not fresh and key in _loaded:
        return _loaded[key]
    path = ROOT / "functions" / area / f"{module}.py"
    suffix = f"_{next(_instances)}" if fresh else ""
    name = f"arena_test_handlers.{area}.{module}{suffix}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[name] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    if not fresh:
        _loaded[key] = loaded
    return loaded


@pytest.fixture
def load_handler() -> Callable[..., ModuleType]:
    """`load_handler("events", "create_event")` -> the module; `.lambda_handler(event, context)` runs it."""

    def load(area: str, module: str, *, fresh: bool = False) -> ModuleType:
        return _load(area, module, fresh)

    return load


@pytest.fixture(autouse=True)
def atomic_aws_requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each AWS request is atomic, as it is in DynamoDB.

    moto applies a TransactWriteItems step by step and rolls a cancelled one back by restoring a deep copy of
    the whole table, so two threads inside moto at once could lose each other's writes. The ingest service
    counts participants on a thread pool, and the concurrency tests post from several threads: one lock
    around each botocore request keeps moto's requests isolated while the product's requests still
    interleave freely (a read and the conditional write after it are two requests).
    """
    import botocore.client

    lock = threading.RLock()
    original = botocore.client.BaseClient._make_api_call

    def atomic(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        with lock:
            return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", atomic)
    yield


# ---------------------------------------------------------------------------------------------- the driver

ADMIN = {
    "sub": "admin-1",
    "cognito:groups": "[admin]",
    "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
    "token_use": "id",
}
DROP = object()  # an override that removes the key from the sample body


def manager_claims(sub: str) -> dict[str, Any]:
    return {**ADMIN, "sub": sub, "cognito:groups": "[event-manager]"}


def user_claims(sub: str, kyc_level: str = "2", account_type: str | None = "retail") -> dict[str, Any]:
    claims = {**ADMIN, "sub": sub, "cognito:groups": "[user]", "custom:kyc_level": kyc_level}
    if account_type is not None:
        claims["custom:account_type"] = account_type
    return claims


def trade(
    trade_id: str,
    user_id: str,
    executed_at: str,
    *,
    market: str = "BTC-USDT",
    side: str = "buy",
    quantity: str = "1",
    price: str = "100",
    realized_pnl: str | None = None,
    fee: str | None = None,
) -> dict[str, Any]:
    """One trade as the exchange's feed sends it (the shape of events/trades/ingest_trades.json)."""
    values: dict[str, Any] = {
        "trade_id": trade_id,
        "user_id": user_id,
        "market": market,
        "side": side,
        "quantity": quantity,
        "price": price,
        "executed_at": executed_at,
    }
    if realized_pnl is not None:
        values["realized_pnl"] = realized_pnl
    if fee is not None:
        values["fee"] = fee
    return values


class Reply:
    """A handler's answer: status and body (parsed when JSON; the docs page and its assets stay text)."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.status: int = response["statusCode"]
        self.raw = response
        headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        text = response.get("body")
        is_json = "json" in headers.get("content-type", "application/json")
        self.body: Any = (json.loads(text) if is_json else text) if text else None

    @property
    def code(self) -> str | None:
        return (self.body or {}).get("error", {}).get("code") if isinstance(self.body, dict) else None

    def __repr__(self) -> str:
        return f"Reply({self.status}, {self.body!r})"


class Arena:
    """Calls the real handler modules with the sample payloads of events/, as API Gateway would."""

    def __init__(self, load: Callable[..., ModuleType], context: Any, clock: Any, stream: Any) -> None:
        self._load = load
        self.context = context
        self.clock = clock
        self.stream = stream

    # -- plumbing
    def call(self, route: str, event: dict[str, Any], *, module: ModuleType | None = None) -> Reply:
        area, name = route.split("/")
        handler = module or self._load(area, name)
        return Reply(handler.lambda_handler(event, self.context))

    @staticmethod
    def event_body(**overrides: Any) -> dict[str, Any]:
        """The body of events/events/create_event.json with fields replaced (DROP removes one)."""
        body = json.loads(sample_event("events/create_event.json")["body"])
        for key, value in overrides.items():
            if value is DROP:
                body.pop(key, None)
            else:
                body[key] = value
        return body

    # -- events
    def create_event(self, claims: dict[str, Any] | None = None, **overrides: Any) -> Reply:
        return self.call(
            "events/create_event",
            api_event("events/create_event.json", body=self.event_body(**overrides), claims=claims),
        )

    def new_event(self, claims: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
        reply = self.create_event(claims, **overrides)
        assert reply.status == 201, reply
        return reply.body

    def get_event(self, event_id: str, claims: dict[str, Any] | None = None) -> Reply:
        return self.call(
            "events/get_event", api_event("events/get_event.json", path={"eventId": event_id}, claims=claims)
        )

    def list_events(self, query: dict[str, str]) -> Reply:
        return self.call("events/list_events", api_event("events/list_events.json", query=query))

    def update_event(self, event_id: str, body: Any, claims: dict[str, Any] | None = None) -> Reply:
        return self.call(
            "events/update_event",
            api_event("events/update_event.json", path={"eventId": event_id}, body=body, claims=claims),
        )

    def cancel_event(self, event_id: str, reason: str | None = None, claims: dict[str, Any] | None = None) -> Reply:
        body = {} if reason is None else {"reason": reason}
        return self.call(
            "events/cancel_event",
            api_event("events/cancel_event.json", path={"eventId": event_id}, body=body, claims=claims),
        )

    # -- participants
    def join(self, event_id: str, claims: dict[str, Any] | None = None) -> Reply:
        return self.call(
            "participants/join_event",
            api_event("participants/join_event.json", path={"eventId": event_id}, claims=claims),
        )

    def joined(self, event_id: str, user_id: str) -> None:
        reply = self.join(event_id, user_claims(user_id))
        assert reply.status == 201, reply

    def me(self, event_id: str, claims: dict[str, Any] | None = None) -> Reply:
        return self.call(
            "participants/get_my_participation",
            api_event("participants/get_my_participation.json", path={"eventId": event_id}, claims=claims),
        )

    # -- trades
    def ingest(
        self, trades: list[dict[str, Any]], claims: dict[str, Any] | None = None, module: ModuleType | None = None
    ) -> Reply:
        return self.call(
            "trades/ingest_trades",
            api_event("trades/ingest_trades.json", body={"trades": trades}, claims=claims),
            module=module,
        )

    # -- leaderboard
    def leaderboard(
        self, event_id: str, query: dict[str, str] | None = None, claims: dict[str, Any] | None = ADMIN
    ) -> Reply:
        """The board as an admin by default (rows carry user ids); pass a trader's claims for the public view."""
        self.stream.drain()  # the snapshot is about a second behind the participants: let it catch up
        return self.call(
            "leaderboard/get_leaderboard",
            api_event("leaderboard/get_leaderboard.json", path={"eventId": event_id}, query=query, claims=claims),
        )

    def my_rank(self, event_id: str, user_id: str, around: int | None = 3) -> Reply:
        self.stream.drain()
        return self.my_rank_now(event_id, user_id, around)

    def my_rank_now(self, event_id: str, user_id: str, around: int | None = 3) -> Reply:
        """GET /leaderboard/me as this user without waiting for the stream (the cache as it is)."""
        query = {} if around is None else {"around": str(around)}
        return self.call(
            "leaderboard/get_my_rank",
            api_event(
                "leaderboard/get_my_rank.json", path={"eventId": event_id}, query=query, claims=user_claims(user_id)
            ),
        )


@pytest.fixture
def arena(
    tables: dict[str, str],
    frozen_clock: Any,
    lambda_context: Any,
    load_handler: Callable[..., ModuleType],
    leaderboard_refresh: Any,
) -> Arena:
    """Given the tables of template.yaml in moto, the clock pinned at 2026-12-01T12:00:00Z, and the participants
    stream feeding the leaderboard refresher."""
    return Arena(load_handler, lambda_context, frozen_clock, leaderboard_refresh)


COMMUNITY_SECRET = "test-community-secret-0123456789abcdef"


@pytest.fixture
def named(monkeypatch: pytest.MonkeyPatch) -> str:
    """Given the community secret set (as the local stack sets it), so traders have public handles; returns it."""
    from arena import factories

    monkeypatch.setenv("COMMUNITY_SECRET", COMMUNITY_SECRET)
    factories.reset()
    return COMMUNITY_SECRET


def trader_of(row: dict[str, Any]) -> str:
    """The user id behind a leaderboard row: its `user_id` (a moderator's view), else the owner of its handle
    (recorded when they joined with the community secret set: the `named` fixture)."""
    if row.get("user_id"):
        return str(row["user_id"])
    from arena.store import community

    user_id = community.user_of_handle(str(row["handle"])) if row.get("handle") else None
    assert user_id is not None, f"no trader recorded for the row {row}"
    return user_id


def board_rows(reply: Reply) -> list[tuple[int, str, Decimal]]:
    """(rank, user, score) of a leaderboard page."""
    assert reply.status == 200, reply
    return [(e["rank"], trader_of(e), Decimal(e["score"])) for e in reply.body["entries"]]


@pytest.fixture
def bus(tables: dict[str, str]) -> Any:
    """A queue subscribed to everything Arena publishes on its bus (tests/integration/prizes.py)."""
    from tests.integration.prizes import Bus

    return Bus()
