"""arena.domain.chat, pure: the message text rules, the word filter's matching, who may post and read, reactions
and presence coalescing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from arena.domain import chat
from arena.domain.chat import Ban, MessageRefused, Mute, ReadAccess, Settings, WriteAccess

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_a_message_is_stored_as_given_after_the_free_text_policy() -> None:
    """Given text with HTML, emoji, a decomposed accent and surrounding space When cleaned
    Then it is kept as text (NFC, trimmed), not escaped: escaping on render is the client's job."""
    assert chat.clean_message("  <i>gm</i> \U0001f680 e\u0301 ") == "<i>gm</i> \U0001f680 \u00e9"
    assert chat.clean_message("line one\r\nline two") == "line one\nline two"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("null\x00byte", "text_character"),
        ("esc \x1b[31mred", "text_character"),
        ("zero\u200bwidth", "text_character"),
        ("bidi \u202e", "text_character"),
        ("\u3164", "text_character"),
        ("   ", "text_too_short"),
        ("", "text_too_short"),
        ("x" * (chat.MAX_MESSAGE_LENGTH + 1), "text_too_long"),
        (42, "text_type"),
    ],
)
def test_control_invisible_blank_and_overlong_text_is_refused(text: object, kind: str) -> None:
    """Given a refused kind of text When cleaned as a chat message Then MessageRefused names the kind."""
    with pytest.raises(MessageRefused) as refused:
        chat.clean_message(text)
    assert refused.value.kind == kind


@pytest.mark.parametrize(
    ("text", "hit"),
    [
        ("what a SCAM", "scam"),
        ("scám!", "scam"),
        ("\uff33\uff23\uff21\uff2d", "scam"),
        ("it's free   money, honest", "free money"),
        ("scampi and class", None),
        ("free and money", None),
    ],
)
def test_the_word_filter_matches_whole_normalised_words_and_phrases(text: str, hit: str | None) -> None:
    """Given a filter of a word and a phrase When texts are checked
    Then case, accents and full-width forms do not hide a word; a word inside another word is no match."""
    assert chat.filtered_word(text, ["scam", "free money"]) == hit


def test_a_filtered_message_is_refused_with_the_entry() -> None:
    """Given a filter When a message contains one of its words Then chat_filtered names the entry."""
    with pytest.raises(MessageRefused) as refused:
        chat.clean_message("total scam", ["scam"])
    assert (refused.value.kind, refused.value.word) == ("chat_filtered", "scam")


def test_the_filter_is_stored_normalised_and_deduplicated() -> None:
    """Given entries differing in case and spacing When cleaned Then one normalised entry each, sorted."""
    assert chat.clean_filter(["Scam", "SCAM", "Free   Money"]) == ["free money", "scam"]
    with pytest.raises(MessageRefused):
        chat.clean_filter(["!!!"])


def test_reactions_are_emoji_not_text() -> None:
    """Given reactions When cleaned Then emoji and emoji sequences pass, words and digits do not."""
    assert chat.clean_reaction("\U0001f44d\U0001f3fd") == "\U0001f44d\U0001f3fd"
    for text in ("ok", "1", "\u200b", "#"):
        with pytest.raises(MessageRefused):
            chat.clean_reaction(text)


def _posting(**overrides: object) -> chat.Refusal | None:
    values: dict[str, object] = {
        "settings": Settings(),
        "is_manager": False,
        "is_participant": True,
        "mute": None,
        "ban": None,
        "now": NOW,
    }
    values.update(overrides)
    return chat.posting_refusal(**values)  # type: ignore[arg-type]


def test_who_may_post() -> None:
    """Given the settings, standing, mute and ban When deciding a post
    Then participants post; outsiders, the muted (until when) and the banned (why) are told why not."""
    assert _posting() is None
    assert _posting(is_participant=False).code == "chat_participants_only"  # type: ignore[union-attr]
    assert _posting(is_participant=False, is_manager=True) is None
    assert _posting(settings=Settings(write=WriteAccess.MANAGERS)).code == "chat_read_only"  # type: ignore[union-attr]
    assert _posting(settings=Settings(enabled=False)).code == "chat_disabled"  # type: ignore[union-attr]
    mute = Mute("ada", NOW + timedelta(minutes=5), "Flooding", "mod")
    refusal = _posting(mute=mute)
    assert refusal is not None and refusal.code == "chat_muted"
    assert refusal.details == {"reason": "Flooding", "until": "2026-12-01T12:05:00Z"}
    assert _posting(mute=mute, now=NOW + timedelta(minutes=5)) is None  # a mute ends at its time
    banned = _posting(ban=Ban("ada", "Phishing", "mod", NOW), is_manager=True)
    assert banned is not None and banned.details == {"reason": "Phishing", "until": None}


def test_who_may_read() -> None:
    """Given the read setting When deciding a read Then signed-in or participants only; the banned never."""
    assert chat.reading_refusal(settings=Settings(), is_manager=False, is_participant=False, ban=None) is None
    participants = Settings(read=ReadAccess.PARTICIPANTS)
    outsider = chat.reading_refusal(settings=participants, is_manager=False, is_participant=False, ban=None)
    assert outsider is not None and outsider.code == "chat_participants_only"
    ban = Ban("ada", "Phishing", "mod", NOW)
    assert (
        chat.reading_refusal(settings=Settings(), is_manager=False, is_participant=True, ban=ban).code == "chat_banned"
    )  # type: ignore[union-attr]


def test_presence_pushes_are_coalesced() -> None:
    """Given the last pushed count and time When the count changes Then pushed only past the window; the same
    count is never pushed again."""
    assert chat.presence_due(None, None, 1, 100.0, 2.0)
    assert not chat.presence_due(1, 100.0, 2, 101.0, 2.0)
    assert chat.presence_due(1, 100.0, 2, 102.0, 2.0)
    assert not chat.presence_due(2, 100.0, 2, 500.0, 2.0)
