"""Exact decimal arithmetic. Python's default context rounds to 28 digits and is per thread; money and scores
use this one instead, which refuses (raises) rather than rounds. DynamoDB stores up to 38 significant digits."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Clamped, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow, Underflow

DYNAMODB_DIGITS = 38
# Wide enough that sums and products of stored amounts never round; Inexact makes any rounding an error.
EXACT = Context(
    prec=2 * DYNAMODB_DIGITS + 4,
    Emax=999_999,
    Emin=-999_999,
    traps=[Inexact, Overflow, Underflow, InvalidOperation, DivisionByZero, Clamped],
)


# For the few deliberate roundings (ROI's quotient): no traps, the caller quantizes with an explicit rule.
ROUNDING = Context(prec=EXACT.prec)


def total(values: Iterable[Decimal], start: Decimal = Decimal(0)) -> Decimal:
    result = start
    for value in values:
        result = EXACT.add(result, value)
    return result


def product(a: Decimal, b: Decimal) -> Decimal:
    return EXACT.multiply(a, b)


def significant_digits(value: Decimal) -> int:
    """Digits DynamoDB must store: leading and trailing zeros do not count."""
    if value == 0:
        return 1
    digits = value.as_tuple().digits
    return len("".join(str(d) for d in digits).strip("0")) or 1


def fits_dynamodb(value: Decimal) -> bool:
    """DynamoDB numbers: 38 significant digits, magnitude 1e-130 .. 1e126."""
    if not value.is_finite():
        return False
    if value == 0:
        return True
    return significant_digits(value) <= DYNAMODB_DIGITS and -130 <= value.adjusted() < 126


def canonical(value: Decimal) -> str:
    """The one wire form of an exact decimal: plain notation (never an exponent), no trailing fractional zeros,
    "0" for any zero. Equal amounts read the same ("105600.0", "105600.00" and "1.056E+5" are all "105600"), and
    the text parses back to the same value. The fractional digits a value needs are kept; none are invented."""
    if not value.is_finite():
        raise ValueError(f"not a finite decimal: {value}")
    if value.is_zero():
        return "0"
    text = format(value, "f")  # exact: without a precision, format neither rounds nor uses an exponent
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text
