"""Notification templates (arena/services/notifications/templates.py): every type on every channel, escaping,
limits, locales."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from arena.domain.notifications import Channel, Notification, NotificationType
from arena.domain.rank_watch import Change
from arena.services.notifications.templates import discord_escape, render

from local.chat_providers import telegram_html_error

HOSTILE = "<script>alert('x')</script> & \"Q\" *bold* _it_ `code` [link](http://evil) @everyone"
UNSUBSCRIBE = "https://arena.example/api/notifications/unsubscribe?token=abc.def&x=1"


def data_of(kind: NotificationType, text: str) -> dict[str, Any]:
    """Realistic data of each type, with `text` wherever a person or an admin chose the words."""
    move = {"event_name": text, "move": "entered_prize_zone", "rank": 3, "previous_rank": 12}
    return {
        NotificationType.EVENT_REMINDER: {
            "event_name": text,
            "reminder": "start_1h",
            "starts_at": "2026-12-01T12:00:00Z",
        },
        NotificationType.RANK_CHANGE: move,
        NotificationType.PRIZE_WON: {"event_name": text, "rank": 1, "amount": "1500.25", "token": "USDT"},
        NotificationType.PRIZE_CLAIMABLE: {
            "event_name": text,
            "amount": "20",
            "token": "ARENA",
            "claim_deadline": "2026-12-08T00:00:00Z",
        },
        NotificationType.CLAIM_DEADLINE: {
            "event_name": text,
            "amount": "20",
            "token": "ARENA",
            "claim_deadline": "2026-12-08T00:00:00Z",
        },
        NotificationType.PRIZE_PAID: {"event_name": text, "amount": "1500.25", "token": "USDT"},
        NotificationType.NEW_EVENT: {
            "event_name": text,
            "starts_at": "2026-12-02T09:00:00Z",
            "ends_at": "2026-12-09T09:00:00Z",
        },
        NotificationType.MILESTONE: {"event_name": text, "milestone": "qualified"},
        NotificationType.ANNOUNCEMENT: {"title": text, "body": f"{text}\n\nSecond paragraph.", "event_name": text},
        NotificationType.DIGEST: {"date": "2026-12-01", "moves": [move, {**move, "move": "passed_rival", "rank": 2}]},
    }[kind]


def notification(kind: NotificationType, text: str = "Winter Cup", locale: str = "en") -> Notification:
    return Notification(
        notification_id="01JEXAMPLE0000000000000000",
        user_id="user-1",
        type=kind,
        source="evt-1",
        created_at=datetime(2026, 12, 1, 11, 0, tzinfo=UTC),
        event_id="ev-1",
        data=data_of(kind, text),
        locale=locale,
    )


@pytest.mark.parametrize("channel", list(Channel))
@pytest.mark.parametrize("kind", list(NotificationType))
def test_every_type_renders_on_every_channel(kind: NotificationType, channel: Channel) -> None:
    """Given a notification of each type with realistic data
    When it is rendered for each channel
    Then there is a title and a body within the channel's limits, the numbers of the data appear, email has its
    HTML with the unsubscribe link, and nothing was left unrendered."""
    rendered = render(notification(kind), channel, unsubscribe_url=UNSUBSCRIBE)
    assert rendered.title.strip() and rendered.body.strip()
    assert "{{" not in rendered.body and "{%" not in rendered.body
    limits = {Channel.DISCORD: 2_000, Channel.TELEGRAM: 4_096, Channel.PUSH: 240, Channel.IN_APP: 2_000}
    if channel in limits:
        assert len(rendered.body) <= limits[channel]
    numbers = {"rank": "3" if kind is not NotificationType.PRIZE_WON else "1", "amount": None}
    data = data_of(kind, "Winter Cup")
    if "amount" in data and channel is not Channel.PUSH:
        assert data["amount"] in rendered.body or (rendered.html and data["amount"] in rendered.html)
    if kind is NotificationType.RANK_CHANGE:
        assert "#" + numbers["rank"] in rendered.body
    if channel is Channel.EMAIL:
        assert (
            rendered.html is not None
            and "https://arena.example/api/notifications/unsubscribe?token=abc.def&amp;x=1" in rendered.html
        )
        assert UNSUBSCRIBE in rendered.body  # the text part links it too
    else:
        assert rendered.html is None
    if channel is Channel.TELEGRAM:
        assert telegram_html_error(rendered.body) is None


@pytest.mark.parametrize("kind", list(NotificationType))
def test_hostile_text_is_escaped_for_each_channel(kind: NotificationType) -> None:
    """Given a notification whose event name, title and body hold HTML, markdown and a mass mention
    When it is rendered for email, Telegram, Discord, in-app and push
    Then the email's HTML and Telegram's HTML show it as text (escaped, Telegram would parse it), Discord's markdown
    escapes every formatting character and the mention, and plain-text channels keep it exactly as written."""
    n = notification(kind, HOSTILE)
    email = render(n, Channel.EMAIL, unsubscribe_url=UNSUBSCRIBE)
    assert email.html is not None
    assert "<script>" not in email.html and "&lt;script&gt;" in email.html
    telegram = render(n, Channel.TELEGRAM).body
    assert "<script>" not in telegram and "&lt;script&gt;" in telegram
    assert telegram_html_error(telegram) is None
    discord = render(n, Channel.DISCORD).body
    assert discord_escape(HOSTILE) in discord
    assert "@everyone" not in discord.replace("\\@everyone", "")
    assert "*bold*" not in discord and "[link](" not in discord
    for channel in (Channel.IN_APP, Channel.PUSH):
        rendered = render(n, channel)
        assert HOSTILE[:40] in rendered.title + rendered.body  # as written: the app escapes on display


def test_long_free_text_is_clipped_to_each_providers_limit() -> None:
    """Given an announcement whose body is 20,000 characters of characters that escaping lengthens
    When it is rendered for Discord, Telegram, push and in-app
    Then each fits its provider's limit and Telegram's text still parses."""
    n = Notification(
        "01J",
        "u",
        NotificationType.ANNOUNCEMENT,
        "a-1",
        datetime(2026, 12, 1, tzinfo=UTC),
        None,
        {"title": "T" * 500, "body": "<&>*_" * 4_000},
    )
    assert len(render(n, Channel.DISCORD).body) <= 2_000
    telegram = render(n, Channel.TELEGRAM).body
    assert len(telegram) <= 4_096 and telegram_html_error(telegram) is None
    assert len(render(n, Channel.PUSH).body) <= 240 and len(render(n, Channel.PUSH).title) <= 100
    assert len(render(n, Channel.IN_APP).title) <= 200


def test_an_unknown_locale_falls_back_to_english() -> None:
    """Given a notification whose locale has no templates (fr), and one with a malformed locale
    When each is rendered
    Then both say exactly what the English rendering says."""
    english = render(notification(NotificationType.PRIZE_WON), Channel.EMAIL, unsubscribe_url=UNSUBSCRIBE)
    for locale in ("fr", "../../etc"):
        other = render(
            notification(NotificationType.PRIZE_WON, locale=locale), Channel.EMAIL, unsubscribe_url=UNSUBSCRIBE
        )
        assert (other.title, other.body, other.html) == (english.title, english.body, english.html)


def test_email_needs_its_unsubscribe_link_and_missing_data_renders_empty() -> None:
    """Given an email rendering without an unsubscribe link, and a notification whose data is empty
    When they are rendered
    Then the first is refused (no email goes out without its link) and the second still renders every channel."""
    with pytest.raises(ValueError):
        render(notification(NotificationType.PRIZE_PAID), Channel.EMAIL)
    empty = Notification("01J", "u", NotificationType.RANK_CHANGE, "s", datetime(2026, 12, 1, tzinfo=UTC))
    for channel in Channel:
        assert render(empty, channel, unsubscribe_url=UNSUBSCRIBE).title


@pytest.mark.parametrize("change", list(Change))
def test_every_rank_move_the_watcher_reports_has_its_own_wording(change: Change) -> None:
    """Given a rank change notification for each kind of move the rank watcher publishes
    When it is rendered for the inbox
    Then its title names that move, not the generic "Your rank changed" a misspelt move falls back to."""
    # Given a rank change whose move is one the watcher reports
    note = Notification(
        notification_id="01KDVDNA000B2YHB0D0B37T38J",
        user_id="u1",
        type=NotificationType.RANK_CHANGE,
        source="s1",
        created_at=datetime(2026, 11, 30, tzinfo=UTC),
        event_id="e1",
        data={"event_name": "Winter Cup", "move": change.value, "rank": 3, "previous_rank": 12},
    )
    # When it is rendered for the inbox
    rendered = render(note, Channel.IN_APP)
    # Then the title is the move's own wording
    assert not rendered.title.startswith("Your rank changed")
