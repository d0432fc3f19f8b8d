"""The notifications' external channels on the local stack (local/notification_channels.py): the functions pointed
at the fake Discord and Telegram, SES's sender verified and SNS's platform applications made in moto, and what each
channel received readable at /local/mail, /local/discord, /local/telegram, /local/push.

One stack for the module (moto's state is process-wide).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from arena.adapters import discord, email, push, telegram
from arena.adapters.chat_http import PermanentFailure, Sent
from arena.domain.notifications import (
    Channel,
    ChannelMessage,
    DeliveryStatus,
    LinkStatus,
    Notification,
    NotificationType,
    notification_id,
    to_wire,
)
from arena.store import notifications as store

from tests.e2e.conftest import in_process_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with in_process_stack(dynamodb="moto", POWERTOOLS_LOG_LEVEL="WARNING") as local:
        yield local


def call(base_url: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
            kind = answer.headers.get("content-type", "")
            return answer.status, json.loads(raw) if "json" in kind else raw.decode()
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_functions_are_pointed_at_the_fakes_and_moto(stack: Any) -> None:
    """Given the local stack started
    When its health and the functions' environment are read
    Then the fake Discord and Telegram are reported, the provider bases and the bot token point at them, the
    unsubscribe links at this stack, a signing secret is set and both push platforms have a moto application."""
    status, health = call(stack.base_url, "GET", "/local/health")
    fakes = health["notification_channels"]
    assert status == 200 and fakes["discord"].startswith("http://") and fakes["telegram"].startswith("http://")
    assert os.environ["DISCORD_API_BASE"] == fakes["discord"] + "/api"
    assert os.environ["TELEGRAM_API_BASE"] == fakes["telegram"]
    assert os.environ["PUBLIC_BASE_URL"] == stack.base_url
    assert len(os.environ["NOTIFICATIONS_SIGNING_SECRET"]) >= 32
    assert os.environ["NOTIFICATIONS_SIGNING_SECRET"].startswith("{{") is False
    for platform in ("IOS", "ANDROID"):
        assert os.environ[f"PUSH_{platform}_APPLICATION_ARN"].startswith("arn:aws:sns:")


def test_discord_and_telegram_messages_are_listed(stack: Any) -> None:
    """Given a webhook made through POST /local/discord/webhooks and a Telegram chat
    When the adapters send to both, and to a chat blocked through POST /local/telegram/blocked
    Then GET /local/discord and GET /local/telegram list what was accepted, and the blocked chat's 403 is listed
    among the refusals."""
    status, made = call(stack.base_url, "POST", "/local/discord/webhooks", {})
    assert status == 201 and discord.is_webhook_url(made["url"])
    assert isinstance(discord.send(made["url"], "**hello** from Arena"), Sent)
    assert isinstance(telegram.send("1001", "<b>hello</b> from Arena"), Sent)
    assert call(stack.base_url, "POST", "/local/telegram/blocked", {"chat_id": "1002"})[0] == 200
    blocked = telegram.send("1002", "hello")
    assert isinstance(blocked, PermanentFailure) and blocked.link_broken

    _, listed = call(stack.base_url, "GET", "/local/discord")
    assert [m["content"] for m in listed["messages"]][-1] == "**hello** from Arena"
    _, listed = call(stack.base_url, "GET", "/local/telegram")
    assert listed["messages"][-1]["text"] == "<b>hello</b> from Arena"
    assert listed["refusals"][-1]["status"] == 403
    assert call(stack.base_url, "POST", "/local/telegram/rate-limit", {"chat_rate": 0})[0] == 400


def test_emails_are_listed_and_their_html_is_viewable(stack: Any) -> None:
    """Given the stack's verified SES sender
    When the email adapter sends a notification email
    Then GET /local/mail lists it with its subject, text and List-Unsubscribe header, and GET /local/mail/<id>
    answers its HTML; an unknown id is a 404."""
    url = f"{stack.base_url}/api/notifications/unsubscribe?token=abc"
    outcome = email.send(
        "ann@example.com", "You won", "You won 10 USDT.", "<p>You won <b>10 USDT</b>.</p>", unsubscribe_url=url
    )
    assert isinstance(outcome, Sent)
    status, listed = call(stack.base_url, "GET", "/local/mail")
    [mail] = [m for m in listed["messages"] if m["id"] == outcome.message_id]
    assert status == 200 and mail["subject"] == "You won" and mail["to"] == "ann@example.com"
    assert mail["list_unsubscribe"] == f"<{url}>" and mail["text"].strip() == "You won 10 USDT."
    status, page = call(stack.base_url, "GET", f"/local/mail/{outcome.message_id}")
    assert status == 200 and "<b>10 USDT</b>" in page
    assert call(stack.base_url, "GET", "/local/mail/nope")[0] == 404


def test_pushes_are_listed_per_device(stack: Any) -> None:
    """Given an Android device registered through the push adapter (moto's SNS platform application)
    When a notification is pushed to it
    Then GET /local/push lists the endpoint, its user and the FCM payload."""
    arn = push.create_endpoint("android", "f" * 152, "ann")
    assert isinstance(push.publish(arn, "Rank 3", "You entered the prize zone"), Sent)
    _, listed = call(stack.base_url, "GET", "/local/push")
    [endpoint] = [e for e in listed["endpoints"] if e["endpoint_arn"] == arn]
    assert endpoint["user"] == "ann"
    assert json.loads(endpoint["messages"][0]["GCM"])["notification"] == {
        "title": "Rank 3",
        "body": "You entered the prize zone",
    }


def test_a_planned_telegram_notification_goes_through_the_stacks_queue_to_the_fake(stack: Any) -> None:
    """Given a user whose Telegram chat is verified and a prize notification planned for Telegram (its delivery
    record QUEUED), as the planner leaves it
    When its message is put on the stack's TelegramQueue
    Then the stack's poller runs TelegramDispatchFunction, the fake Telegram lists the message once and the delivery
    record is SENT."""
    now = datetime.now(UTC)
    note = Notification(
        notification_id("stack-test", "carol", NotificationType.PRIZE_PAID, now),
        "carol",
        NotificationType.PRIZE_PAID,
        "stack-test",
        now,
        "ev-1",
        {"event_name": "Spring & Summer", "amount": "42", "token": "USDT"},
    )
    store.put_link(store.ChannelLink("carol", Channel.TELEGRAM, "3003", LinkStatus.VERIFIED, linked_at=now))
    assert store.claim_delivery(note, Channel.TELEGRAM, DeliveryStatus.QUEUED, now)
    boto3.client("sqs").send_message(
        QueueUrl=stack.queues["TelegramQueue"]["url"], MessageBody=to_wire(ChannelMessage(Channel.TELEGRAM, (note,)))
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        record = store.delivery(note.notification_id, Channel.TELEGRAM)
        if record is not None and record.status is DeliveryStatus.SENT:
            break
        time.sleep(0.2)
    _, listed = call(stack.base_url, "GET", "/local/telegram")
    ours = [m for m in listed["messages"] if "Spring &amp; Summer" in m["text"]]
    assert len(ours) == 1 and ours[0]["chat"]["id"] == 3003
    assert store.delivery(note.notification_id, Channel.TELEGRAM).status is DeliveryStatus.SENT  # type: ignore[union-attr]
