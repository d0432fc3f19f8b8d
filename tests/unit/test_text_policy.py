"""The free-text policy (arena.domain.text) and the annotated types that apply it (arena.models.common): text people
will see is NFC, trimmed, plain (HTML is kept as text, escaped on render), without control or invisible characters,
and a refusal is a 422 that names the field and says why."""

from __future__ import annotations

import html
import importlib
import json
import pkgutil
import unicodedata
from typing import Any, get_args

import pytest
from arena import models
from arena.auth import Audience
from arena.domain import text
from arena.domain.text import TextRefused, clean
from arena.http import allow, make_resolver
from arena.models.common import ApiModel, EventName, FreeText, Reason
from arena.models.events import EventCreate, EventPatch
from pydantic import BaseModel, ValidationError

from local.template import REPO_ROOT
from tests.conftest import sample_event

# Field names that carry text people will see, wherever they appear in a request body.
FREE_TEXT_FIELDS = {"name", "description", "reason", "note", "reference", "text"}

HOSTILE = {
    "right-to-left override": ("Prize \u202e3pm\u202c", "U+202E"),
    "left-to-right embedding": ("\u202apay me\u202c", "U+202A"),
    "first-strong isolate": ("name\u2068x\u2069", "U+2068"),
    "right-to-left mark": ("\u200fadmin", "U+200F"),
    "zero-width space": ("ad\u200bmin", "U+200B"),
    "zero-width joiner in latin": ("ad\u200dmin", "U+200D"),
    "zero-width non-joiner in latin": ("ad\u200cmin", "U+200C"),
    "word joiner": ("ad\u2060min", "U+2060"),
    "byte-order mark": ("\ufeffWinter Cup", "U+FEFF"),
    "soft hyphen": ("ad\u00admin", "U+00AD"),
    "tag characters (hidden text)": ("Cup\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065", "U+E0069"),
    "null": ("Cup\x00", "U+0000"),
    "escape (terminal colours)": ("\x1b[31mCup", "U+001B"),
    "delete": ("Cup\x7f", "U+007F"),
    "C1 control": ("Cup\x85", "U+0085"),
    "line separator": ("Cup\u2028Two", "U+2028"),
    "paragraph separator": ("Cup\u2029Two", "U+2029"),
    "private use": ("Cup \ue000", "U+E000"),
    "unpaired surrogate": ("Cup \ud800", "U+D800"),
    "hangul filler (blank name)": ("\u3164", "U+3164"),
    "braille blank": ("\u2800\u2800", "U+2800"),
    "combining grapheme joiner": ("a\u034fb", "U+034F"),
    "line break in a one-line field": ("Winter\nCup", "U+000A"),
    "tab in a one-line field": ("Winter\tCup", "U+0009"),
}

REAL_TEXT = {
    "plain": "Winter Volume Cup",
    "accents (NFC already)": "Été à Montréal",
    "cjk": "冬季交易大赛",
    "arabic (right to left, no controls needed)": "مسابقة التداول",
    "hebrew": "תחרות מסחר",
    "persian with a zero-width non-joiner": "می\u200cخواهم",  # noqa: RUF001 - Persian, not look-alikes
    "hindi with a zero-width joiner": "क्\u200dष",
    "emoji family (zero-width joiners)": "Team \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "emoji with skin tone and profession": "\U0001f469\U0001f3fd\u200d\U0001f4bb traders",
    "scotland flag (tag characters)": "Go \U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
    "vietnamese": "Cuộc thi giao dịch",
    "html is just text": "<script>alert('x')</script> & <b>bold</b>",
    "sql is just text": "Robert'); DROP TABLE events;--",
}


# ---------------------------------------------------------------------------------------------- the policy


@pytest.mark.parametrize(("hostile", "named"), HOSTILE.values(), ids=HOSTILE.keys())
def test_control_and_invisible_characters_are_refused_and_named(hostile: str, named: str) -> None:
    """Given a hostile string with a control or invisible character
    When it is offered as an event name
    Then it is refused, naming the code point (never echoing it: it may be invisible or reorder the message)."""
    # When a hostile string is offered as an event name
    with pytest.raises(TextRefused) as refused:
        clean(hostile, text.EVENT_NAME)

    # Then
    assert refused.value.kind == "text_character"
    assert named in refused.value.message
    assert hostile not in refused.value.message


@pytest.mark.parametrize("real", REAL_TEXT.values(), ids=REAL_TEXT.keys())
def test_text_real_people_write_is_kept_as_written(real: str) -> None:
    """Given text real people write, in any script
    When it is cleaned as an event name
    Then it is kept as written, in NFC."""
    assert clean(real, text.EVENT_NAME) == unicodedata.normalize("NFC", real)


def test_text_is_stored_in_one_normal_form_and_measured_after_it() -> None:
    """Given "é" sent decomposed (e + combining acute), 120 times: 240 code points, 120 characters once composed
    When it is cleaned as an event name (at most 120)
    Then it is stored composed, and fits"""
    decomposed = "e\u0301" * 120

    # When
    stored = clean(decomposed, text.EVENT_NAME)

    # Then
    assert stored == "\u00e9" * 120
    assert stored == clean("\u00e9" * 120, text.EVENT_NAME)


def test_surrounding_whitespace_is_trimmed_and_whitespace_alone_is_empty() -> None:
    """Given a name with Unicode spaces around it, and a name of spaces only
    When they are cleaned
    Then the first is trimmed and the second is refused as text_too_short."""
    assert clean("  Winter Cup \u3000", text.EVENT_NAME) == "Winter Cup"
    with pytest.raises(TextRefused) as refused:
        clean(" \u00a0\u2003 ", text.EVENT_NAME)
    assert refused.value.kind == "text_too_short"


def test_multi_line_text_keeps_line_breaks_in_one_form() -> None:
    """Given a reason typed on Windows, with a tab
    When it is cleaned
    Then its line breaks become \n and the tab stays."""
    assert clean("Wash trading.\r\nSee ticket\t42.\rDone", text.REASON) == "Wash trading.\nSee ticket\t42.\nDone"


def test_text_with_nothing_visible_is_refused() -> None:
    """Given text of combining marks only
    When it is cleaned
    Then it is refused as text_blank."""
    with pytest.raises(TextRefused) as refused:
        clean("\u0301\u0301", text.EVENT_NAME)
    assert refused.value.kind == "text_blank"


def test_a_pile_of_combining_marks_is_refused() -> None:
    """Given "zalgo" text: a letter with 30 marks stacked on it, and a letter with the few marks real scripts stack
    When they are cleaned
    Then the first is refused as text_character and the second kept."""
    # Given "zalgo" text: a letter with 30 marks stacked on it, drawn over the lines around it
    with pytest.raises(TextRefused) as refused:
        clean("Cup" + "\u0336\u0337\u0338" * 10, text.EVENT_NAME)
    assert refused.value.kind == "text_character"
    # And what real scripts stack (a few marks per letter) is kept
    assert clean("Cu\u0323\u0302p", text.EVENT_NAME) == unicodedata.normalize("NFC", "Cu\u0323\u0302p")


def test_length_is_limited_and_huge_input_is_refused_unread() -> None:
    """Given a name one character too long, and a million-character input
    When they are cleaned
    Then both are refused as text_too_long."""
    with pytest.raises(TextRefused) as too_long:
        clean("x" * 121, text.EVENT_NAME)
    assert too_long.value.kind == "text_too_long"
    with pytest.raises(TextRefused) as huge:
        clean("\u202e" * 1_000_000, text.EVENT_NAME)
    assert huge.value.kind == "text_too_long"


def test_html_is_stored_as_text_and_safe_once_escaped_on_render() -> None:
    """Given markup in a description (no field takes rich text: it is text)
    When it is cleaned, and later rendered the way the policy says (escaped)
    Then it is kept byte for byte, and once escaped no tag survives"""
    markup = '<img src=x onerror="alert(1)"><a href="javascript:alert(2)">prize</a>'

    # When
    stored = clean(markup, text.EVENT_DESCRIPTION)
    rendered = html.escape(stored)

    # Then
    assert stored == markup
    assert "<" not in rendered and ">" not in rendered and '"' not in rendered


# ---------------------------------------------------------------------------------------------- the models


def _event_create(**fields: Any) -> dict[str, Any]:
    body = json.loads(sample_event("events/create_event.json")["body"])
    return {**body, **fields}


def test_a_model_refuses_hostile_text_with_the_field_and_the_reason() -> None:
    """Given an event creation with a bidi override in its name
    When the model validates it
    Then the error names the field, a stable type and the code point."""
    # When an event is created with a bidi override in its name
    with pytest.raises(ValidationError) as refused:
        EventCreate.model_validate(_event_create(name="Winter \u202eCup"))

    # Then
    [error] = refused.value.errors()
    assert error["loc"] == ("name",)
    assert error["type"] == "text_character"
    assert "U+202E" in error["msg"]


def test_models_store_what_the_policy_cleans() -> None:
    """Given an event creation with a padded, decomposed name and a Windows description, and a patch without a name
    When the models validate them
    Then they hold the cleaned text, and the optional name stays None."""
    event = EventCreate.model_validate(_event_create(name="  Cafe\u0301 Cup ", description="Line 1\r\nLine 2"))
    assert (event.name, event.description) == ("Caf\u00e9 Cup", "Line 1\nLine 2")
    # And an optional field stays optional
    assert EventPatch.model_validate({"version": 1}).name is None


class Cancel(ApiModel):
    reason: Reason


def test_the_api_answers_hostile_text_with_a_clear_422(lambda_context: Any) -> None:
    """Given a route that takes a reason, on the one resolver every handler uses
    When the reason hides a zero-width space
    Then the answer is 422 in the error shape, naming the field and why"""
    app = make_resolver()

    @app.post("/test/cancel")
    @allow(Audience.PEOPLE)
    def cancel(request: Cancel) -> dict[str, str]:
        return {"reason": request.reason}

    event = sample_event("events/create_event.json")
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /test/cancel"
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/test/cancel"

    # When
    event["body"] = json.dumps({"reason": "dup\u200blicate"})
    answer = app.resolve(event, lambda_context)

    # Then
    assert answer["statusCode"] == 422
    error = json.loads(answer["body"])["error"]
    assert error["code"] == "validation_failed"
    [detail] = error["details"]
    assert detail["field"].endswith("reason")
    assert detail["type"] == "text_character" and "U+200B" in detail["message"]

    # And clean text goes through, cleaned
    event["body"] = json.dumps({"reason": "  duplicate\r\nevent "})
    answer = app.resolve(event, lambda_context)
    assert (answer["statusCode"], json.loads(answer["body"])) == (200, {"reason": "duplicate\nevent"})


def test_the_schema_states_the_limits_and_that_text_is_plain() -> None:
    """Given the event creation model
    When its JSON schema is made
    Then the name states its length limits and that it is plain text, never HTML."""
    schema = EventCreate.model_json_schema()["properties"]["name"]
    assert (schema["type"], schema["maxLength"], schema["minLength"]) == ("string", 120, 1)
    assert "never HTML" in schema["description"]


# ---------------------------------------------------------------------------------------------- every field


def _request_models() -> set[type[BaseModel]]:
    """Every model a route reads as its body (docs/openapi.json's request bodies), and the models inside them."""
    document = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text())
    names = {
        operation["requestBody"]["content"]["application/json"]["schema"].get("$ref", "").rpartition("/")[2]
        for item in document["paths"].values()
        for operation in item.values()
        if "requestBody" in operation
    }
    names = {name.removesuffix("-Input") for name in names if name}
    classes: dict[str, type[BaseModel]] = {}
    for module_info in pkgutil.iter_modules(models.__path__):
        module = importlib.import_module(f"arena.models.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel):
                classes.setdefault(value.__name__, value)
    found: set[type[BaseModel]] = set()
    pending = [classes[name] for name in names]
    while pending:
        model = pending.pop()
        if model in found:
            continue
        found.add(model)
        for field in model.model_fields.values():
            pending.extend(_nested_models(field.annotation))
    return found


def _nested_models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in get_args(annotation) for model in _nested_models(argument)]


def test_every_free_text_field_of_a_request_follows_the_policy() -> None:
    """Given every model a route reads (a new route's body included)
    When their free-text fields are inspected
    Then each of them is one of the policy's types."""
    request_models = _request_models()
    assert EventCreate in request_models

    # Then each of their free-text fields is one of the policy's types
    unchecked = [
        f"{model.__name__}.{name}"
        for model in request_models
        for name, field in model.model_fields.items()
        if name in FREE_TEXT_FIELDS and not any(isinstance(meta, FreeText) for meta in _metadata(field))
    ]
    assert not unchecked


def _metadata(field: Any) -> list[Any]:
    """The field's own metadata and that of the types in its annotation (`Reason | None`)."""
    found = list(field.metadata)
    pending = [field.annotation]
    while pending:
        annotation = pending.pop()
        found.extend(getattr(annotation, "__metadata__", ()))
        pending.extend(get_args(annotation))
    return found


def test_the_annotated_types_carry_their_rule() -> None:
    """Given the EventName annotated type
    When its metadata is read
    Then it carries the event name rule."""
    [rule] = [meta for meta in getattr(EventName, "__metadata__", ()) if isinstance(meta, FreeText)]
    assert rule.rule == text.EVENT_NAME
