"""Notifications end to end on the local stack (one in-process stack for the module, moto for AWS, the fake Discord
and Telegram, the stack's pollers, rules and schedules): reminders fire at their moments with the controllable
clock, a rank change into the prize zone reaches in-app, email and Telegram once each although the planner's batch
is delivered twice, preferences and quiet hours suppress and hold, a Telegram 429 delays without losing, and the
email's unsubscribe link works without signing in.

The clock only moves forward in this module (the holds sweep remembers the last minute it swept): `advance` adds
to an offset over the real time that every function of the stack reads through `arena.clock`.
"""

from __future__ import annotations

import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import ArenaClient, in_process_stack, iso

PLANNER = "NotificationPlannerFunction"
_offset = [timedelta(0)]


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    from arena import clock

    with in_process_stack(dynamodb="moto", POWERTOOLS_LOG_LEVEL="WARNING", ARENA_LOCAL_SAFETY_NET_SECONDS="1") as local:
        clock.set_source(lambda: datetime.now(UTC) + _offset[0])
        try:
            yield local
        finally:
            clock.set_source(lambda: datetime.now(UTC))


@pytest.fixture(scope="module")
def client(stack: Any) -> ArenaClient:
    return ArenaClient(stack.base_url)


def advance(to: datetime) -> None:
    """Move the stack's clock forward to `to` (never back)."""
    from arena import clock

    step = to - clock.now()
    assert step > timedelta(0), "the clock only moves forward here"
    _offset[0] += step


def wait_for(check: Callable[[], Any], seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"nothing came within {seconds} s")


def trader(client: ArenaClient, user: str, email: str | None = None) -> str:
    """A trader's token; with `email`, the pool knows their verified address (what the email dispatcher reads)."""
    from arena.config import settings

    if email is not None:
        boto3.client("cognito-idp").admin_create_user(
            UserPoolId=settings().user_pool_id,
            Username=user,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            MessageAction="SUPPRESS",
        )
    return client.token(user, ["user"])


def new_event(client: ArenaClient, name: str, start: datetime, users: list[str]) -> str:
    from arena import clock

    admin = client.token("notif-admin", ["admin"])
    body = {
        "name": name,
        "start_at": iso(start),
        "end_at": iso(start + timedelta(days=1)),
        "markets": ["BTC-USDT"],
        "prizes": [{"rank_from": 1, "rank_to": 3, "type": "points", "amount": "10"}],
    }
    assert start > clock.now()
    created = client.call("POST", "/api/events", admin, body)
    assert created.status == 201, created.body
    event_id = str(created.body["id"])
    for user in users:
        joined = client.call("POST", f"/api/events/{event_id}/join", client.token(user, ["user"]))
        assert joined.status == 201, joined.body
    return event_id


def set_preferences(client: ArenaClient, token: str, kind: str, channels: dict[str, bool], **more: Any) -> None:
    current = client.call("GET", "/api/me/notification-preferences", token).body
    matrix = current["channels"] | {kind: current["channels"][kind] | channels}
    body = {"channels": matrix, "digest": current["digest"], "locale": "en", "version": current["version"], **more}
    changed = client.call("PUT", "/api/me/notification-preferences", token, body)
    assert changed.status == 200, changed.body


def link_telegram(client: ArenaClient, token: str, chat_id: str) -> None:
    """Link a Telegram chat through the routes: the code the bot sent to the fake Telegram verifies it."""
    started = client.call("POST", "/api/me/notification-channels/telegram", token, {"address": chat_id})
    assert started.status in (200, 201), started.body
    texts = [m["text"] for m in telegram_to(client, chat_id)]
    code = re.search(r"\b(\d{6})\b", texts[-1])
    assert code is not None, texts
    verified = client.call("POST", "/api/me/notification-channels/telegram/verify", token, {"code": code.group(1)})
    assert verified.status == 200, verified.body


def telegram_to(client: ArenaClient, chat_id: str) -> list[dict[str, Any]]:
    return [m for m in client.call("GET", "/local/telegram").body["messages"] if str(m["chat"]["id"]) == chat_id]


def mail_to(client: ArenaClient, address: str) -> list[dict[str, Any]]:
    return [m for m in client.call("GET", "/local/mail").body["messages"] if address in m["to"]]


def rank_change(event_id: str, user: str, generation: int) -> dict[str, Any]:
    """The RanksChanged envelope the leaderboard push puts on the bus: `user` entered the prize zone."""
    from arena import clock

    move = {
        "user_id": user,
        "changes": ["entered_prize_zone"],
        "rank": 2,
        "previous_rank": 14,
        "prize_rank": 2,
        "previous_prize_rank": 14,
    }
    return {
        "id": f"ranks-{event_id}-{generation}",
        "source": "arena",
        "detail-type": "RanksChanged",
        "time": iso(clock.now()),
        "detail": {"event_id": event_id, "generation": generation, "moves": [move]},
    }


def inbox(user: str) -> list[Any]:
    from arena.store import notifications as store

    return store.inbox_page(user, None, 50)[0]


def test_a_rank_change_reaches_in_app_email_and_telegram_once_although_planned_twice(
    stack: Any, client: ArenaClient
) -> None:
    """Given Rio (a verified email in the pool, Telegram linked through the routes, rank changes on in-app, email and
    Telegram) in an event
    When the planner receives the same RanksChanged envelope twice (EventBridge's redelivery)
    Then one inbox item, one email and one Telegram message arrive, and the source counts one sent per channel;
    and the email's unsubscribe link, opened without signing in, turns rank-change email off."""
    from arena.domain.notifications import Channel, DeliveryStatus
    from arena.store import notifications as store

    token = trader(client, "rio", "rio@example.com")
    link_telegram(client, token, "7001")
    set_preferences(client, token, "rank_change", {"in_app": True, "email": True, "telegram": True})
    from arena import clock

    event_id = new_event(client, "Prize zone cup", clock.now() + timedelta(days=3), ["rio"])
    envelope = rank_change(event_id, "rio", 5)
    for _ in range(2):
        stack.invoke(PLANNER, envelope)

    wait_for(lambda: inbox("rio") and mail_to(client, "rio@example.com") and len(telegram_to(client, "7001")) >= 2)
    source = f"ranks:{event_id}:5"
    wait_for(lambda: store.source_counts(source)[Channel.TELEGRAM][DeliveryStatus.SENT] == 1)
    time.sleep(2)  # a second copy, if any, would have landed by now (the pollers run every 0.1-1 s)
    [item] = inbox("rio")
    assert item.type.value == "rank_change" and item.event_id == event_id
    [mail] = mail_to(client, "rio@example.com")
    assert "Prize zone cup" in mail["subject"] + mail["text"]
    assert len(telegram_to(client, "7001")) == 2  # the link's code, then the rank change
    counts = store.source_counts(source)
    assert [counts[c][DeliveryStatus.SENT] for c in (Channel.IN_APP, Channel.EMAIL, Channel.TELEGRAM)] == [1, 1, 1]

    link = re.search(r"https?://\S+/api/notifications/unsubscribe\?token=[^\s\"'<>]+", mail["text"])
    assert link is not None, mail["text"]
    with urllib.request.urlopen(link.group(0), timeout=30) as page:  # no sign-in
        assert page.status == 200
    prefs = client.call("GET", "/api/me/notification-preferences", token).body
    assert prefs["channels"]["rank_change"]["email"] is False and prefs["channels"]["rank_change"]["telegram"]


def test_preferences_suppress_and_quiet_hours_hold_until_they_end(stack: Any, client: ArenaClient) -> None:
    """Given Quin (email on, Telegram linked) who turned rank-change email off and is inside quiet hours
    When a rank change into the prize zone is planned
    Then the inbox gets it at once, no email is sent, Telegram is HELD and silent; when the clock passes the quiet
    hours' end the minute sweep releases it and Telegram receives it once."""
    from arena import clock
    from arena.domain.notifications import Channel, DeliveryStatus
    from arena.store import notifications as store

    token = trader(client, "quin", "quin@example.com")
    link_telegram(client, token, "7002")
    now = clock.now()
    quiet = {"start": (now - timedelta(hours=1)).strftime("%H:%M"), "end": (now + timedelta(hours=1)).strftime("%H:%M")}
    set_preferences(
        client,
        token,
        "rank_change",
        {"in_app": True, "email": False, "telegram": True},
        quiet_hours={**quiet, "timezone": "UTC"},
    )
    event_id = new_event(client, "Quiet cup", now + timedelta(days=3), ["quin"])
    stack.invoke(PLANNER, rank_change(event_id, "quin", 1))
    wait_for(lambda: inbox("quin"))
    [item] = inbox("quin")
    delivery = store.delivery(item.notification_id, Channel.TELEGRAM)
    assert delivery is not None and delivery.status is DeliveryStatus.HELD
    assert store.delivery(item.notification_id, Channel.EMAIL) is None  # suppressed by preference: never planned
    time.sleep(2)
    assert len(telegram_to(client, "7002")) == 1 and mail_to(client, "quin@example.com") == []

    advance(now + timedelta(hours=1, minutes=2))
    wait_for(lambda: len(telegram_to(client, "7002")) == 2, seconds=40)
    assert store.delivery(item.notification_id, Channel.TELEGRAM).status is DeliveryStatus.SENT  # type: ignore[union-attr]
    time.sleep(2)
    assert len(telegram_to(client, "7002")) == 2 and mail_to(client, "quin@example.com") == []


def test_a_telegram_429_delays_and_loses_nothing(stack: Any, client: ArenaClient) -> None:
    """Given Tia with Telegram linked and milestones on Telegram, and the fake Telegram allowing one message per
    3 seconds per chat
    When three milestones are planned at once
    Then the fake answers 429 with retry_after at least once, and all three still arrive, once each."""
    from arena import clock

    token = trader(client, "tia")
    link_telegram(client, token, "7003")
    set_preferences(client, token, "milestone", {"telegram": True})
    limited = client.call(
        "POST",
        "/local/telegram/rate-limit",
        body={"chat_rate": 1 / 3, "chat_burst": 1, "bot_rate": 30, "bot_burst": 30},
    )
    assert limited.status == 200, limited.body
    try:
        for milestone in ("first_trade", "qualified", "prize_zone"):
            stack.invoke(
                PLANNER,
                {
                    "id": f"ms-tia-{milestone}",
                    "source": "arena",
                    "detail-type": "MilestoneReached",
                    "time": iso(clock.now()),
                    "detail": {"event_id": "ev-tia", "user_id": "tia", "milestone": milestone},
                },
            )
        wait_for(lambda: len(telegram_to(client, "7003")) == 4, seconds=50)
        refusals = client.call("GET", "/local/telegram").body["refusals"]
        assert any(r["status"] == 429 for r in refusals)
        time.sleep(2)
        assert len(telegram_to(client, "7003")) == 4  # the code and three milestones, none twice
    finally:
        client.call(
            "POST",
            "/local/telegram/rate-limit",
            body={"chat_rate": 1, "chat_burst": 20, "bot_rate": 30, "bot_burst": 30},
        )


def test_an_events_reminders_fire_at_their_moments(stack: Any, client: ArenaClient) -> None:
    """Given an event starting in two days with one participant (its reminder schedules made at creation)
    When the clock reaches a minute before 24 h before the start, then each reminder's moment in turn
    Then nothing comes early, and the 24 h, 1 h and 1-hour-before-end reminders each reach the inbox once, dated
    at their moments."""
    from arena import clock

    start = (clock.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    event_id = new_event(client, "Reminded cup", start, ["rem"])
    end = start + timedelta(days=1)

    def reminders() -> list[str]:
        return sorted(str(i.data.get("reminder")) for i in inbox("rem") if i.event_id == event_id)

    advance(start - timedelta(hours=24, minutes=1))
    time.sleep(3)
    assert reminders() == []
    for moment, expected in (
        (start - timedelta(hours=24), ["start_24h"]),
        (start - timedelta(hours=1), ["start_1h", "start_24h"]),
    ):
        advance(moment + timedelta(seconds=1))
        wait_for(lambda expected=expected: reminders() == expected, seconds=60)  # type: ignore[misc]
    advance(end - timedelta(hours=1) + timedelta(seconds=1))
    wait_for(lambda: "end_1h" in reminders(), seconds=60)
    time.sleep(2)
    found = {str(i.data.get("reminder")): i for i in inbox("rem") if i.event_id == event_id}
    assert sorted(r for r in reminders() if r != "started") == ["end_1h", "start_1h", "start_24h"]
    assert found["start_24h"].created_at == start - timedelta(hours=24)
    assert found["start_1h"].created_at == start - timedelta(hours=1)
    assert found["end_1h"].created_at == end - timedelta(hours=1)
