"""The external channels' dispatcher: one loop for email, Discord, Telegram and push, parametrised by channel.

For each notification of a channel queue's message (email: up to 10 a message, the others one):

1. the delivery records of the message are read at once (one BatchGetItem): a final one means this delivery was
   handled before - nothing is sent again;
2. the send lease (arena/store/notifications.py `lease_delivery`) is taken: one conditional write that creates the
   record QUEUED when the planner queued the delivery without one (it records only HELD deliveries), or leases the
   open record, so two invocations holding copies of one message never both call the provider;
3. the address: email - the user's verified address in the user pool; Discord / Telegram - the user's VERIFIED
   link; push - the user's devices. None: SUPPRESSED (the user has not linked that channel);
4. render (arena/services/notifications/templates.py; email gets its signed unsubscribe link), send;
5. the provider's outcome: Sent -> SENT; PermanentFailure -> FAILED, and a gone address (deleted webhook, blocked
   bot, disabled device) is marked BROKEN / removed so nothing is sent there again; RetryAfter (a 429, SES
   throttling) or TransientFailure (timeout, 5xx) -> the lease is given back and the message is made visible
   again after the provider's retry_after (or a backoff growing with the receive count), then reported as a batch
   item failure: it comes back later, and after the queue's maxReceiveCount it lands in its DLQ (alarmed), still
   open, so a redrive sends it.

Idempotent: a redelivered message finds its records final (or leased) and calls no provider. The source's counts
move once per message (one update per source, not one per notification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3

from arena import clock
from arena.adapters import discord, email, identity, push, telegram
from arena.adapters.chat_http import Outcome, PermanentFailure, RetryAfter, Sent, TransientFailure
from arena.config import settings
from arena.domain.notifications import Channel, ChannelMessage, DeliveryStatus, LinkStatus, Notification, from_wire
from arena.domain.unsubscribe import unsubscribe_token
from arena.factories import cached
from arena.observability import count, logger
from arena.services.notifications.templates import render
from arena.store import notifications as store

EXTERNAL = (Channel.EMAIL, Channel.DISCORD, Channel.TELEGRAM, Channel.PUSH)
# Longer than any one provider call (PROVIDER_TIMEOUT_SECONDS, at most 60) and its pacing wait.
LEASE = timedelta(seconds=120)
# SQS's limit on a message's visibility.
MAX_VISIBILITY_SECONDS = 43_200
BACKOFF_BASE_SECONDS, BACKOFF_CAP_SECONDS = 30, 900


class Deferred(Exception):
    """The message must come back later (its visibility was already set): the batch reports it as failed."""

    def __init__(self, seconds: int, reason: str) -> None:
        super().__init__(f"deferred {seconds} s: {reason}")
        self.seconds = seconds
        self.reason = reason


@dataclass(frozen=True)
class Done:
    status: DeliveryStatus | None  # None: nothing to do (handled before, or no record)
    detail: str | None = None


@dataclass(frozen=True)
class Later:
    seconds: float
    reason: str


Result = Done | Later


@cached
def _sqs() -> Any:
    return boto3.client("sqs")


@cached
def _queue_url(queue_arn: str) -> str:
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return str(_sqs().get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def backoff_seconds(receive_count: int) -> int:
    """How long a transient failure waits before the next attempt: 30 s, 60 s, 120 s ... at most 15 minutes."""
    return int(min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, receive_count - 1)))


def dispatch_record(record: dict[str, Any]) -> list[Result]:
    """One SQS record of a channel's queue (the message names its channel). Raises Deferred (after making the
    message visible again at the right time) when it must come back; returns what happened to each notification
    otherwise."""
    message = from_wire(record["body"])
    receive_count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", "1"))
    results = dispatch(message, receive_count=receive_count)
    waits = [r for r in results if isinstance(r, Later)]
    if waits:
        seconds = max(1, min(MAX_VISIBILITY_SECONDS, math.ceil(max(w.seconds for w in waits))))
        _sqs().change_message_visibility(
            QueueUrl=_queue_url(record["eventSourceARN"]),
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=seconds,
        )
        raise Deferred(seconds, "; ".join(sorted({w.reason for w in waits})))
    return results


def dispatch(message: ChannelMessage, *, receive_count: int = 1) -> list[Result]:
    """Deliver each notification of the message on its channel (see the module's docstring)."""
    now = clock.now()
    if message.not_before is not None and message.not_before > now:
        seconds = (message.not_before - now).total_seconds()
        return [Later(seconds, "held until quiet hours end")]
    channel = message.channel
    if channel not in EXTERNAL:
        raise ValueError(f"{channel} is not an external channel")
    known = store.deliveries([(n.notification_id, channel) for n in message.notifications])
    counts: store.Counts = {}
    try:
        return [
            deliver(
                channel,
                n,
                receive_count=receive_count,
                status=known.get((n.notification_id, channel)),
                counts=counts,
            )
            for n in message.notifications
        ]
    finally:
        store.bump_counts(counts)


def deliver(
    channel: Channel,
    notification: Notification,
    *,
    receive_count: int = 1,
    status: DeliveryStatus | None = None,
    counts: store.Counts | None = None,
) -> Result:
    """One (notification, channel), at most one provider call per delivery record. `status`: the record's, read
    by the caller (None: no record yet, or not read); `counts`: where the count changes gather (None: at once)."""
    if channel not in EXTERNAL:
        raise ValueError(f"{channel} is not an external channel")
    now = clock.now()
    nid = notification.notification_id
    if status is not None and status not in (DeliveryStatus.QUEUED, DeliveryStatus.HELD):
        return Done(None)  # handled before: a redelivered message
    if not store.lease_delivery(notification, channel, now, now + LEASE):
        again = store.delivery(nid, channel)
        if again is None or again.status not in (DeliveryStatus.QUEUED, DeliveryStatus.HELD):
            return Done(None)
        return Later(LEASE.total_seconds(), "another invocation is sending it")
    try:
        outcome, on_broken = _send(channel, notification)
    except Exception:
        # A bug or an AWS error before any provider answered: free the lease so the queue's retry may send.
        store.release_lease(nid, channel)
        raise
    return _settle(channel, notification, outcome, on_broken, receive_count, counts)


def _settle(
    channel: Channel,
    notification: Notification,
    outcome: Outcome | None,
    on_broken: Any,
    receive_count: int,
    counts: store.Counts | None = None,
) -> Result:
    nid, now = notification.notification_id, clock.now()
    if outcome is None:
        store.finish_delivery(nid, channel, DeliveryStatus.SUPPRESSED, now, f"no {channel.value} address", counts)
        count("NotificationSuppressed")
        return Done(DeliveryStatus.SUPPRESSED, "no address")
    if isinstance(outcome, Sent):
        store.finish_delivery(nid, channel, DeliveryStatus.SENT, now, outcome.message_id, counts)
        count("NotificationSent")
        return Done(DeliveryStatus.SENT, outcome.message_id)
    if isinstance(outcome, PermanentFailure):
        if outcome.link_broken and on_broken is not None:
            on_broken()
        store.finish_delivery(nid, channel, DeliveryStatus.FAILED, now, outcome.reason, counts)
        logger.warning("delivery failed", extra={"notification_id": nid, "channel": channel, "reason": outcome.reason})
        count("NotificationFailed")
        return Done(DeliveryStatus.FAILED, outcome.reason)
    store.release_lease(nid, channel)
    if isinstance(outcome, RetryAfter):
        count("NotificationRateLimited")
        return Later(outcome.seconds, outcome.reason)
    assert isinstance(outcome, TransientFailure)
    logger.warning(
        "delivery will be retried", extra={"notification_id": nid, "channel": channel, "reason": outcome.reason}
    )
    count("NotificationRetried")
    return Later(backoff_seconds(receive_count), outcome.reason)


def unsubscribe_url(notification: Notification) -> str:
    token = unsubscribe_token(notification.user_id, notification.type, settings().notifications_signing_secret)
    return f"{settings().public_base_url.rstrip('/')}/api/notifications/unsubscribe?token={token}"


def _send(channel: Channel, notification: Notification) -> tuple[Outcome | None, Any]:
    """The provider's outcome (None: the user has no address on this channel) and what to do if the address is
    gone."""
    user_id, now = notification.user_id, clock.now()
    if channel is Channel.EMAIL:
        address = identity.email_of(user_id)
        if address is None:
            return None, None
        link = unsubscribe_url(notification)
        rendered = render(notification, channel, unsubscribe_url=link)
        assert rendered.html is not None
        return email.send(address, rendered.title, rendered.body, rendered.html, unsubscribe_url=link), None
    if channel is Channel.PUSH:
        return _push(notification)
    chat = store.get_link(user_id, channel)
    if chat is None or chat.status is not LinkStatus.VERIFIED:
        return None, None
    rendered = render(notification, channel)
    if channel is Channel.DISCORD:
        outcome = discord.send(chat.address, rendered.body)
    else:
        outcome = telegram.send(chat.address, rendered.body)
    return outcome, lambda: store.mark_link_broken(user_id, channel, now)


def _push(notification: Notification) -> tuple[Outcome | None, Any]:
    """Every device of the user: Sent when one got it; a device whose endpoint is gone is removed."""
    devices = store.devices_of(notification.user_id)
    if not devices:
        return None, None
    rendered = render(notification, Channel.PUSH)
    data = {"notification_id": notification.notification_id, "type": notification.type.value}
    if notification.event_id:
        data["event_id"] = notification.event_id
    outcomes = []
    for device in devices:
        outcome = push.publish(device.endpoint_arn, rendered.title, rendered.body, data)
        if isinstance(outcome, PermanentFailure) and outcome.link_broken:
            store.delete_device(device.user_id, device.device_id)
            push.delete_endpoint(device.endpoint_arn)
        outcomes.append(outcome)
    sent = [o for o in outcomes if isinstance(o, Sent)]
    if sent:
        return sent[0], None
    waits = [o for o in outcomes if isinstance(o, RetryAfter | TransientFailure)]
    if waits:
        return waits[0], None
    return PermanentFailure("; ".join(o.reason for o in outcomes if isinstance(o, PermanentFailure))), None
