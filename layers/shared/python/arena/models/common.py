"""Value types every model shares: exact decimals as strings, UTC times, pages."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
)

from arena import clock
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
