"""The external-channel dispatchers (functions/notifications/dispatch_channel.py, services/notifications/channels.py)
on moto (NotificationsTable, SQS, SES, SNS, the user pool) with the local stack's fake Discord and Telegram: a 429
delays and then delivers once through the real queue, a redelivered message calls no provider twice, an unlinked
channel is SUPPRESSED, email carries a working unsubscribe link, a gone address is marked broken."""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from arena import clock, factories
from arena.domain.notifications import (
    Channel,
    ChannelMessage,
    DeliveryStatus,
    LinkStatus,
    Notification,
    NotificationType,
    from_wire,
    notification_id,
    to_wire,
)
from arena.domain.unsubscribe import read_unsubscribe_token
from arena.services.notifications import channels
from arena.store import notifications as store
from arena.store.notifications import ChannelLink, DeviceRecord

from local.chat_providers import FakeDiscord, FakeTelegram
from local.pollers import SqsPoller
from tests.conftest import sample_event

SECRET = "test-signing-secret"
SENDER = "notifications@arena.local"


@pytest.fixture
def providers(tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeDiscord, FakeTelegram]]:
    """Given the fake Discord and Telegram, a verified SES sender, SNS platform applications and the settings that
    point the dispatchers at them."""
    with FakeDiscord() as fake_discord, FakeTelegram() as fake_telegram:
        monkeypatch.setenv("DISCORD_API_BASE", f"{fake_discord.url}/api")
        monkeypatch.setenv("TELEGRAM_API_BASE", fake_telegram.url or "")
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", fake_telegram.token)
        monkeypatch.setenv("NOTIFICATIONS_SIGNING_SECRET", SECRET)
        monkeypatch.setenv("PUBLIC_BASE_URL", "https://arena.example")
        monkeypatch.setenv("NOTIFICATIONS_EMAIL_SENDER", f"Arena <{SENDER}>")
        boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
        sns = boto3.client("sns")
        arn = sns.create_platform_application(Name="arena-ios", Platform="APNS", Attributes={})
        monkeypatch.setenv("PUSH_IOS_APPLICATION_ARN", arn["PlatformApplicationArn"])
        factories.reset()
        yield fake_discord, fake_telegram
    factories.reset()


NOW = datetime.now(UTC).replace(microsecond=0)


def planned(channel: Channel, user: str = "ann", kind: NotificationType = NotificationType.PRIZE_WON) -> Notification:
    """A notification the planner queued on `channel` (its delivery record created QUEUED)."""
    note = Notification(
        notification_id(f"src-{channel}-{kind}", user, kind, NOW),
        user,
        kind,
        f"src-{channel}-{kind}",
        NOW,
        event_id="ev-1",
        data={"event_name": "Winter <Cup>", "rank": 1, "amount": "1500.25", "token": "USDT"},
    )
    assert store.claim_delivery(note, channel, DeliveryStatus.QUEUED, NOW)
    return note


def link(user: str, channel: Channel, address: str) -> None:
    store.put_link(ChannelLink(user, channel, address, LinkStatus.VERIFIED, linked_at=NOW))


def status(note: Notification, channel: Channel) -> DeliveryStatus | None:
    record = store.delivery(note.notification_id, channel)
    return record.status if record else None


class Queue:
    """A channel queue in moto with its DLQ, and Lambda's SQS event source mapping in front of a dispatcher."""

    def __init__(self, name: str, handler: Callable[[dict[str, Any], Any], Any], context: Any) -> None:
        sqs = boto3.client("sqs")
        self.sqs = sqs
        dlq = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})
        self.url = sqs.create_queue(QueueName=name, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "60"})[
            "QueueUrl"
        ]
        arn = sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.poller = SqsPoller(
            sqs, self.url, arn, lambda event: handler(event, context), report_batch_item_failures=True, wait_seconds=0
        )

    def send(self, message: ChannelMessage) -> None:
        self.sqs.send_message(QueueUrl=self.url, MessageBody=to_wire(message))

    def poll(self) -> int:
        return self.poller.poll_once()

    def depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def handler(load_handler: Callable[..., ModuleType]) -> Callable[[dict[str, Any], Any], Any]:
    return load_handler("notifications", "dispatch_channel").lambda_handler


def poll_until_delivered(queue: Queue, deadline_seconds: float = 10.0) -> int:
    """Poll as Lambda's event source mapping would until the queue is empty; the number of polls that got a
    message (the clock is real here: SQS's visibility timeout is what delays the retry)."""
    received = 0
    stop = time.monotonic() + deadline_seconds
    while queue.depth() and time.monotonic() < stop:
        got = queue.poll()
        received += 1 if got else 0
        if not got:
            time.sleep(0.2)
    return received


def test_a_telegram_429_delays_the_message_then_it_is_delivered_exactly_once(
    providers: tuple[FakeDiscord, FakeTelegram], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given a verified Telegram chat that takes one message a second, which another sender has just used
    When a prize notification's message is polled from the Telegram queue until the queue is empty
    Then the first attempt earns a 429 with retry_after, the message stays queued (invisible for retry_after) and is
    delivered on a later receive, the chat got it exactly once and the delivery record is SENT."""
    _, fake = providers
    fake.set_rate_limit(chat_rate=1, chat_burst=1, bot_rate=30, bot_burst=30)
    link("ann", Channel.TELEGRAM, "4242")
    note = planned(Channel.TELEGRAM)
    queue = Queue("telegram", handler(load_handler), lambda_context)
    queue.send(ChannelMessage(Channel.TELEGRAM, (note,)))
    fake.answer("POST", f"/bot{fake.token}/sendMessage", {}, {"chat_id": "4242", "text": "someone else"})

    assert queue.poll() == 1
    assert [r["status"] for r in fake.refusals] == [429] and status(note, Channel.TELEGRAM) is DeliveryStatus.QUEUED
    assert queue.depth() == 1 and queue.poll() == 0  # invisible until retry_after has passed

    assert poll_until_delivered(queue) >= 1
    ours = [m for m in fake.messages if "Winter &lt;Cup&gt;" in m["text"]]
    assert len(ours) == 1 and status(note, Channel.TELEGRAM) is DeliveryStatus.SENT
    assert store.source_counts(note.source)[Channel.TELEGRAM][DeliveryStatus.SENT] == 1


def test_a_discord_429_delays_the_message_then_it_is_delivered_exactly_once(
    providers: tuple[FakeDiscord, FakeTelegram], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given a verified Discord webhook of one message a second, which another sender has just used
    When the notification's message is polled from the Discord queue until the queue is empty
    Then a 429 with retry_after delays it, it is delivered on a later receive, exactly once, and is SENT."""
    fake, _ = providers
    fake.set_rate_limit(1, 1.0)
    url = fake.create_webhook()
    link("ann", Channel.DISCORD, url)
    note = planned(Channel.DISCORD)
    queue = Queue("discord", handler(load_handler), lambda_context)
    queue.send(ChannelMessage(Channel.DISCORD, (note,)))
    fake.answer("POST", urllib.parse.urlsplit(url).path, {}, {"content": "someone else"})

    assert queue.poll() == 1 and [r["status"] for r in fake.refusals] == [429]
    assert poll_until_delivered(queue) >= 1
    ours = [m for m in fake.messages if "Winter \\<Cup\\>" in m["content"]]
    assert len(ours) == 1 and status(note, Channel.DISCORD) is DeliveryStatus.SENT


def test_the_same_message_twice_makes_one_provider_call(
    providers: tuple[FakeDiscord, FakeTelegram], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given the sample Discord queue message (events/notifications/dispatch_discord.json), its delivery planned and
    the user's webhook verified
    When the dispatcher gets that same SQS message twice, and another invocation holds the send lease of a second one
    Then Discord received the first once (the second delivery finds the record SENT and calls nothing), and the
    leased one is deferred without a provider call."""
    fake, _ = providers
    event = sample_event("notifications/dispatch_discord.json")
    [note] = from_wire(event["Records"][0]["body"]).notifications
    assert store.claim_delivery(note, Channel.DISCORD, DeliveryStatus.QUEUED, NOW)
    link(note.user_id, Channel.DISCORD, fake.create_webhook())
    dispatch = handler(load_handler)
    for _ in range(2):
        assert dispatch(event, lambda_context) == {"batchItemFailures": []}
    assert len(fake.messages) == 1 and status(note, Channel.DISCORD) is DeliveryStatus.SENT
    assert "Winter Cup" in fake.messages[0]["content"]

    other = planned(Channel.DISCORD, user=note.user_id, kind=NotificationType.PRIZE_PAID)
    now = clock.now()
    assert store.take_lease(other.notification_id, Channel.DISCORD, now, now + timedelta(minutes=2))
    result = channels.deliver(Channel.DISCORD, other)
    assert isinstance(result, channels.Later) and len(fake.messages) == 1
    assert status(other, Channel.DISCORD) is DeliveryStatus.QUEUED


@pytest.mark.parametrize("channel", [Channel.EMAIL, Channel.DISCORD, Channel.TELEGRAM, Channel.PUSH])
def test_a_user_without_the_channel_linked_is_suppressed(
    providers: tuple[FakeDiscord, FakeTelegram], channel: Channel
) -> None:
    """Given a user with no email address in the pool, no verified Discord or Telegram link (a pending one for
    Telegram) and no device
    When a notification queued for them on the channel is dispatched
    Then it is SUPPRESSED with no provider call, and the source's counts say so."""
    store.put_link(ChannelLink("bob", Channel.TELEGRAM, "77", LinkStatus.PENDING))
    note = planned(channel, user="bob")
    result = channels.deliver(channel, note)
    assert result == channels.Done(DeliveryStatus.SUPPRESSED, "no address")
    assert status(note, channel) is DeliveryStatus.SUPPRESSED
    fake_discord, fake_telegram = providers
    assert fake_discord.messages == [] and fake_telegram.messages == []
    counts = store.source_counts(note.source)[channel]
    assert counts[DeliveryStatus.SUPPRESSED] == 1 and counts[DeliveryStatus.QUEUED] == 0


def test_email_has_a_working_unsubscribe_link_and_list_unsubscribe_headers(
    providers: tuple[FakeDiscord, FakeTelegram], tables: dict[str, str]
) -> None:
    """Given a user with a verified email address in the user pool and a queued PRIZE_WON email
    When the email dispatcher delivers it
    Then SES sent one email to that address whose List-Unsubscribe header, List-Unsubscribe-Post (one-click) and
    HTML footer carry the same link to /api/notifications/unsubscribe, whose token reads back as (the user,
    PRIZE_WON); the event name is escaped in the HTML."""
    boto3.client("cognito-idp").admin_create_user(
        UserPoolId=tables["UserPool"],
        Username="ann",
        UserAttributes=[{"Name": "email", "Value": "ann@example.com"}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    note = planned(Channel.EMAIL)
    assert channels.deliver(Channel.EMAIL, note).status is DeliveryStatus.SENT  # type: ignore[union-attr]
    from moto.ses.models import ses_backends

    [sent] = ses_backends["123456789012"]["us-east-1"].sent_messages
    message = email.message_from_string(sent.raw_data, policy=email.policy.default)
    assert message["To"] == "ann@example.com" and message["Subject"] == "You won a prize in Winter <Cup>"
    header_url = str(message["List-Unsubscribe"]).strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.get_body(("html",)).get_content()
    assert "Winter &lt;Cup&gt;" in html and "<Cup>" not in html
    [footer_url] = re.findall(r'href="([^"]+)"', html)
    assert footer_url.replace("&amp;", "&") == header_url
    parts = urllib.parse.urlsplit(header_url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "arena.example", "/api/notifications/unsubscribe")
    token = urllib.parse.parse_qs(parts.query)["token"][0]
    assert read_unsubscribe_token(token, SECRET) == ("ann", NotificationType.PRIZE_WON)
    assert header_url in message.get_body(("plain",)).get_content()


def test_a_gone_address_fails_the_delivery_and_breaks_the_link(providers: tuple[FakeDiscord, FakeTelegram]) -> None:
    """Given a Telegram chat that blocked the bot, a Discord webhook that was deleted, and a device whose endpoint
    SNS disabled
    When a notification is dispatched to each
    Then each delivery is FAILED with the provider's reason, the links are BROKEN and the device is removed."""
    fake_discord, fake_telegram = providers
    fake_telegram.block("555")
    link("ann", Channel.TELEGRAM, "555")
    url = fake_discord.create_webhook()
    fake_discord.delete_webhook(url.rsplit("/", 2)[1])
    link("ann", Channel.DISCORD, url)
    from arena.adapters import push

    arn = push.create_endpoint("ios", "b" * 64, "ann")
    store.put_device(DeviceRecord("ann", "device-1", "ios", arn, NOW))
    boto3.client("sns").set_endpoint_attributes(EndpointArn=arn, Attributes={"Enabled": "false"})
    for channel in (Channel.TELEGRAM, Channel.DISCORD, Channel.PUSH):
        note = planned(channel)
        result = channels.deliver(channel, note)
        assert isinstance(result, channels.Done) and result.status is DeliveryStatus.FAILED
        assert status(note, channel) is DeliveryStatus.FAILED
    assert store.get_link("ann", Channel.TELEGRAM).status is LinkStatus.BROKEN  # type: ignore[union-attr]
    assert store.get_link("ann", Channel.DISCORD).status is LinkStatus.BROKEN  # type: ignore[union-attr]
    assert store.devices_of("ann") == []


def test_push_reaches_every_device_and_a_held_message_waits(providers: tuple[FakeDiscord, FakeTelegram]) -> None:
    """Given a user with two registered devices, and a message held by quiet hours until an hour from now
    When a notification is pushed, and the held message is dispatched
    Then both devices got the title and body once and the delivery is SENT; the held one is deferred (Later, about
    an hour) without a provider call."""
    from arena.adapters import push
    from moto.sns.models import sns_backends

    arns = [push.create_endpoint("ios", token * 64, "ann") for token in "cd"]
    for i, arn in enumerate(arns):
        store.put_device(DeviceRecord("ann", f"device-{i}", "ios", arn, NOW))
    note = planned(Channel.PUSH)
    result = channels.deliver(Channel.PUSH, note)
    assert isinstance(result, channels.Done) and result.status is DeliveryStatus.SENT
    assert status(note, Channel.PUSH) is DeliveryStatus.SENT
    endpoints = sns_backends["123456789012"]["us-east-1"].platform_endpoints
    for arn in arns:
        [payload] = endpoints[arn].messages.values()
        assert json.loads(json.loads(payload)["APNS"])["aps"]["alert"]["title"] == "You won a prize in Winter <Cup>"

    held = planned(Channel.PUSH, kind=NotificationType.MILESTONE)
    [deferred] = channels.dispatch(ChannelMessage(Channel.PUSH, (held,), not_before=clock.now() + timedelta(hours=1)))
    assert isinstance(deferred, channels.Later) and 3_500 < deferred.seconds <= 3_600
    assert status(held, Channel.PUSH) is DeliveryStatus.QUEUED


def test_an_error_before_the_provider_answered_frees_the_lease(
    providers: tuple[FakeDiscord, FakeTelegram], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given a queued email while the function cannot reach the user pool (USER_POOL_ID unset)
    When the dispatcher delivers it
    Then the error propagates (the queue retries the message), the delivery stays QUEUED and its send lease is free
    for that retry."""
    note = planned(Channel.EMAIL)
    monkeypatch.setenv("USER_POOL_ID", "")
    factories.reset()
    with pytest.raises(RuntimeError):
        channels.deliver(Channel.EMAIL, note)
    assert status(note, Channel.EMAIL) is DeliveryStatus.QUEUED
    now = clock.now()
    assert store.take_lease(note.notification_id, Channel.EMAIL, now, now + timedelta(minutes=1))


def test_an_email_message_of_unrecorded_deliveries_sends_each_once_and_counts_once(
    providers: tuple[FakeDiscord, FakeTelegram], tables: dict[str, str]
) -> None:
    """Given 3 users with verified addresses and 1 without, and one email message of their 4 reminders as the
    planner queues them (no delivery records: the planner counted them QUEUED when it marked its page)
    When the email dispatcher handles the message, and then the same message again
    Then 3 emails went out once each, the 4th delivery is SUPPRESSED, every record is final, the source counts
    3 sent and 1 suppressed with nothing left queued; the second time nothing is sent and no count moves."""
    from moto.ses.models import ses_backends

    pool = boto3.client("cognito-idp")
    for user in ("em-1", "em-2", "em-3"):
        pool.admin_create_user(
            UserPoolId=tables["UserPool"],
            Username=user,
            UserAttributes=[
                {"Name": "email", "Value": f"{user}@example.com"},
                {"Name": "email_verified", "Value": "true"},
            ],
            MessageAction="SUPPRESS",
        )
    source = "started:ev-pack"
    notes = tuple(
        Notification(
            notification_id(source, user, NotificationType.EVENT_REMINDER, NOW),
            user,
            NotificationType.EVENT_REMINDER,
            source,
            NOW,
            event_id="ev-pack",
            data={"event_name": "Pack Cup", "reminder": "started"},
        )
        for user in ("em-1", "em-2", "em-3", "em-4")
    )
    store.count_queued({Channel.EMAIL.value: {source: len(notes)}})
    message = ChannelMessage(Channel.EMAIL, notes)
    outbox = ses_backends["123456789012"]["us-east-1"].sent_messages

    results = channels.dispatch(message)

    assert [r.status for r in results] == [DeliveryStatus.SENT] * 3 + [DeliveryStatus.SUPPRESSED]  # type: ignore[union-attr]
    sent_to = sorted(str(email.message_from_string(m.raw_data, policy=email.policy.default)["To"]) for m in outbox)
    assert sent_to == [f"em-{i}@example.com" for i in (1, 2, 3)]
    assert [status(n, Channel.EMAIL) for n in notes] == [DeliveryStatus.SENT] * 3 + [DeliveryStatus.SUPPRESSED]
    counts = store.source_counts(source)[Channel.EMAIL]
    assert (counts[DeliveryStatus.SENT], counts[DeliveryStatus.SUPPRESSED], counts[DeliveryStatus.QUEUED]) == (3, 1, 0)

    assert channels.dispatch(message) == [channels.Done(None)] * 4
    assert len(outbox) == 3
    assert store.source_counts(source)[Channel.EMAIL] == counts
