"""Notifications, pure: the types a trader can be told about, the channels, the notification and the message a
channel's queue carries, and the NotificationsTable's key layout. No I/O.

Pipeline: a domain event on the bus -> the planner (who is told, on which channels: preferences, eligibility,
quiet hours, throttles, digests) -> one SQS queue per channel -> that channel's dispatcher. A notification's id is
derived from what caused it and whom it tells (`notification_id`), so a redelivered domain event or planner batch
plans the same ids again and each (notification, channel) is delivered once.

NotificationsTable keys (pk / sk):
- `USER#<user>` / `INBOX#<notification id>`    in-app inbox item (ids sort by time: newest last), TTL 90 days
- `USER#<user>` / `READMARK`                    "read all" watermark: every inbox id <= it is read
- `USER#<user>` / `PREFS`                       preferences (per type, per channel; quiet hours; digest), versioned
- `USER#<user>` / `LINK#<channel>`              Discord webhook / Telegram chat id, PENDING until its code is verified
- `USER#<user>` / `DEVICE#<token digest>`       a mobile push device (SNS platform endpoint ARN)
- `USER#<user>` / `THROTTLE#<type>#<event>`     when this type last went out for this event (rank-change throttle)
- `USER#<user>` / `DIGEST#<yyyy-mm-dd>#<id>`    a rank change held for that day's digest
- `NOTIFICATION#<id>` / `DELIVERY#<channel>`    the delivery record: exactly-once per (notification, channel)
- `SOURCE#<source id>` / `COUNT#<channel>`      delivery counts of one source (e.g. an admin announcement)
- `OPTIN#<type>` / `<user>`                     users who opted in to a type on a non-default channel (audiences)
- `HOLD#<yyyy-mm-ddThh:mm>` / `<id>#<channel>`  a delivery held by quiet hours until that minute
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ulid import ULID


class NotificationType(StrEnum):
    """What a trader can be told about (the brief's Phase 6.1)."""

    EVENT_REMINDER = "event_reminder"  # before start (24 h, 1 h) and before end (1 h)
    RANK_CHANGE = "rank_change"  # entering/leaving the prize zone or the top 10, passing a rival
    PRIZE_WON = "prize_won"
    PRIZE_CLAIMABLE = "prize_claimable"  # with its claim deadline
    CLAIM_DEADLINE = "claim_deadline"  # the claim deadline is near and the prize is unclaimed
    PRIZE_PAID = "prize_paid"
    NEW_EVENT = "new_event"  # an event the user is eligible for was published
    MILESTONE = "milestone"  # the real-time milestones (first trade, qualified, prize zone)
    ANNOUNCEMENT = "announcement"  # an admin's or event manager's announcement
    DIGEST = "digest"  # the daily digest of rank changes


class Channel(StrEnum):
    IN_APP = "in_app"
    EMAIL = "email"
    DISCORD = "discord"
    TELEGRAM = "telegram"
    PUSH = "push"


class DeliveryStatus(StrEnum):
    """One (notification, channel): QUEUED by the planner, then SENT, FAILED (retries exhausted or a permanent
    refusal), SUPPRESSED (preferences, quiet hours turned into a digest, an unlinked channel) or HELD (quiet hours:
    released when they end). Only forward: QUEUED|HELD -> SENT|FAILED|SUPPRESSED, never back."""

    QUEUED = "QUEUED"
    HELD = "HELD"
    SENT = "SENT"
    FAILED = "FAILED"
    SUPPRESSED = "SUPPRESSED"


def notification_id(source: str, user_id: str, kind: NotificationType, at: datetime) -> str:
    """The id of the notification `source` (a domain event's id or another stable key of what caused it) gives
    `user_id`: a ULID whose time part is `at` (so inbox ids sort by time) and whose random part is a digest of
    (source, user, type), so planning the same cause twice gives the same id."""
    digest = hashlib.sha256(f"{source}|{user_id}|{kind.value}".encode()).digest()
    millis = int(at.timestamp() * 1000)
    return str(ULID.from_bytes(millis.to_bytes(6, "big") + digest[:10]))


@dataclass(frozen=True)
class Notification:
    """One thing to tell one user: what the templates render (`data` holds the type's fields: decimal strings,
    ISO times) and where it came from (`source`: the domain event's id, for counts and idempotency)."""

    notification_id: str
    user_id: str
    type: NotificationType
    source: str
    created_at: datetime
    event_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    locale: str = "en"


@dataclass(frozen=True)
class ChannelMessage:
    """What one channel queue's message carries: the notification, and for a held delivery the earliest time it
    may go out. The in-app queue's messages carry up to 25 notifications each (one BatchWriteItem); the other
    channels one each (one provider call)."""

    channel: Channel
    notifications: tuple[Notification, ...]
    not_before: datetime | None = None
