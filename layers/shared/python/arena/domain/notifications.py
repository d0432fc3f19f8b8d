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
- `HOLD#<yyyy-mm-ddThh:mm>` / `DIGEST#<user>#<day>`  a user's digest of that local day, due at that minute
- `PLAN#<source id>` / `PAGE#<digest>`          a planner page that finished (its recipients' digest)
- `INAPP#<digest>` / `BATCH`                    an in-app message stored (its notification ids' digest)
- `SWEEP` / `MINUTE`                            the last minute the holds sweep finished
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ulid import ULID

from arena import clock


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
    may go out. The in-app queue's messages carry up to 100 notifications each (4 BatchWriteItems); the other
    channels one each (one provider call)."""

    channel: Channel
    notifications: tuple[Notification, ...]
    not_before: datetime | None = None


# ------------------------------------------------------------------------------------------------ wire


def notification_to_dict(notification: Notification) -> dict[str, Any]:
    """A notification as JSON-ready values (times ISO, enums as values); `data` is already JSON values."""
    return {
        "notification_id": notification.notification_id,
        "user_id": notification.user_id,
        "type": notification.type.value,
        "source": notification.source,
        "created_at": clock.to_iso(notification.created_at),
        "event_id": notification.event_id,
        "data": notification.data,
        "locale": notification.locale,
    }


def notification_from_dict(values: Mapping[str, Any]) -> Notification:
    return Notification(
        notification_id=str(values["notification_id"]),
        user_id=str(values["user_id"]),
        type=NotificationType(values["type"]),
        source=str(values["source"]),
        created_at=clock.from_iso(str(values["created_at"])),
        event_id=values.get("event_id"),
        data=dict(values.get("data") or {}),
        locale=str(values.get("locale") or "en"),
    )


def to_wire(message: ChannelMessage) -> str:
    """A channel message as the SQS body: compact JSON, times ISO-8601 UTC."""
    body = {
        "channel": message.channel.value,
        "notifications": [notification_to_dict(n) for n in message.notifications],
        "not_before": clock.to_iso(message.not_before) if message.not_before else None,
    }
    return json.dumps(body, separators=(",", ":"), default=_json_default)


def from_wire(body: str) -> ChannelMessage:
    """The SQS body back; a body that is not a channel message raises ValueError (the consumer reports it failed)."""
    try:
        values = json.loads(body)
        return ChannelMessage(
            channel=Channel(values["channel"]),
            notifications=tuple(notification_from_dict(n) for n in values["notifications"]),
            not_before=clock.from_iso(values["not_before"]) if values.get("not_before") else None,
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a channel message: {error}") from error


def _json_default(value: Any) -> Any:
    # Templates' data may carry Decimals (amounts) and datetimes: decimal strings and ISO on the wire.
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return clock.to_iso(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


# ------------------------------------------------------------------------------------------------ links


class LinkStatus(StrEnum):
    """A Discord webhook or Telegram chat: PENDING until the code sent through it is verified, VERIFIED (messages
    go out), BROKEN (the provider refused it for good: webhook deleted, bot blocked; relinking starts again)."""

    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    BROKEN = "BROKEN"


# ------------------------------------------------------------------------------------------------ preferences

# Channels on when a user never said otherwise: in-app for everything; email for prizes and reminders.
EMAIL_BY_DEFAULT = frozenset(
    {
        NotificationType.EVENT_REMINDER,
        NotificationType.PRIZE_WON,
        NotificationType.PRIZE_CLAIMABLE,
        NotificationType.CLAIM_DEADLINE,
        NotificationType.PRIZE_PAID,
    }
)
# Channels a message can only reach once the user linked them (a verified webhook / chat, a registered device).
LINKED_CHANNELS = frozenset({Channel.DISCORD, Channel.TELEGRAM, Channel.PUSH})
# Types whose preferences the user sets (DIGEST follows RANK_CHANGE's channels).
CONFIGURABLE_TYPES = tuple(t for t in NotificationType if t is not NotificationType.DIGEST)


def default_enabled(kind: NotificationType, channel: Channel) -> bool:
    if kind is NotificationType.DIGEST:
        kind = NotificationType.RANK_CHANGE
    if channel is Channel.IN_APP:
        return True
    return channel is Channel.EMAIL and kind in EMAIL_BY_DEFAULT


def valid_timezone(name: str) -> bool:
    """An IANA zone this runtime knows (the API refuses anything else)."""
    if not isinstance(name, str) or not name or len(name) > 64 or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@dataclass(frozen=True)
class QuietHours:
    """Local wall-clock hours [start, end) in `timezone` during which only the in-app inbox hears anything; the
    other channels are held until they end. start > end spans midnight (22:00-07:00); start == end is never."""

    start: time
    end: time
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if not valid_timezone(self.timezone):
            raise ValueError(f"unknown time zone {self.timezone!r}")

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone)).time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def ends_after(self, moment: datetime) -> datetime:
        """The first moment at or after `moment` (inside quiet hours) when they end, in UTC. A wall-clock end that
        a DST jump skips resolves forward (zoneinfo's fold=0 reading)."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        for days in range(0, 3):
            day = (local + timedelta(days=days)).date()
            end = datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC)
            if end > moment:
                return end
        raise AssertionError("quiet hours end within two days")  # pragma: no cover - start != end always ends


@dataclass(frozen=True)
class DigestSettings:
    """The daily digest of rank changes: when on, rank changes are collected and told once a day at `hour` local
    time (the quiet hours' zone, else UTC) as one DIGEST notification on RANK_CHANGE's channels."""

    enabled: bool = False
    hour: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.hour <= 23:
            raise ValueError("digest hour is 0-23")


@dataclass(frozen=True)
class Preferences:
    """One user's choices. `channels` holds only what differs from the defaults ((type, channel) -> on/off), so a
    default that changes reaches everyone who never touched it."""

    channels: Mapping[tuple[NotificationType, Channel], bool] = field(default_factory=dict)
    quiet_hours: QuietHours | None = None
    digest: DigestSettings = field(default_factory=DigestSettings)
    locale: str = "en"

    def enabled(self, kind: NotificationType, channel: Channel) -> bool:
        if kind is NotificationType.DIGEST:
            kind = NotificationType.RANK_CHANGE
        return self.channels.get((kind, channel), default_enabled(kind, channel))

    def enabled_channels(self, kind: NotificationType) -> frozenset[Channel]:
        return frozenset(c for c in Channel if self.enabled(kind, c))

    @property
    def timezone(self) -> str:
        return self.quiet_hours.timezone if self.quiet_hours else "UTC"

    def matrix(self) -> dict[NotificationType, dict[Channel, bool]]:
        """Every configurable type x channel, defaults filled in (what the API shows)."""
        return {kind: {c: self.enabled(kind, c) for c in Channel} for kind in CONFIGURABLE_TYPES}

    def with_matrix(self, matrix: Mapping[NotificationType, Mapping[Channel, bool]]) -> Preferences:
        """These preferences with the given switches (any subset of the matrix); values equal to the default are
        stored as no override."""
        merged = dict(self.channels)
        for kind, row in matrix.items():
            if kind is NotificationType.DIGEST:
                continue  # follows RANK_CHANGE
            for channel, on in row.items():
                if on == default_enabled(kind, channel):
                    merged.pop((kind, channel), None)
                else:
                    merged[(kind, channel)] = bool(on)
        return replace(self, channels=merged)

    def opted_in_types(self) -> frozenset[NotificationType]:
        """Types for which the user turned on a channel that is off by default: the broadcast audiences
        (NEW_EVENT, ANNOUNCEMENT without an event) are exactly these users (the OPTIN#<type> items)."""
        return frozenset(
            kind for (kind, channel), on in self.channels.items() if on and not default_enabled(kind, channel)
        )

    def digest_due(self, moment: datetime) -> datetime:
        """When the digest that a rank change at `moment` goes into is sent: the next `digest.hour`:00 local time
        strictly after `moment`, in UTC."""
        zone = ZoneInfo(self.timezone)
        local = moment.astimezone(zone)
        for days in range(0, 3):
            day = (local + timedelta(days=days)).date()
            due = datetime.combine(day, time(self.digest.hour), tzinfo=zone).astimezone(UTC)
            if due > moment:
                return due
        raise AssertionError("a digest hour comes within two days")  # pragma: no cover

    def digest_day(self, due: datetime) -> str:
        """The local date (yyyy-mm-dd) of a digest sent at `due`: the DIGEST#<day> entries' key."""
        return due.astimezone(ZoneInfo(self.timezone)).date().isoformat()


def preferences_to_dict(prefs: Preferences) -> dict[str, Any]:
    """Stored form (and the wire form's basis): overrides as {type: {channel: bool}}."""
    channels: dict[str, dict[str, bool]] = {}
    for (kind, channel), on in sorted(prefs.channels.items()):
        channels.setdefault(kind.value, {})[channel.value] = on
    quiet = prefs.quiet_hours
    return {
        "channels": channels,
        "quiet_hours": (
            {"start": quiet.start.strftime("%H:%M"), "end": quiet.end.strftime("%H:%M"), "timezone": quiet.timezone}
            if quiet
            else None
        ),
        "digest": {"enabled": prefs.digest.enabled, "hour": prefs.digest.hour},
        "locale": prefs.locale,
    }


def preferences_from_dict(values: Mapping[str, Any]) -> Preferences:
    channels: dict[tuple[NotificationType, Channel], bool] = {}
    for kind, row in (values.get("channels") or {}).items():
        for channel, on in row.items():
            channels[(NotificationType(kind), Channel(channel))] = bool(on)
    quiet = values.get("quiet_hours")
    digest = values.get("digest") or {}
    return Preferences(
        channels=channels,
        quiet_hours=(
            QuietHours(time.fromisoformat(quiet["start"]), time.fromisoformat(quiet["end"]), quiet["timezone"])
            if quiet
            else None
        ),
        digest=DigestSettings(bool(digest.get("enabled", False)), int(digest.get("hour", 8))),
        locale=str(values.get("locale") or "en"),
    )


# ------------------------------------------------------------------------------------------------ throttle


def throttle_allows(last_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """Rank changes: at most one per user per event per window. `last_at` is when the last one went out."""
    return last_at is None or now - last_at >= window


# ------------------------------------------------------------------------------------------------ plan


@dataclass(frozen=True)
class PlannedDelivery:
    """What the planner does with one (notification, channel): QUEUED (to the channel's queue now), HELD (quiet
    hours: queued by the sweep at `not_before`) or SUPPRESSED (preferences, an unlinked channel, the digest)."""

    channel: Channel
    status: DeliveryStatus
    not_before: datetime | None = None


def plan(
    notification: Notification,
    preferences: Preferences,
    linked_channels: frozenset[Channel] | set[Channel],
    now: datetime,
    channels: frozenset[Channel] | None = None,
) -> list[PlannedDelivery]:
    """Per channel considered (every channel, or `channels` when the cause names them, e.g. an announcement's), in
    Channel order: off by preference or not linked -> SUPPRESSED; a rank change while the digest is on ->
    SUPPRESSED everywhere (the planner adds it to the digest); in quiet hours every channel but in-app -> HELD until
    they end; else QUEUED. In-app and email need no link (the inbox always exists; email goes to the account's
    address). Pure: the same inputs give the same plan."""
    considered = [c for c in Channel if channels is None or c in channels]
    if notification.type is NotificationType.RANK_CHANGE and preferences.digest.enabled:
        return [PlannedDelivery(c, DeliveryStatus.SUPPRESSED) for c in considered]
    quiet = preferences.quiet_hours
    held_until = quiet.ends_after(now) if quiet is not None and quiet.contains(now) else None
    planned: list[PlannedDelivery] = []
    for channel in considered:
        if not preferences.enabled(notification.type, channel) or (
            channel in LINKED_CHANNELS and channel not in linked_channels
        ):
            planned.append(PlannedDelivery(channel, DeliveryStatus.SUPPRESSED))
        elif held_until is not None and channel is not Channel.IN_APP:
            planned.append(PlannedDelivery(channel, DeliveryStatus.HELD, held_until))
        else:
            planned.append(PlannedDelivery(channel, DeliveryStatus.QUEUED))
    return planned


def hold_minute(moment: datetime) -> str:
    """The HOLD#<minute> partition a held delivery waits in: the minute it may go out (rounded up, UTC)."""
    moment = moment.astimezone(UTC)
    if moment.second or moment.microsecond:
        moment = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return moment.strftime("%Y-%m-%dT%H:%M")


def minute_of(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
