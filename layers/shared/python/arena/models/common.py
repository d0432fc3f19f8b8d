"""Value types every model shares: exact decimals as strings, UTC times, pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
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
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from arena import clock
from arena.domain import text
from arena.domain.exact import DYNAMODB_DIGITS, fits_dynamodb

# DynamoDB numbers carry 38 significant digits; stay inside them so a stored amount is the amount sent.
MAX_SIGNIFICANT_DIGITS = DYNAMODB_DIGITS
MAX_TEXT_LENGTH = 100
# No price, quantity or prize is beyond these; the bound keeps every sum of them inside DynamoDB's range.
MAX_MAGNITUDE = 60


def _parse_decimal(value: Any) -> Decimal:
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, bool) or not isinstance(value, str | int):
        # Floats are refused on purpose: 0.1 as a JSON number is already inexact before we see it.
        raise ValueError('must be a decimal string such as "12.50"')
    else:
        text = str(value).strip()
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits")
        try:
            parsed = Decimal(text)  # the constructor is exact: no context rounding
        except InvalidOperation:
            raise ValueError('must be a decimal string such as "12.50"') from None
    if not parsed.is_finite():
        raise ValueError("must be a finite number")
    if parsed != 0 and not -MAX_MAGNITUDE <= parsed.adjusted() < MAX_MAGNITUDE:
        raise ValueError(f"is out of range (amounts lie between 1e-{MAX_MAGNITUDE} and 1e{MAX_MAGNITUDE})")
    if not fits_dynamodb(parsed):
        raise ValueError(f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits")
    return parsed


DecimalStr = Annotated[
    Decimal,
    BeforeValidator(_parse_decimal),
    PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json"),
    Field(json_schema_extra={"type": "string", "format": "decimal", "examples": ["1250.75"]}),
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
