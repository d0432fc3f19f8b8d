"""Notifications as the API shows them: a trader's inbox, their preferences (per type and channel, quiet hours,
the daily digest, locale), linked Discord/Telegram channels and push devices, and admin announcements."""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, model_validator

from arena.domain import text
from arena.domain.notifications import Channel, DeliveryStatus, NotificationType
from arena.models.common import ApiModel, FreeText, Reason, UtcDatetime

# ------------------------------------------------------------------------------------------------ inbox


class InboxNotification(BaseModel):
    """One in-app notification: what the templates rendered when it was stored."""

    notification_id: str = Field(description="Sorts by time: newer ids are greater.")
    type: NotificationType
    event_id: str | None = None
    title: str = Field(description="Plain text: escape it when rendering.")
    body: str = Field(description="Plain text: escape it when rendering.")
    data: dict[str, Any] = Field(default_factory=dict, description="The type's fields (decimal strings, ISO times).")
    created_at: UtcDatetime
    read_at: UtcDatetime | None = None
    read: bool

    @classmethod
    def of(cls, item: Any) -> InboxNotification:
        """From the store's InboxItem (arena/store/notifications.py)."""
        return cls(
            notification_id=item.notification_id,
            type=item.type,
            event_id=item.event_id,
            title=item.title,
            body=item.body,
            data=item.data,
            created_at=item.created_at,
            read_at=item.read_at,
            read=item.read_at is not None,
        )


class InboxPage(BaseModel):
    items: list[InboxNotification]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get older items; null at the end.")

    @classmethod
    def of(cls, page: tuple[list[Any], str | None]) -> InboxPage:
        items, next_cursor = page
        return cls(items=[InboxNotification.of(item) for item in items], next_cursor=next_cursor)


UNREAD_CAP = 99


class UnreadCount(BaseModel):
    count: int = Field(ge=0, description="Unread in-app notifications, counted up to `cap`.")
    capped: bool = Field(description="True when there are more than `cap`: show `99+`.")
    cap: int = UNREAD_CAP

    @classmethod
    def of(cls, counted: int) -> UnreadCount:
        """From a count taken up to cap + 1 (more than the cap: `capped`)."""
        return cls(count=min(counted, UNREAD_CAP), capped=counted > UNREAD_CAP)


class ReadResult(BaseModel):
    notification_id: str
    read: bool


# ------------------------------------------------------------------------------------------------ preferences


def _iana_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as refused:
        raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Paris") from refused
    return value


# An IANA name: letters, digits and `/ _ + -` only (ZoneInfo would otherwise read a path such as ../../etc/passwd).
TimeZoneName = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$"),
    AfterValidator(_iana_zone),
]
Locale = Annotated[
    str,
    Field(
        pattern=r"^[a-z]{2,3}(-[A-Z]{2})?$",
        max_length=6,
        description="BCP 47 language (and region): en, fr, pt-BR. Untranslated locales fall back to en.",
    ),
]


class QuietHours(ApiModel):
    """Hours in the user's own time zone when nothing but the in-app inbox reaches them; what would have gone
    out is held until they end. `end` before `start` spans midnight (22:00 -> 07:00)."""

    start: time = Field(description="Local time, HH:MM.")
    end: time = Field(description="Local time, HH:MM; equal to start is refused.")
    timezone: TimeZoneName = Field(description="IANA time zone, e.g. Europe/Paris.")

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours must not start and end at the same time")
        return self


class DigestSettings(ApiModel):
    """Rank changes gathered into one daily digest instead of one notification each."""

    enabled: bool = False
    hour: int = Field(default=8, ge=0, le=23, description="Local hour (in the quiet hours' time zone, else UTC).")


ChannelSwitches = dict[Channel, bool]


class NotificationPreferences(BaseModel):
    """Every type x channel switch (the defaults where the user chose nothing), quiet hours, digest, locale."""

    channels: dict[NotificationType, ChannelSwitches]
    quiet_hours: QuietHours | None = None
    digest: DigestSettings
    locale: str
    version: int = Field(ge=0, description="Send it back with a change: a stale one is refused with 409.")
    updated_at: UtcDatetime | None = None


class PreferencesUpdate(ApiModel):
    """The preferences to keep. `channels` names only the switches to change; the others stay as they are."""

    version: int = Field(ge=0, le=1_000_000_000, description="The version read; 409 when it changed since.")
    channels: dict[NotificationType, ChannelSwitches] = Field(default_factory=dict)
    quiet_hours: QuietHours | None = Field(default=None, description="null: no quiet hours.")
    digest: DigestSettings = Field(default_factory=DigestSettings)
    locale: Locale = "en"


# ------------------------------------------------------------------------------------------------ channels


class LinkableChannel(StrEnum):
    """The channels a user links by an address and a code (email is their account's; push is a device)."""

    DISCORD = "discord"
    TELEGRAM = "telegram"


class LinkStatusView(StrEnum):
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    BROKEN = "BROKEN"


TELEGRAM_CHAT_ID = re.compile(r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")


class LinkRequest(ApiModel):
    address: str = Field(
        min_length=1,
        max_length=512,
        description=(
            "Discord: the channel webhook's URL (https://discord.com/api/webhooks/<id>/<token>); "
            "Telegram: the chat id (a number, or @channelname) the bot may write to."
        ),
    )


class LinkStarted(BaseModel):
    channel: LinkableChannel
    status: LinkStatusView
    address: str = Field(description="The address, with a Discord webhook's secret token hidden.")
    code_expires_at: UtcDatetime
    attempts_allowed: int


class VerifyCode(ApiModel):
    code: str = Field(pattern=r"^[0-9]{6}$", description="The 6-digit code sent through the channel.")


class ChannelLinkView(BaseModel):
    channel: LinkableChannel
    status: LinkStatusView
    address: str = Field(description="The address, with a Discord webhook's secret token hidden.")
    linked_at: UtcDatetime | None = Field(default=None, description="When the code was verified.")


class DevicePlatform(StrEnum):
    IOS = "ios"
    ANDROID = "android"


class DeviceRegistration(ApiModel):
    platform: DevicePlatform
    token: str = Field(
        min_length=8,
        max_length=4096,
        pattern=r"^[A-Za-z0-9_:\-.]+$",
        description="The APNs device token or FCM registration token.",
    )


class DeviceView(BaseModel):
    device_id: str = Field(description="Stable per token: registering the same token again is the same device.")
    platform: DevicePlatform
    created_at: UtcDatetime


class NotificationChannels(BaseModel):
    """Where notifications can reach the user besides the inbox and their account's email."""

    links: list[ChannelLinkView]
    devices: list[DeviceView]


# ------------------------------------------------------------------------------------------------ unsubscribe


class Unsubscribed(BaseModel):
    type: NotificationType
    channel: Channel
    enabled: bool = Field(description="Always false: that type's email is off.")


# ------------------------------------------------------------------------------------------------ announcements

AnnouncementTitle = Annotated[str, FreeText(text.TextRule(max_length=120, min_length=1))]
AnnouncementBody = Annotated[str, FreeText(text.ANNOUNCEMENT)]


class AnnouncementDraft(ApiModel):
    """An announcement to an event's participants (`event_id`) or, without one, to every user who opted in to
    announcements; on the chosen channels (each recipient's preferences still apply)."""

    event_id: str | None = Field(default=None, min_length=1, max_length=128)
    title: AnnouncementTitle
    body: AnnouncementBody
    channels: list[Channel] = Field(min_length=1, max_length=len(Channel))

    @model_validator(mode="after")
    def _distinct_channels(self) -> AnnouncementDraft:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels must not repeat")
        return self


class RenderedMessage(BaseModel):
    channel: Channel
    title: str
    body: str
    html: str | None = Field(default=None, description="Email only: the HTML part.")


class EventAnnouncementDraft(ApiModel):
    """An announcement to one event (its id is in the path); in-app only unless channels say more."""

    title: AnnouncementTitle
    body: AnnouncementBody
    channels: list[Channel] = Field(default_factory=lambda: [Channel.IN_APP], min_length=1, max_length=len(Channel))

    @model_validator(mode="after")
    def _distinct_channels(self) -> EventAnnouncementDraft:
        if len(set(self.channels)) != len(self.channels):
            raise ValueError("channels must not repeat")
        return self


class AnnouncementEdit(ApiModel):
    title: AnnouncementTitle
    body: AnnouncementBody
    reason: Reason | None = None


class AnnouncementPreview(BaseModel):
    rendered: list[RenderedMessage]
    audience: int = Field(ge=0, description="How many users the announcement would be planned for.")
    audience_capped: bool = Field(description="True when counting stopped at the cap: at least `audience`.")


class DeliveryCounts(BaseModel):
    queued: int = 0
    held: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0


class Announcement(BaseModel):
    announcement_id: str
    event_id: str | None = None
    title: str
    body: str
    channels: list[Channel]
    created_by: str
    created_at: UtcDatetime
    chat_message_id: str | None = Field(default=None, description="The pinned line in the event's chat.")
    edited_at: UtcDatetime | None = None
    withdrawn_at: UtcDatetime | None = None


class AnnouncementDetail(Announcement):
    deliveries: dict[Channel, DeliveryCounts] = Field(description="Per channel, written by the dispatchers.")


class AnnouncementPage(BaseModel):
    items: list[Announcement]
    next_cursor: str | None = None


def counts_view(counts: dict[DeliveryStatus, int]) -> DeliveryCounts:
    return DeliveryCounts(**{status.value.lower(): n for status, n in counts.items()})
