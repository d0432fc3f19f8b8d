"""Notification rules (arena/domain/notifications.py): the channel message's wire form, preference defaults, quiet
hours across midnight and time zones, the rank-change throttle, the digest's hour and day, and the plan."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from arena.domain.notifications import (
    Channel,
    ChannelMessage,
    DeliveryStatus,
    DigestSettings,
    Notification,
    NotificationType,
    PlannedDelivery,
    Preferences,
    QuietHours,
    from_wire,
    hold_minute,
    minute_of,
    notification_id,
    plan,
    preferences_from_dict,
    preferences_to_dict,
    throttle_allows,
    to_wire,
    valid_timezone,
)

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
ALL = frozenset(Channel)


def note(kind: NotificationType = NotificationType.EVENT_REMINDER, user: str = "ann") -> Notification:
    return Notification(
        notification_id=notification_id("evt-1", user, kind, NOON),
        user_id=user,
        type=kind,
        source="evt-1",
        created_at=NOON,
        event_id="ev-1",
        data={"reminder": "start_1h", "amount": "12.50"},
    )


# ------------------------------------------------------------------------------------------------ wire


def test_a_channel_message_survives_the_wire() -> None:
    """Given an in-app message of two notifications and a held email message with a not-before time
    When each is encoded for SQS and decoded again
    Then the same messages come back, times in UTC."""
    messages = [
        ChannelMessage(Channel.IN_APP, (note(), note(user="bob"))),
        ChannelMessage(Channel.EMAIL, (note(),), not_before=NOON + timedelta(hours=7)),
    ]
    for message in messages:
        assert from_wire(to_wire(message)) == message


def test_decimals_in_data_go_out_as_decimal_strings() -> None:
    """Given a notification whose data holds a Decimal amount
    When its message is encoded
    Then the amount is a decimal string on the wire."""
    message = ChannelMessage(
        Channel.PUSH,
        (Notification("n", "ann", NotificationType.PRIZE_PAID, "s", NOON, data={"amount": Decimal("0.10")}),),
    )
    assert from_wire(to_wire(message)).notifications[0].data["amount"] == "0.10"


@pytest.mark.parametrize("body", ["{}", "[]", '{"channel": "fax", "notifications": []}', '{"channel": "email"}'])
def test_a_body_that_is_no_channel_message_is_refused(body: str) -> None:
    """Given a queue body that is not a channel message
    When it is decoded
    Then ValueError is raised (the consumer reports that record failed)."""
    with pytest.raises(ValueError):
        from_wire(body)


def test_notification_ids_are_deterministic_and_sort_by_time() -> None:
    """Given the same cause, user and type planned twice, and a later cause
    When their ids are derived
    Then the same cause gives the same id and the later one sorts after it."""
    first = notification_id("evt-1", "ann", NotificationType.RANK_CHANGE, NOON)
    assert first == notification_id("evt-1", "ann", NotificationType.RANK_CHANGE, NOON)
    assert first != notification_id("evt-1", "bob", NotificationType.RANK_CHANGE, NOON)
    assert notification_id("evt-2", "ann", NotificationType.RANK_CHANGE, NOON + timedelta(seconds=1)) > first


# ------------------------------------------------------------------------------------------------ preferences


@pytest.mark.parametrize("kind", list(NotificationType))
def test_defaults_in_app_always_email_for_prizes_and_reminders(kind: NotificationType) -> None:
    """Given a user who never set preferences
    When the channels of each type are asked
    Then in-app is on, email only for reminders and prize news, chat apps and push off."""
    prefs = Preferences()
    emailed = kind in {
        NotificationType.EVENT_REMINDER,
        NotificationType.PRIZE_WON,
        NotificationType.PRIZE_CLAIMABLE,
        NotificationType.CLAIM_DEADLINE,
        NotificationType.PRIZE_PAID,
    }
    assert prefs.enabled_channels(kind) == ({Channel.IN_APP, Channel.EMAIL} if emailed else {Channel.IN_APP})


def test_the_digest_follows_the_rank_change_channels() -> None:
    """Given a user who turned Telegram on and in-app off for rank changes
    When the digest's channels are asked
    Then they are the rank change's: Telegram only."""
    prefs = Preferences().with_matrix({NotificationType.RANK_CHANGE: {Channel.TELEGRAM: True, Channel.IN_APP: False}})
    assert prefs.enabled_channels(NotificationType.DIGEST) == {Channel.TELEGRAM}


def test_only_differences_from_the_defaults_are_kept_and_they_make_the_opt_ins() -> None:
    """Given a full matrix saved with email on for new events and everything else at its default
    When the preferences keep it
    Then only that switch is stored, new events are the one opted-in type, and the stored form reads back equal."""
    prefs = Preferences().with_matrix(
        {kind: dict(row) for kind, row in Preferences().matrix().items()}
        | {NotificationType.NEW_EVENT: {Channel.EMAIL: True, Channel.IN_APP: True}}
    )
    assert dict(prefs.channels) == {(NotificationType.NEW_EVENT, Channel.EMAIL): True}
    assert prefs.opted_in_types() == {NotificationType.NEW_EVENT}
    off = Preferences().with_matrix({NotificationType.PRIZE_WON: {Channel.EMAIL: False}})
    assert off.opted_in_types() == frozenset()  # turning a default off opts in to nothing
    full = Preferences(
        channels={(NotificationType.ANNOUNCEMENT, Channel.DISCORD): True},
        quiet_hours=QuietHours(time(22), time(7), "Europe/Berlin"),
        digest=DigestSettings(True, 19),
        locale="de",
    )
    assert preferences_from_dict(preferences_to_dict(full)) == full


@pytest.mark.parametrize(
    ("name", "valid"),
    [("Europe/Berlin", True), ("UTC", True), ("Mars/Base", False), ("../etc/passwd", False), ("", False)],
)
def test_time_zones_are_iana_names(name: str, valid: bool) -> None:
    """Given a time zone name
    When it is checked
    Then only names of the IANA database pass, and quiet hours refuse the others."""
    assert valid_timezone(name) is valid
    if not valid:
        with pytest.raises(ValueError):
            QuietHours(time(22), time(7), name)


# ------------------------------------------------------------------------------------------------ quiet hours


@pytest.mark.parametrize(
    ("utc", "quiet"),
    [
        (datetime(2026, 12, 1, 20, 59, tzinfo=UTC), False),  # 21:59 Berlin (UTC+1 in winter)
        (datetime(2026, 12, 1, 21, 0, tzinfo=UTC), True),  # 22:00
        (datetime(2026, 12, 1, 23, 30, tzinfo=UTC), True),  # 00:30 next day
        (datetime(2026, 12, 2, 5, 59, tzinfo=UTC), True),  # 06:59
        (datetime(2026, 12, 2, 6, 0, tzinfo=UTC), False),  # 07:00: over
    ],
)
def test_quiet_hours_span_midnight_in_the_users_zone(utc: datetime, quiet: bool) -> None:
    """Given quiet hours 22:00-07:00 in Berlin
    When moments around them (given in UTC) are checked
    Then exactly those between 22:00 and 07:00 Berlin time are quiet."""
    assert QuietHours(time(22), time(7), "Europe/Berlin").contains(utc) is quiet


def test_quiet_hours_end_on_the_next_local_morning() -> None:
    """Given quiet hours 22:00-07:00 in New York and a moment at 23:30 there
    When their end is asked
    Then it is 07:00 New York time the next day (12:00 UTC in winter)."""
    hours = QuietHours(time(22), time(7), "America/New_York")
    moment = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)  # 23:30 on 1 December in New York
    assert hours.contains(moment)
    assert hours.ends_after(moment) == datetime(2026, 12, 2, 12, tzinfo=UTC)


def test_quiet_hours_across_a_daylight_saving_change() -> None:
    """Given quiet hours 01:00-03:00 in Berlin on the night clocks go forward (02:00 -> 03:00)
    When the end is asked at 01:30
    Then the hours end at 03:00 local, which is 01:00 UTC (only one real hour later)."""
    hours = QuietHours(time(1), time(3), "Europe/Berlin")
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # 01:30 CET
    assert hours.contains(moment)
    assert hours.ends_after(moment) == datetime(2026, 3, 29, 1, tzinfo=UTC)


def test_same_start_and_end_is_never_quiet() -> None:
    """Given quiet hours whose start equals their end
    When any moment is checked
    Then it is not quiet."""
    assert not QuietHours(time(8), time(8), "UTC").contains(NOON.replace(hour=8))


# ------------------------------------------------------------------------------------------------ throttle, digest


def test_the_throttle_lets_one_through_per_window() -> None:
    """Given a 30-minute rank-change throttle
    When asked with no earlier message, 29 minutes after one and 30 minutes after one
    Then the first and the last are allowed."""
    window = timedelta(minutes=30)
    assert throttle_allows(None, NOON, window)
    assert not throttle_allows(NOON - timedelta(minutes=29), NOON, window)
    assert throttle_allows(NOON - timedelta(minutes=30), NOON, window)


def test_the_digest_goes_out_at_the_next_local_hour() -> None:
    """Given a digest at 08:00 in Tokyo (UTC+9)
    When rank changes happen before and after 08:00 Tokyo time
    Then the earlier one goes into that day's digest, the later one into the next day's, keyed by the local day."""
    prefs = Preferences(quiet_hours=QuietHours(time(23), time(6), "Asia/Tokyo"), digest=DigestSettings(True, 8))
    early = datetime(2026, 12, 1, 22, tzinfo=UTC)  # 07:00 on 2 December in Tokyo
    due = prefs.digest_due(early)
    assert due == datetime(2026, 12, 1, 23, tzinfo=UTC) and prefs.digest_day(due) == "2026-12-02"
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 08:30 on 2 December
    due = prefs.digest_due(late)
    assert due == datetime(2026, 12, 2, 23, tzinfo=UTC) and prefs.digest_day(due) == "2026-12-03"


def test_hold_minutes_round_up() -> None:
    """Given moments on and off a minute
    When their hold minute is taken
    Then a moment inside a minute waits for the next one, and the text reads back as that minute."""
    assert hold_minute(NOON) == "2026-12-01T12:00"
    assert hold_minute(NOON + timedelta(seconds=1)) == "2026-12-01T12:01"
    assert minute_of("2026-12-01T12:01") == NOON + timedelta(minutes=1)


# ------------------------------------------------------------------------------------------------ plan


def test_plan_with_defaults_queues_in_app_and_email_and_suppresses_the_rest() -> None:
    """Given a reminder for a user with default preferences and nothing linked
    When it is planned
    Then in-app and email are queued and Discord, Telegram and push suppressed."""
    assert plan(note(), Preferences(), frozenset(), NOON) == [
        PlannedDelivery(Channel.IN_APP, DeliveryStatus.QUEUED),
        PlannedDelivery(Channel.EMAIL, DeliveryStatus.QUEUED),
        PlannedDelivery(Channel.DISCORD, DeliveryStatus.SUPPRESSED),
        PlannedDelivery(Channel.TELEGRAM, DeliveryStatus.SUPPRESSED),
        PlannedDelivery(Channel.PUSH, DeliveryStatus.SUPPRESSED),
    ]


def test_an_enabled_channel_needs_a_link() -> None:
    """Given a user who turned Telegram and Discord on for reminders but linked only Telegram
    When a reminder is planned
    Then Telegram is queued and Discord suppressed."""
    prefs = Preferences().with_matrix(
        {NotificationType.EVENT_REMINDER: {Channel.TELEGRAM: True, Channel.DISCORD: True}}
    )
    planned = {p.channel: p.status for p in plan(note(), prefs, {Channel.TELEGRAM}, NOON)}
    assert planned[Channel.TELEGRAM] is DeliveryStatus.QUEUED and planned[Channel.DISCORD] is DeliveryStatus.SUPPRESSED


def test_quiet_hours_hold_everything_but_the_inbox() -> None:
    """Given a user in quiet hours (22:00-07:00 UTC) with Telegram linked and on
    When a reminder is planned at 23:00
    Then in-app is queued now and email and Telegram are held until 07:00."""
    prefs = Preferences(quiet_hours=QuietHours(time(22), time(7), "UTC")).with_matrix(
        {NotificationType.EVENT_REMINDER: {Channel.TELEGRAM: True}}
    )
    night = NOON.replace(hour=23)
    planned = plan(
        note(), prefs, {Channel.TELEGRAM}, night, channels=frozenset({Channel.IN_APP, Channel.EMAIL, Channel.TELEGRAM})
    )
    morning = datetime(2026, 12, 2, 7, tzinfo=UTC)
    assert planned == [
        PlannedDelivery(Channel.IN_APP, DeliveryStatus.QUEUED),
        PlannedDelivery(Channel.EMAIL, DeliveryStatus.HELD, morning),
        PlannedDelivery(Channel.TELEGRAM, DeliveryStatus.HELD, morning),
    ]


def test_rank_changes_go_to_the_digest_when_it_is_on() -> None:
    """Given a user with the daily digest on
    When a rank change is planned
    Then every channel is suppressed (the planner keeps it for the digest), while other types plan as usual."""
    prefs = Preferences(digest=DigestSettings(True, 8))
    assert {p.status for p in plan(note(NotificationType.RANK_CHANGE), prefs, ALL, NOON)} == {DeliveryStatus.SUPPRESSED}
    assert plan(note(), prefs, ALL, NOON)[0] == PlannedDelivery(Channel.IN_APP, DeliveryStatus.QUEUED)


def test_the_cause_can_narrow_the_channels() -> None:
    """Given an announcement meant for email only and a user with defaults
    When it is planned with channels={email}
    Then only email is considered, and it is suppressed because announcements are opt-in by email."""
    planned = plan(note(NotificationType.ANNOUNCEMENT), Preferences(), ALL, NOON, channels=frozenset({Channel.EMAIL}))
    assert planned == [PlannedDelivery(Channel.EMAIL, DeliveryStatus.SUPPRESSED)]
