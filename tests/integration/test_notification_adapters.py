"""The notification channel adapters (arena/adapters/discord.py, telegram.py, email.py, push.py) against the local
stack's fake Discord and Telegram (local/chat_providers.py) and moto's SES and SNS."""

from __future__ import annotations

import email
import email.policy
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from arena import factories
from arena.adapters import chat_http, discord, push, telegram
from arena.adapters import email as email_adapter
from arena.adapters.chat_http import PermanentFailure, RetryAfter, Sent, TransientFailure
from arena.domain.pacing import Buckets

from local.chat_providers import FakeDiscord, FakeTelegram


class FakeClock:
    """One clock for the fakes' rate limits and the adapters' pacing; sleeping moves it."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The fake clock, and the settings' required tables named (these adapters read none of them)."""
    for name in ("EVENTS", "PARTICIPANTS", "TRADES", "LEADERBOARD", "AUDIT", "LEDGER"):
        monkeypatch.setenv(f"{name}_TABLE", f"unused-{name.lower()}")
    fake = FakeClock()
    for module in (discord, telegram):
        monkeypatch.setattr(module, "clock", fake)
        monkeypatch.setattr(module, "sleep", fake.sleep)
    monkeypatch.setattr(discord, "_buckets", Buckets())
    return fake


@pytest.fixture
def fake_discord(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    with FakeDiscord(clock) as fake:
        monkeypatch.setenv("DISCORD_API_BASE", f"{fake.url}/api")
        factories.reset()
        yield fake
    factories.reset()


@pytest.fixture
def fake_telegram(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTelegram]:
    with FakeTelegram(clock=clock) as fake:
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.url or "")
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake.token)
        factories.reset()
        yield fake
    factories.reset()


def _post(url: str, payload: dict[str, Any]) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


# ---------------------------------------------------------------------------------------------------- Discord


def test_discord_429_is_honoured_then_the_message_is_delivered_once(
    fake_discord: FakeDiscord, clock: FakeClock
) -> None:
    """Given a webhook of one message per 10 s whose bucket another sender has just used
    When the adapter sends, is asked again before the retry_after passed, and again after it
    Then the first answer is RetryAfter with Discord's retry_after, the second waits without a request (no second
    429), the third is Sent, and the webhook received the adapter's message exactly once."""
    fake_discord.set_rate_limit(1, 10.0)
    url = fake_discord.create_webhook()
    assert _post(url, {"content": "someone else"}) == 204

    first = discord.send(url, "**Rank 3** in Winter Cup")
    assert isinstance(first, RetryAfter) and 9.0 <= first.seconds <= 10.0
    assert [r["status"] for r in fake_discord.refusals] == [429]

    clock.sleep(first.seconds / 2)
    early = discord.send(url, "**Rank 3** in Winter Cup")
    assert isinstance(early, RetryAfter) and early.seconds <= first.seconds / 2 + 0.01
    assert len(fake_discord.refusals) == 1  # the adapter knew the bucket was empty: no request

    clock.sleep(first.seconds / 2)
    delivered = discord.send(url, "**Rank 3** in Winter Cup")
    assert isinstance(delivered, Sent) and delivered.message_id
    ours = [m for m in fake_discord.messages if m["content"] == "**Rank 3** in Winter Cup"]
    assert len(ours) == 1 and ours[0]["allowed_mentions"] == {"parse": []}


def test_discord_waits_briefly_for_a_bucket_it_emptied_itself(fake_discord: FakeDiscord, clock: FakeClock) -> None:
    """Given a webhook of 2 messages per second
    When the adapter sends 6 messages in a row
    Then every one is Sent and none earned a 429: the adapter read X-RateLimit-Remaining / Reset-After and waited."""
    fake_discord.set_rate_limit(2, 1.0)
    url = fake_discord.create_webhook()
    outcomes = [discord.send(url, f"message {i}") for i in range(6)]
    assert all(isinstance(o, Sent) for o in outcomes)
    assert fake_discord.refusals == [] and len(fake_discord.messages) == 6
    assert clock.now > 1_001.0  # it waited for the bucket


def test_discord_refusals_are_typed(fake_discord: FakeDiscord) -> None:
    """Given a deleted webhook, a webhook with a wrong token, a URL of another host and over-long content
    When the adapter sends to each
    Then the deleted and wrong-token webhooks are permanent failures that break the link, the foreign URL is
    refused without a request, and over-long content fails without breaking the link."""
    url = fake_discord.create_webhook()
    webhook_id = url.rsplit("/", 2)[1]
    deleted = discord.send(url.replace(webhook_id, "1"), "hello")
    assert isinstance(deleted, PermanentFailure) and deleted.link_broken and "404" in deleted.reason
    wrong_token = discord.send(url.rsplit("/", 1)[0] + "/not-the-token", "hello")
    assert isinstance(wrong_token, PermanentFailure) and wrong_token.link_broken
    foreign = discord.send("https://evil.example/api/webhooks/1/abc", "hello")
    assert isinstance(foreign, PermanentFailure) and foreign.link_broken
    too_long = discord.send(url, "x" * 2_001)
    assert isinstance(too_long, PermanentFailure) and not too_long.link_broken
    assert len(fake_discord.refusals) == 2 and fake_discord.messages == []


def test_an_unreachable_provider_is_a_transient_failure(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a Discord base URL where nothing listens
    When the adapter sends
    Then the outcome is a TransientFailure (the queue retries it), not an exception."""
    monkeypatch.setenv("DISCORD_API_BASE", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "1")
    factories.reset()
    try:
        outcome = discord.send("http://127.0.0.1:9/api/webhooks/1/abc", "hello")
    finally:
        factories.reset()
    assert isinstance(outcome, TransientFailure)
    assert chat_http.number("1.5") == 1.5 and chat_http.number("nan") is None and chat_http.number(None) is None


# ---------------------------------------------------------------------------------------------------- Telegram


def test_telegram_429_is_honoured_then_the_message_is_delivered_once(
    fake_telegram: FakeTelegram, clock: FakeClock
) -> None:
    """Given a bot whose chat takes one message per 10 s
    When the adapter sends two messages to the chat, then the second again after Telegram's retry_after
    Then the first is Sent, the second is RetryAfter with parameters.retry_after (10), the retry is Sent, and the
    chat received each message exactly once."""
    fake_telegram.set_rate_limit(chat_rate=0.1, chat_burst=1, bot_rate=30, bot_burst=30)
    assert isinstance(telegram.send("4242", "<b>first</b>"), Sent)
    second = telegram.send("4242", "<b>second</b> &amp; more")
    assert second == RetryAfter(9.0, "429") or (isinstance(second, RetryAfter) and second.seconds in (9.0, 10.0))
    clock.sleep(second.seconds)  # type: ignore[union-attr]
    assert isinstance(telegram.send("4242", "<b>second</b> &amp; more"), Sent)
    texts = [m["text"] for m in fake_telegram.messages]
    assert texts == ["<b>first</b>", "<b>second</b> &amp; more"]
    assert [r["status"] for r in fake_telegram.refusals] == [429]


def test_telegram_paces_one_message_a_second_per_chat(fake_telegram: FakeTelegram, clock: FakeClock) -> None:
    """Given a bot whose chats take one message a second with no burst
    When the adapter sends three messages to one chat and one to another
    Then all are Sent without a 429: the adapter spaced the same chat's messages by a second."""
    fake_telegram.set_rate_limit(chat_rate=1, chat_burst=1, bot_rate=30, bot_burst=30)
    outcomes = [telegram.send("7", f"m{i}") for i in range(3)] + [telegram.send("8", "other")]
    assert all(isinstance(o, Sent) for o in outcomes) and fake_telegram.refusals == []
    assert clock.now >= 1_002.0


def test_telegram_refusals_are_typed(fake_telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a chat that blocked the bot, a chat that does not exist, unescaped HTML and a wrong bot token
    When the adapter sends to each
    Then blocked and missing chats break the link, bad HTML fails without breaking it, and a wrong token is
    transient (the bot's configuration, not the user's address)."""
    fake_telegram.block("99")
    blocked = telegram.send("99", "hello")
    assert isinstance(blocked, PermanentFailure) and blocked.link_broken and "blocked" in blocked.reason
    missing = telegram.send("not a chat", "hello")
    assert isinstance(missing, PermanentFailure) and missing.link_broken
    bad_html = telegram.send("5", "Tom & Jerry <3")
    assert isinstance(bad_html, PermanentFailure) and not bad_html.link_broken
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:wrong")
    factories.reset()
    assert isinstance(telegram.send("5", "hello"), TransientFailure)
    assert fake_telegram.messages == []


# ---------------------------------------------------------------------------------------------- email and push


def test_email_goes_through_ses_with_both_parts_and_unsubscribe_headers(
    tables: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a verified sender in SES
    When the adapter sends an email, and then one to a malformed address, and one from an unverified sender
    Then SES holds the first as a MIME message with a text and an HTML part, List-Unsubscribe and
    List-Unsubscribe-Post: One-Click; the malformed address is refused before SES, the unverified sender is a
    permanent failure."""
    boto3.client("ses").verify_email_identity(EmailAddress="notifications@arena.local")
    url = "https://arena.example/api/notifications/unsubscribe?token=t.k.s"
    outcome = email_adapter.send("ann@example.com", "You won", "Plain ✓", "<p>Html ✓</p>", unsubscribe_url=url)
    assert isinstance(outcome, Sent) and outcome.message_id
    from moto.ses.models import ses_backends

    [sent] = ses_backends["123456789012"]["us-east-1"].sent_messages
    message = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert message["To"] == "ann@example.com" and message["Subject"] == "You won"
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_body(("plain",)).get_content().strip() == "Plain ✓"
    assert message.get_body(("html",)).get_content().strip() == "<p>Html ✓</p>"

    malformed = email_adapter.send("not an address", "s", "t", "<p>h</p>", unsubscribe_url=url)
    assert isinstance(malformed, PermanentFailure)
    monkeypatch.setenv("NOTIFICATIONS_EMAIL_SENDER", "someone@unverified.example")
    factories.reset()
    refused = email_adapter.send("ann@example.com", "s", "t", "<p>h</p>", unsubscribe_url=url)
    assert isinstance(refused, PermanentFailure) and "MessageRejected" in refused.reason


def test_push_endpoints_are_made_once_per_token_and_receive_the_platform_payload(
    tables: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given SNS platform applications for iOS and Android
    When a device token is registered twice, a notification is published to it, and its endpoint is disabled
    Then both registrations give one endpoint, the endpoint holds the APNs and FCM payloads with the title and
    body, and a publish to the disabled endpoint is a permanent failure that breaks the device."""
    sns = boto3.client("sns")
    for platform, kind in (("IOS", "APNS"), ("ANDROID", "GCM")):
        arn = sns.create_platform_application(Name=f"arena-{platform}", Platform=kind, Attributes={})[
            "PlatformApplicationArn"
        ]
        monkeypatch.setenv(f"PUSH_{platform}_APPLICATION_ARN", arn)
    factories.reset()
    arn = push.create_endpoint("ios", "a" * 64, "user-1")
    assert push.create_endpoint("ios", "a" * 64, "user-1") == arn
    assert isinstance(push.publish(arn, "You won", "1500 USDT", {"notification_id": "01J"}), Sent)
    from moto.sns.models import sns_backends

    [payload] = sns_backends["123456789012"]["us-east-1"].platform_endpoints[arn].messages.values()
    apns = json.loads(json.loads(payload)["APNS"])
    assert apns["aps"]["alert"] == {"title": "You won", "body": "1500 USDT"} and apns["notification_id"] == "01J"
    sns.set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    disabled = push.publish(arn, "t", "b")
    assert isinstance(disabled, PermanentFailure) and disabled.link_broken
    push.delete_endpoint(arn)
    push.delete_endpoint(arn)  # idempotent
