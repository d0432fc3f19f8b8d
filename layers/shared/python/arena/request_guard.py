"""What an HTTP request must be before a route reads it: ids in the path within the id bound, and a body the route's
JSON reader can take. Hostile input is answered with a 4xx here, so it never reaches the JSON parser's recursion,
Python's integer digit limit, a pydantic model or a DynamoDB key limit.

`arena.http.ArenaResolver` calls `check_request` once the route has matched and the caller may call it (a caller
without the role learns nothing about what the route reads); a refusal is a typed error, mapped to its status and
error body like every other.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from arena.errors import BadRequest, NotFound, UnsupportedMediaType
from arena.ids import within_id_bound

JSON_MEDIA_TYPE = "application/json"
# DynamoDB stores documents nested at most 32 levels; no request body of this API needs more.
MAX_JSON_DEPTH = 32
# DynamoDB numbers keep 38 significant digits; a longer integer cannot be stored, and one past Python's digit limit
# (4,300) cannot even be parsed.
MAX_INTEGER_DIGITS = 38

NOT_JSON = "The request body is not valid JSON."


def check_request(event: Mapping[str, Any], takes_body: bool) -> None:
    """Raise the typed error that refuses this request, or return when a route may read it.

    Path ids come first (an id past the bound names nothing: 404, as an unknown id would). The body is checked
    only on routes that read one: a body-less route ignores whatever a client sends it, as its handler does."""
    check_path_ids(event)
    if takes_body:
        check_body(event)


def check_path_ids(event: Mapping[str, Any]) -> None:
    """Every path parameter, and every segment of the raw path (Powertools takes a route's ids from the raw,
    still percent-encoded path), within the id bound."""
    segments = [segment for segment in str(event.get("rawPath") or "").split("/") if segment]
    for value in [*(event.get("pathParameters") or {}).values(), *segments]:
        if not within_id_bound(value):
            raise NotFound("Nothing here: check the path and its ids.", code="not_found")


def check_body(event: Mapping[str, Any]) -> None:
    """A body, when there is one, must be JSON in UTF-8 within the depth and number bounds (400 `invalid_json`),
    sent as application/json or without a Content-Type (415 `unsupported_media_type` otherwise)."""
    raw = event.get("body")
    if raw is None or raw == "":
        return
    _check_content_type(event)
    read_json(_body_text(raw, bool(event.get("isBase64Encoded"))))


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def _check_content_type(event: Mapping[str, Any]) -> None:
    content_type = _header(event, "content-type")
    if content_type is None:
        return  # Powertools reads a body without a type as JSON, and so do we
    media_type, *parameters = (part.strip() for part in content_type.split(";"))
    charset = next(
        (value.strip('"').lower() for name, _, value in (p.partition("=") for p in parameters) if name == "charset"),
        "utf-8",
    )
    if media_type.lower() != JSON_MEDIA_TYPE or charset != "utf-8":
        raise UnsupportedMediaType(
            "Send the body as application/json (UTF-8).",
            details={"content_type": content_type[:100], "accepted": [JSON_MEDIA_TYPE]},
        )


def _body_text(raw: Any, is_base64: bool) -> str:
    if not isinstance(raw, str):
        raise BadRequest(NOT_JSON, code="invalid_json", details={"reason": "the body is not text"})
    if not is_base64:
        return raw  # an unpaired surrogate in it is refused where it stands: a JSON string, or JSON syntax
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadRequest(NOT_JSON, code="invalid_json", details={"reason": "the body is not UTF-8 text"}) from None


def _bounded_integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"an integer longer than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_json(text: str) -> Any:
    """The JSON value of `text`, or BadRequest `invalid_json` saying why: not JSON, nested deeper than
    MAX_JSON_DEPTH, an integer longer than MAX_INTEGER_DIGITS, NaN or Infinity, or a string that is not Unicode
    text (an unpaired surrogate escape, which no UTF-8 store can hold)."""
    try:
        value = json.loads(text, parse_int=_bounded_integer, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest(NOT_JSON, code="invalid_json", details={"reason": _too_deep()}) from None
    except ValueError as error:  # JSONDecodeError is a ValueError, and so are the hooks' refusals
        reason = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise BadRequest(NOT_JSON, code="invalid_json", details={"reason": reason}) from None
    _check_shape(value)
    return value


def _too_deep() -> str:
    return f"nested deeper than {MAX_JSON_DEPTH} levels"


def _check_shape(value: Any) -> None:
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise BadRequest(NOT_JSON, code="invalid_json", details={"reason": _too_deep()})
            if isinstance(item, dict):
                for key in item:
                    _check_text(key)
                pending.extend((child, depth + 1) for child in item.values())
            else:
                pending.extend((child, depth + 1) for child in item)


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(NOT_JSON, code="invalid_json", details={"reason": "a string is not Unicode text"}) from None
