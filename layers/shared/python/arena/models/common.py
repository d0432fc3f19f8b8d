"""Value types every model shares: exact decimals as strings, UTC times, pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    WithJsonSchema,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from arena import clock
from arena.domain import text
from arena.domain.exact import DYNAMODB_DIGITS, canonical, fits_dynamodb

# ------------------------------------------------------------------------------------------------ exact decimals
# Money, scores, quantities and prices: decimal strings on the wire in both directions. A JSON number is refused
# (a float such as 0.1 is inexact before we see it, and accepting integers only would make "100" and 100 behave
# differently); what leaves the system is `exact.canonical`'s one form.

# DynamoDB numbers carry 38 significant digits; stay inside them so a stored amount is the amount sent.
MAX_SIGNIFICANT_DIGITS = DYNAMODB_DIGITS
MAX_TEXT_LENGTH = 100
# No price, quantity or prize is beyond these; the bound keeps every sum of them inside DynamoDB's range.
MAX_MAGNITUDE = 60
# What a client may send: plain notation, an optional minus sign, no exponent, no spaces.
DECIMAL_INPUT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
# What the API answers (exact.canonical): no leading or trailing zeros, "0" for zero, never "-0".
DECIMAL_OUTPUT_PATTERN = r"^(0|-?(0\.[0-9]*[1-9]|[1-9][0-9]*(\.[0-9]*[1-9])?))$"
_DECIMAL_INPUT = re.compile(DECIMAL_INPUT_PATTERN)
SEND_A_DECIMAL_STRING = 'send a decimal string such as "12.50"'


def _refuse(message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError("decimal_string", message, context or None)


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        # Built by our own code (a computed total, a stored amount): already exact; only the wire form is checked.
        if not value.is_finite():
            raise _refuse("must be a finite number")
        return value
    if not isinstance(value, str):
        kind = "a JSON number" if isinstance(value, int | float) and not isinstance(value, bool) else "not a string"
        raise _refuse(f"{SEND_A_DECIMAL_STRING}: {kind} is refused for exact amounts")
    if len(value) > MAX_TEXT_LENGTH:
        raise _refuse(f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits")
    if not _DECIMAL_INPUT.match(value):
        raise _refuse(f"{SEND_A_DECIMAL_STRING}: digits, an optional minus sign and decimal point, no exponent")
    parsed = Decimal(value)  # the constructor is exact: no context rounding
    if parsed != 0 and not -MAX_MAGNITUDE <= parsed.adjusted() < MAX_MAGNITUDE:
        raise _refuse(f"is out of range (amounts lie between 1e-{MAX_MAGNITUDE} and 1e{MAX_MAGNITUDE})")
    if not fits_dynamodb(parsed):
        raise _refuse(f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits")
    return parsed


# The one type of every exact amount, in requests and responses alike.
DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    PlainSerializer(canonical, return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": DECIMAL_INPUT_PATTERN,
            "maxLength": MAX_TEXT_LENGTH,
            "description": "An exact decimal as a string; JSON numbers are refused.",
            "examples": ["1250.75"],
        },
        mode="validation",
    ),
    WithJsonSchema(
        {
            "type": "string",
            "format": "decimal",
            "pattern": DECIMAL_OUTPUT_PATTERN,
            "description": "An exact decimal in its canonical form: no exponent, no trailing zeros, 0 for zero.",
            "examples": ["1250.75"],
        },
        mode="serialization",
    ),
]


def _positive(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be greater than zero")
    return value


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


PositiveDecimalStr = Annotated[DecimalStr, AfterValidator(_positive)]
NonNegativeDecimalStr = Annotated[DecimalStr, AfterValidator(_non_negative)]

# ------------------------------------------------------------------------------------------------ end of decimals


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must carry a time zone, e.g. 2026-12-01T00:00:00Z")
    return value.astimezone(UTC)


UtcDatetime = Annotated[
    datetime,
    AfterValidator(_require_utc),
    PlainSerializer(clock.to_iso, return_type=str, when_used="json"),
]


class ApiModel(BaseModel):
    """Strict about unknown fields on input so a typo is an error, not a silent no-op."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page; null at the end.")


class AuditEntry(BaseModel):
    """One audited action: who did what, to whom, why and when; `details` holds what else the action recorded
    (a mute's end, a deleted message's text, a filter's words, ...). Every text is plain text: render it escaped."""

    at: UtcDatetime
    actor: str = Field(description="Who acted.")
    action: str = Field(description="What was done (disqualify, reinstate, chat_mute, chat_delete, ...).")
    reason: str
    user_id: str | None = Field(default=None, description="Whom it was done to, when a person.")
    details: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> AuditEntry:
        known = {"subject", "entry", "at", "actor", "action", "reason", "user_id"}
        details = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in record.items() if k not in known}
        return cls(
            at=record["at"],
            actor=record["actor"],
            action=record["action"],
            reason=record.get("reason", ""),
            user_id=record.get("user_id"),
            details=details,
        )


class AuditPage(BaseModel):
    items: list[AuditEntry] = Field(description="Newest first.")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for older entries; null at the end.")


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: validation_failed, event_full, version_conflict, ...")
    message: str
    details: Any = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# ---------------------------------------------------------------------------------------------- free text
# Text people will see, cleaned and checked by the one policy of arena.domain.text (NFC, trimmed, no control or
# invisible characters, plain text escaped on render). A refusal is a 422 naming the field, with the reason.


@dataclass(frozen=True)
class FreeText:
    """`Annotated[str, FreeText(rule)]`: the string as arena.domain.text.clean returns it, or a validation error."""

    rule: text.TextRule

    def _clean(self, value: str) -> str:
        try:
            return text.clean(value, self.rule)
        except text.TextRefused as refused:
            raise PydanticCustomError(refused.kind, refused.message) from None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._clean, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["maxLength"] = self.rule.max_length
        if self.rule.min_length:
            json_schema["minLength"] = self.rule.min_length
        lines = "may span lines" if self.rule.multiline else "one line"
        json_schema.setdefault("description", f"Plain text ({lines}): never HTML, escape it when rendering.")
        return json_schema


EventName = Annotated[str, FreeText(text.EVENT_NAME)]
EventDescription = Annotated[str, FreeText(text.EVENT_DESCRIPTION)]
PrizeDescription = Annotated[str, FreeText(text.PRIZE_DESCRIPTION)]
Reason = Annotated[str, FreeText(text.REASON)]
ModerationReason = Annotated[str, FreeText(text.MODERATION_REASON)]
Note = Annotated[str, FreeText(text.NOTE)]
Reference = Annotated[str, FreeText(text.REFERENCE)]
