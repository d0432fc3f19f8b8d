"""Free text that people will see: event names and descriptions, reasons, notes, announcements. One policy for
every such field (the models' annotated types in arena.models.common and the WebSocket announce apply it):

* **Plain text, never HTML.** Text is stored as sent (after the steps below) and escaped by whatever renders it:
  `<b>Cup</b>` as a name is those ten characters, shown as such. The web console, e-mails and bots escape on
  render; the API answers JSON, which a browser does not render. No field takes rich text today; one that does
  will say so in its type and pass an allow-list sanitiser (nh3) on the way in, here, so stored rich text is
  always safe to render as HTML and all other text never is.
* **One form per visible string.** Unicode NFC (an "é" typed precomposed or as "e" + combining accent is stored
  the same way), line breaks as "\\n", surrounding whitespace trimmed; lengths are counted after that.
* **Refused, with the reason and the position (a 422):** control characters (line breaks and tabs only in
  multi-line fields), invisible format characters (bidi embeddings, overrides and isolates that reorder what is
  shown, zero-width spaces and joiners, the byte-order mark, soft hyphens, tag characters that hide text from
  readers but not from machines), line and paragraph separators, private-use and unpaired surrogate code points,
  letters that render blank (Hangul fillers, the braille blank), more than MAX_COMBINING_MARKS marks on one
  character (text that spills over its neighbours), and text with nothing visible.
* **What real text needs stays allowed:** a zero-width joiner between emoji (family and profession sequences),
  zero-width joiners and non-joiners inside words of scripts that use them (Arabic, Syriac, the Indic scripts),
  and the tag characters of a subdivision flag emoji.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_COMBINING_MARKS = 8
# Beyond this many code points before normalisation the text is refused unread: no limit here is near it.
RAW_LENGTH_FACTOR = 4

ZERO_WIDTH_JOINER = "\u200d"
ZERO_WIDTH_NON_JOINER = "\u200c"
# Letters that draw nothing, used to make names that look empty.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")
# A subdivision flag: black flag, tag letters, cancel tag (England, Scotland, Wales).
FLAG_TAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,32}\U000e007f")
# Scripts whose words need ZWJ / ZWNJ to choose a letter's form: Arabic, Syriac, Thaana, Arabic supplements and
# presentation forms, and the Brahmic scripts from Devanagari to Sinhala.
_JOINING_SCRIPTS = (
    (0x0600, 0x07BF),
    (0x0860, 0x08FF),
    (0x0900, 0x0DFF),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFF),
)
# Emoji, their skin-tone modifiers and the emoji presentation selector, as far as a ZWJ sequence needs them.
_EMOJI = (
    (0x2300, 0x23FF),
    (0x2600, 0x27BF),
    (0x2B00, 0x2BFF),
    (0xFE0F, 0xFE0F),
    (0x1F000, 0x1FAFF),
)


@dataclass(frozen=True)
class TextRule:
    """What one kind of free text may be: its length after cleaning, and whether it may span lines."""

    max_length: int
    min_length: int = 0
    multiline: bool = False


EVENT_NAME = TextRule(max_length=120, min_length=1)
EVENT_DESCRIPTION = TextRule(max_length=4000, multiline=True)
PRIZE_DESCRIPTION = TextRule(max_length=500)  # a custom tier without one is refused by the tier's own rule
REASON = TextRule(max_length=500, min_length=1, multiline=True)
MODERATION_REASON = TextRule(max_length=500, min_length=3, multiline=True)
NOTE = TextRule(max_length=500, multiline=True)
REFERENCE = TextRule(max_length=200)
ANNOUNCEMENT = TextRule(max_length=500, min_length=1, multiline=True)
DISPLAY_NAME = TextRule(max_length=40, min_length=2)


class TextRefused(ValueError):
    """Why a text was refused. `kind` is stable (text_too_long, text_too_short, text_blank, text_character)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _within(character: str, ranges: tuple[tuple[int, int], ...]) -> bool:
    code = ord(character)
    return any(low <= code <= high for low, high in ranges)


def _joiner_is_needed(text: str, index: int) -> bool:
    """A ZWJ between emoji, or a ZWJ / ZWNJ between two characters of a script that joins letters."""
    if index == 0 or index == len(text) - 1:
        return False
    before, after = text[index - 1], text[index + 1]
    if text[index] == ZERO_WIDTH_JOINER and _within(before, _EMOJI) and _within(after, _EMOJI):
        return True
    return _within(before, _JOINING_SCRIPTS) and _within(after, _JOINING_SCRIPTS)


def _describe(character: str) -> str:
    name = unicodedata.name(character, "")
    return f"U+{ord(character):04X}" + (f" {name}" if name else "")


def _refusal(character: str, category: str, multiline: bool) -> str | None:
    """Why this character may not appear (None: it may), before the exceptions for joiners and flags."""
    if character in "\n\t":
        return None if multiline else ("a line break" if character == "\n" else "a tab")
    if category == "Cc":
        return "a control character"
    if category == "Cf":
        return "an invisible formatting character"
    if category in ("Zl", "Zp"):
        return "a line or paragraph separator"
    if category == "Co":
        return "a private-use character"
    if category == "Cs":
        return "an unpaired surrogate"
    if character in BLANK_LETTERS:
        return "a character that renders blank"
    return None


def _is_visible(character: str, category: str) -> bool:
    return not (character.isspace() or category[0] in "ZC" or category in ("Mn", "Me") or character in BLANK_LETTERS)


def check_characters(text: str, *, multiline: bool = False) -> None:
    """TextRefused for the first character the policy refuses."""
    flag_tags = {index for match in FLAG_TAG_SEQUENCE.finditer(text) for index in range(match.start(), match.end())}
    marks = 0
    for index, character in enumerate(text):
        category = unicodedata.category(character)
        reason = _refusal(character, category, multiline)
        joiner = character in (ZERO_WIDTH_JOINER, ZERO_WIDTH_NON_JOINER) and _joiner_is_needed(text, index)
        if reason and category == "Cf" and (index in flag_tags or joiner):
            reason = None
        if reason:
            raise TextRefused(
                "text_character",
                f"contains {reason} ({_describe(character)}) at position {index + 1}; send plain, visible text",
            )
        marks = marks + 1 if category in ("Mn", "Me") else 0
        if marks > MAX_COMBINING_MARKS:
            raise TextRefused(
                "text_character",
                f"has more than {MAX_COMBINING_MARKS} combining marks on one character (at position {index + 1})",
            )


def clean(text: str, rule: TextRule) -> str:
    """The text as stored: NFC, "\\n" line breaks, trimmed, checked against the rule. TextRefused says why not."""
    if len(text) > rule.max_length * RAW_LENGTH_FACTOR:
        raise TextRefused("text_too_long", f"must be at most {rule.max_length} characters")
    if rule.multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    check_characters(text, multiline=rule.multiline)  # before NFC: it must not hide what was sent
    text = unicodedata.normalize("NFC", text).strip()
    if text and not any(_is_visible(character, unicodedata.category(character)) for character in text):
        raise TextRefused("text_blank", "has no visible character")
    if len(text) > rule.max_length:
        raise TextRefused("text_too_long", f"must be at most {rule.max_length} characters (it has {len(text)})")
    if len(text) < rule.min_length:
        message = "must not be empty" if rule.min_length == 1 else f"must be at least {rule.min_length} characters"
        raise TextRefused("text_too_short", message)
    return text
