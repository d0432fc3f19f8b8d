"""Event chat, decided: what a message may say (the free-text policy, the length, the event's word filter), who
may read and write, mutes and bans, reactions, and the per-user rate of posting. Pure: no I/O here.

Text is stored as given (after the free-text policy's cleaning: NFC, trimmed) and is plain text: escaping it when
it is rendered (HTML, a terminal, a bot message) is the client's job, as for every free-text field
(arena/domain/text.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from arena.domain import text as free_text

# A chat line: one to MAX_MESSAGE_LENGTH characters after cleaning, line breaks allowed (a pasted list).
MAX_MESSAGE_LENGTH = 1000
MESSAGE = free_text.TextRule(max_length=MAX_MESSAGE_LENGTH, min_length=1, multiline=True)
# The word filter: at most this many entries per event, each one to a few words.
MAX_FILTER_WORDS = 500
FILTER_WORD = free_text.TextRule(max_length=64, min_length=1)
# Reactions: one emoji (or a short emoji sequence: skin tones, ZWJ families, flags) per reaction.
REACTION = free_text.TextRule(max_length=16, min_length=1)
MAX_REACTION_KINDS = 20
# Longest mute a moderator may set in one go (30 days); a longer exclusion is a ban.
MAX_MUTE_MINUTES = 30 * 24 * 60
# Pinned messages per event (shown above the history).
MAX_PINS = 10


class ReadAccess(StrEnum):
    """Who may read an event's chat."""

    SIGNED_IN = "signed_in"  # anyone signed in
    PARTICIPANTS = "participants"  # the event's participants (and its managers, admins)


class WriteAccess(StrEnum):
    """Who may post. Managers of the event and admins always may."""

    PARTICIPANTS = "participants"
    MANAGERS = "managers"  # read-only for everyone else (an announcements-only channel)


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class ReportOutcome(StrEnum):
    """What a moderator decided about a report."""

    DISMISSED = "dismissed"  # nothing wrong: the message stays
    DELETED = "deleted"  # the message was removed (by this resolution or before it)


@dataclass(frozen=True)
class Settings:
    """An event's chat settings; an event without a settings item has the defaults."""

    enabled: bool = True
    read: ReadAccess = ReadAccess.SIGNED_IN
    write: WriteAccess = WriteAccess.PARTICIPANTS


@dataclass(frozen=True)
class Mute:
    user_id: str
    until: datetime
    reason: str
    by: str

    def active(self, now: datetime) -> bool:
        return now < self.until


@dataclass(frozen=True)
class Ban:
    user_id: str
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Refusal:
    """Why a user may not post (or read): a stable code, a message for people, and details (reason, until)."""

    code: str
    message: str
    details: dict[str, str | None]


# ------------------------------------------------------------------------------------------------ text


class MessageRefused(ValueError):
    """A message the rules refuse: `kind` (text_character, text_too_long, text_blank, chat_filtered, ...)."""

    def __init__(self, kind: str, message: str, word: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.word = word


def normalise(text: str) -> str:
    """The form the word filter compares: compatibility-folded (NFKC: full-width and styled letters become
    plain), case-folded, accents stripped, so full-width "spam", "SPAM" and "spám" are one word."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in folded if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    # Letters, digits and underscore form words (Unicode aware); everything else separates them.
    return re.findall(r"\w+", normalise(text))


def filter_entries(words: Iterable[str]) -> list[tuple[str, ...]]:
    """The filter's entries as word sequences ("free money" is two words that must appear together)."""
    entries = []
    for word in words:
        parts = tuple(_words(word))
        if parts:
            entries.append(parts)
    return entries


def filtered_word(text: str, words: Iterable[str]) -> str | None:
    """The first filter entry the text contains as whole words (normalised), or None. Whole words only: "ass" does
    not match "class"; an entry of several words matches them consecutively."""
    tokens = _words(text)
    for word, parts in zip(words, filter_entries(words), strict=False):
        n = len(parts)
        if any(tuple(tokens[i : i + n]) == parts for i in range(len(tokens) - n + 1)):
            return word
    return None


def clean_message(value: object, filter_words: Iterable[str] = ()) -> str:
    """The message as stored, or MessageRefused: the free-text policy (control and invisible characters refused,
    NFC, trimmed), at most MAX_MESSAGE_LENGTH characters, no word of the event's filter."""
    if not isinstance(value, str):
        raise MessageRefused("text_type", f"must be a string of 1 to {MAX_MESSAGE_LENGTH} characters")
    try:
        text = free_text.clean(value, MESSAGE)
    except free_text.TextRefused as refused:
        raise MessageRefused(refused.kind, refused.message) from None
    words = list(filter_words)
    hit = filtered_word(text, words)
    if hit is not None:
        raise MessageRefused("chat_filtered", "contains a word this event's chat does not allow", hit)
    return text


def clean_filter(words: Iterable[object]) -> list[str]:
    """A word filter as stored: each entry cleaned by the free-text policy, normalised, deduplicated, sorted."""
    out: set[str] = set()
    for word in words:
        if not isinstance(word, str):
            raise MessageRefused("text_type", "every entry must be a string")
        try:
            cleaned = free_text.clean(word, FILTER_WORD)
        except free_text.TextRefused as refused:
            raise MessageRefused(refused.kind, f"entry {word!r} {refused.message}") from None
        parts = _words(cleaned)
        if not parts:
            raise MessageRefused("text_blank", f"entry {word!r} has no letter or digit")
        out.add(" ".join(parts))
    if len(out) > MAX_FILTER_WORDS:
        raise MessageRefused("text_too_long", f"the filter holds at most {MAX_FILTER_WORDS} entries")
    return sorted(out)


def clean_reaction(value: object) -> str:
    """A reaction: a short run of emoji (the free-text policy, then nothing that is a letter, digit or space)."""
    if not isinstance(value, str):
        raise MessageRefused("text_type", "must be an emoji")
    try:
        emoji = free_text.clean(value, REACTION)
    except free_text.TextRefused as refused:
        raise MessageRefused(refused.kind, refused.message) from None
    if any(c.isalnum() or c.isspace() or c in "#" for c in emoji):
        raise MessageRefused("not_emoji", "must be an emoji, not text")
    return emoji


# ------------------------------------------------------------------------------------------------ who may


def posting_refusal(
    *,
    settings: Settings,
    is_manager: bool,
    is_participant: bool,
    mute: Mute | None,
    ban: Ban | None,
    now: datetime,
) -> Refusal | None:
    """Why this user may not post now (None: they may). A ban or mute applies to managers too: an admin can
    silence a manager in one event's chat (admins themselves are never refused)."""
    if not settings.enabled:
        return Refusal("chat_disabled", "This event's chat is turned off.", {})
    if ban is not None:
        return Refusal(
            "chat_banned",
            f"You are banned from this event's chat: {ban.reason}",
            {"reason": ban.reason, "until": None},
        )
    if mute is not None and mute.active(now):
        until = mute.until.isoformat(timespec="seconds").replace("+00:00", "Z")
        return Refusal(
            "chat_muted",
            f"You are muted in this event's chat until {until}: {mute.reason}",
            {"reason": mute.reason, "until": until},
        )
    if is_manager:
        return None
    if settings.write is WriteAccess.MANAGERS:
        return Refusal("chat_read_only", "Only the event's organisers post in this chat.", {})
    if not is_participant:
        return Refusal("chat_participants_only", "Join the event to post in its chat.", {})
    return None


def reading_refusal(*, settings: Settings, is_manager: bool, is_participant: bool, ban: Ban | None) -> Refusal | None:
    """Why this user may not read the chat (None: they may). Banned users lose reading too."""
    if is_manager:
        return None
    if not settings.enabled:
        return Refusal("chat_disabled", "This event's chat is turned off.", {})
    if ban is not None:
        return Refusal(
            "chat_banned",
            f"You are banned from this event's chat: {ban.reason}",
            {"reason": ban.reason, "until": None},
        )
    if settings.read is ReadAccess.PARTICIPANTS and not is_participant:
        return Refusal("chat_participants_only", "This chat is for the event's participants; join to read it.", {})
    return None


# ------------------------------------------------------------------------------------------------ presence


def presence_due(last_count: int | None, last_at: float | None, count: int, now: float, interval: float) -> bool:
    """Whether a changed watcher count is pushed now: it differs from the last pushed one and the last push is at
    least `interval` seconds old (coalescing: a burst of joins is one push; what the window held back goes out
    with the next change after it, and every history answer carries the current count)."""
    if count == last_count:
        return False
    return last_at is None or now - last_at >= interval
