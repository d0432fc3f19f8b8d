"""The demo `make run` starts (local/demo.py), on an in-process stack: its event's analytics are non-trivial, since
the feed also carries non-participants' trades and a week of history before the event."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from local.demo import (
    DEMO_EMAILS,
    DEMO_TRADERS,
    EVENT_MARKETS,
    FEED_MARKETS,
    HISTORY_DAYS,
    HISTORY_NOTIONAL,
    HISTORY_TRADES,
    NEW_TRADERS,
    OTHER_TRADERS,
    Demo,
    demo_simulator,
    trader_tokens,
)
from local.jwt_issuer import TRADE_FEED_CLIENT_ID
from tests.e2e.conftest import ArenaClient, in_process_stack


@pytest.fixture(scope="module")
def demo() -> Iterator[tuple[Any, Demo]]:
    with in_process_stack(dynamodb="moto", POWERTOOLS_LOG_LEVEL="WARNING") as local:
        traders = trader_tokens(local.issuer)
        admin = local.issuer.issue("demo-admin", groups=["admin"])
        feed = local.issuer.issue_client_credentials(TRADE_FEED_CLIENT_ID)
        running = Demo(local.base_url, admin, traders, feed)
        running.start()
        try:
            yield local, running
        finally:
            running.stop()


def test_the_demo_history_is_the_week_before_the_event_day_and_the_same_for_a_seed() -> None:
    """Given the demo's seeded simulator When it writes the history twice for the same day
    Then both are the same trades, all in the 7 UTC days before that day, in time order, from joined and not-joined
    traders, on the event's markets and one it does not take."""
    # Given
    day = datetime(2026, 3, 9, tzinfo=UTC)
    week_before = day - timedelta(days=HISTORY_DAYS)
    # When
    first = demo_simulator("H", notional=HISTORY_NOTIONAL).history(HISTORY_TRADES, week_before, day)
    again = demo_simulator("H", notional=HISTORY_NOTIONAL).history(HISTORY_TRADES, week_before, day)
    # Then
    assert first == again
    moments = [trade["executed_at"] for trade in first]
    assert moments == sorted(moments)
    assert moments[0] >= "2026-03-02T00:00:00.000Z"
    assert moments[-1] < "2026-03-09T00:00:00.000Z"
    users = {trade["user_id"] for trade in first}
    assert users & set(DEMO_TRADERS) and users & set(OTHER_TRADERS)
    assert {trade["market"] for trade in first} == set(FEED_MARKETS) > set(EVENT_MARKETS)


def test_the_demo_event_shows_a_participation_fraction_a_lift_and_new_traders(demo: tuple[Any, Demo]) -> None:
    """Given the demo started (its event, its 20 joined traders, the history backfilled, the simulator trading)
    When an admin reads the event's performance once the rollups have the live trades
    Then the participation rate is strictly between 0 and 1 (more traders of its markets than participants who
    traded), the lift is a figure against the week before, and the traders without history count as new."""
    # Given
    local, running = demo
    client = ArenaClient(local.base_url)
    admin = client.token("analyst", ["admin"])
    # When
    metrics: dict[str, Any] = {}
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        reply = client.call("GET", f"/api/events/{running.event_id}/performance", admin)
        assert reply.status == 200, reply.body
        metrics = reply.body["metrics"]
        if metrics["traders"] >= 5 and metrics["market_traders"] > metrics["traders"] and metrics["new_traders"]:
            break
        time.sleep(1)
    # Then
    assert metrics["market_traders"] > metrics["traders"] > 0, metrics
    assert 0 < Decimal(metrics["participation_rate"]) < 1, metrics
    assert metrics["lift"]["lift"] is not None, metrics
    assert Decimal(metrics["lift"]["before_daily_volume"]) > 0, metrics
    assert 0 < metrics["new_traders"] <= len(NEW_TRADERS), metrics


def test_the_demo_mailbox_receives_trader_01s_milestone_email(demo: tuple[Any, Demo]) -> None:
    """Given the demo started: trader-01 signed in with a verified address in the user pool and milestone emails on
    When the simulator's trades reach trader-01's first milestone in the demo event
    Then GET /local/mail lists an email SES sent to that address, with its unsubscribe link."""
    # Given
    local, _ = demo
    address = DEMO_EMAILS["trader-01"]
    # When
    mails: list[dict[str, Any]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with urllib.request.urlopen(local.base_url + "/local/mail", timeout=30) as answer:
            mails = [m for m in json.loads(answer.read())["messages"] if address in str(m.get("to"))]
        if mails:
            break
        time.sleep(1)
    # Then
    assert mails, "no email reached trader-01 in 180 s"
    assert "/api/notifications/unsubscribe?token=" in json.dumps(mails[0])
