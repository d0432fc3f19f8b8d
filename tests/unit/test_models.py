"""arena.models: exact decimals as strings, UTC times, prize tables, markets and the trade feed's TradeIn."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from arena.models.common import (
    DECIMAL_OUTPUT_PATTERN,
    MAX_SIGNIFICANT_DIGITS,
    DecimalStr,
    PositiveDecimalStr,
    UtcDatetime,
)
from arena.models.events import EventCreate, PrizeTier
from arena.models.trades import TradeIn
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from tests.conftest import sample_event


class Amount(BaseModel):
    value: DecimalStr


class Price(BaseModel):
    value: PositiveDecimalStr


class Moment(BaseModel):
    at: UtcDatetime


def _errors(error: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(".".join(str(p) for p in e["loc"]), e["msg"]) for e in error.value.errors()]


# ------------------------------------------------------------------------------------------- decimal strings


@pytest.mark.parametrize("value", [0.1, 1.0, 12.5, -3.25, float("1e10"), 0, 12, -7, 10**40])
def test_decimal_refuses_json_numbers(value: float) -> None:
    """Given an amount sent as a JSON number, with a fraction (already inexact) or an integer
    When validated Then refused with the hint to send a decimal string, typed decimal_string."""
    with pytest.raises(ValidationError) as raised:
        Amount(value=value)
    assert _errors(raised) == [
        ("value", 'send a decimal string such as "12.50": a JSON number is refused for exact amounts')
    ]
    assert raised.value.errors()[0]["type"] == "decimal_string"


@pytest.mark.parametrize("value", [True, False, None, [1], {"v": 1}])
def test_decimal_refuses_other_json_types(value: Any) -> None:
    """Given a boolean, null, list or object When validated as an amount Then refused."""
    with pytest.raises(ValidationError):
        Amount(value=value)


@pytest.mark.parametrize("value", ["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "-inf"])
def test_decimal_refuses_nan_and_infinity(value: str) -> None:
    """Given NaN or Infinity as text When validated Then refused: only finite amounts exist."""
    with pytest.raises(ValidationError) as raised:
        Amount(value=value)
    assert "send a decimal string" in _errors(raised)[0][1]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_decimal_refuses_nan_and_infinity_from_code(value: Decimal) -> None:
    """Given a non-finite Decimal built by code When validated Then refused: it has no wire form."""
    with pytest.raises(ValidationError) as raised:
        Amount(value=value)
    assert _errors(raised) == [("value", "must be a finite number")]


@pytest.mark.parametrize(
    "value", ["", "abc", "1,5", "12.50 USDT", "0x10", "1e", "1E+3", "2.5e-3", " 3.5 ", "+1", "1_000", ".5", "5.", "٣"]
)
def test_decimal_refuses_text_that_is_not_plain_decimal_notation(value: str) -> None:
    """Given text that is no decimal, or one in another notation (exponent, spaces, sign, digit groups, non-ASCII
    digits) When validated Then refused: one grammar on the way in, the one the OpenAPI pattern states."""
    with pytest.raises(ValidationError):
        Amount(value=value)


@pytest.mark.parametrize(
    "value",
    [
        "1." + "2" * 38,  # 39 significant digits
        "9" * 39,
        "0." + "1" * 39,
        "-1234567890123456789012345678901234567890",  # 40
        "1." + "0" * 37 + "1",  # 39: a tiny difference DynamoDB cannot keep
    ],
)
def test_decimal_refuses_more_than_38_significant_digits(value: str) -> None:
    """Given an amount with more significant digits than DynamoDB keeps (38)
    When validated
    Then refused, so a stored amount is always the amount sent."""
    with pytest.raises(ValidationError) as raised:
        Amount(value=value)
    assert "significant digits" in str(raised.value)


def test_decimal_accepts_exactly_38_significant_digits() -> None:
    """Given an amount with exactly 38 significant digits When validated Then it is kept digit for digit."""
    text = "1234567890.1234567890123456789012345678"
    assert len(text.replace(".", "")) == MAX_SIGNIFICANT_DIGITS
    assert Amount(value=text).value == Decimal(text)
    assert Amount(value=text).model_dump(mode="json") == {"value": text}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1" + "0" * 60, "out of range"),
        ("-1" + "0" * 60, "out of range"),
        ("0." + "0" * 60 + "1", "out of range"),
        ("1" + "0" * 100, "significant digits"),  # longer than any amount: refused before it is parsed
        ("1e999999999", "decimal string"),
        ("1e-1000000", "decimal string"),
    ],
)
def test_decimal_refuses_amounts_far_out_of_range_as_a_validation_error(value: str, problem: str) -> None:
    """Given an amount beyond 1e60 or below 1e-60, or written with a huge exponent
    When validated
    Then it is a validation error (422 for the caller), never an arithmetic exception (500)."""
    with pytest.raises(ValidationError) as raised:
        Amount(value=value)
    assert problem in _errors(raised)[0][1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("3.5", Decimal("3.5")),
        ("-0.000001", Decimal("-0.000001")),
        ("007", Decimal(7)),
        ("1" + "0" * 40, Decimal(10**40)),  # one significant digit
        (Decimal("0.30"), Decimal("0.30")),
    ],
)
def test_decimal_accepts_strings_and_decimals(value: Any, expected: Decimal) -> None:
    """Given an amount as a decimal string (or a Decimal built by code) When validated Then it is that exact
    Decimal."""
    parsed = Amount(value=value).value
    assert isinstance(parsed, Decimal)
    assert parsed == expected


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("12.50", "12.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1e-7"), "0.0000001"),
        (Decimal("-2.5E-3"), "-0.0025"),
        ("96000.50", "96000.5"),
        ("0", "0"),
        ("-0.00", "0"),
        ("5", "5"),
    ],
)
def test_decimal_serialises_in_the_canonical_form(value: Any, wire: str) -> None:
    """Given an amount When serialised to JSON Then it is a string in the canonical form: plain notation (no
    float, no exponent), no trailing fractional zeros, "0" for zero."""
    model = Amount(value=value)
    assert model.model_dump(mode="json") == {"value": wire}
    assert json.loads(model.model_dump_json()) == {"value": wire}


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-(10**20), max_value=10**20))
def test_decimal_round_trips_through_json_exactly(value: Decimal) -> None:
    """Given any amount with up to 8 decimal places When serialised and read back Then it is the same number,
    and its wire form matches the documented output pattern."""
    wire = Amount(value=format(value, "f")).model_dump(mode="json")["value"]
    assert isinstance(wire, str)
    assert re.match(DECIMAL_OUTPUT_PATTERN, wire), wire
    assert Amount(value=wire).value == value


@pytest.mark.parametrize("value", ["0", "-1", "0.000"])
def test_positive_decimal_refuses_zero_and_negatives(value: str) -> None:
    """Given a price of zero or below When validated Then refused."""
    with pytest.raises(ValidationError) as raised:
        Price(value=value)
    assert _errors(raised) == [("value", "Value error, must be greater than zero")]


# ------------------------------------------------------------------------------------------- UtcDatetime


def test_utc_datetime_requires_a_zone() -> None:
    """Given a time without a zone When validated Then refused: which noon would it be?"""
    with pytest.raises(ValidationError) as raised:
        Moment(at="2026-12-01T12:00:00")
    assert "must carry a time zone" in str(raised.value)
    with pytest.raises(ValidationError):
        Moment(at=datetime(2026, 12, 1, 12))


@pytest.mark.parametrize(
    ("text", "wire"),
    [
        ("2026-12-01T12:00:00Z", "2026-12-01T12:00:00.000Z"),
        ("2026-12-01T14:00:00+02:00", "2026-12-01T12:00:00.000Z"),
        ("2026-12-01T07:30:00.123-04:30", "2026-12-01T12:00:00.123Z"),
    ],
)
def test_utc_datetime_is_converted_to_utc_and_serialised_with_z(text: str, wire: str) -> None:
    """Given a time with any offset When validated Then it is held in UTC and written as ISO with ms and a Z."""
    moment = Moment(at=text)
    assert moment.at.tzinfo == UTC
    assert moment.at == datetime(2026, 12, 1, 12, 0, tzinfo=UTC).replace(microsecond=moment.at.microsecond)
    assert moment.model_dump(mode="json") == {"at": wire}


# ------------------------------------------------------------------------------------------- prizes


def test_prize_tiers_of_the_sample_event_are_valid() -> None:
    """Given the prize table of events/events/create_event.json When validated Then all four tiers are kept."""
    body = json.loads(sample_event("events/create_event.json")["body"])
    event = EventCreate.model_validate(body)
    assert [(t.rank_from, t.rank_to, t.type) for t in event.prizes] == [
        (1, 1, "token"),
        (2, 3, "token"),
        (4, 10, "points"),
        (11, 11, "custom"),
    ]
    assert event.prizes[0].amount == Decimal(5000)
    assert event.prizes[0].token == "USDT"


@pytest.mark.parametrize(
    ("tier", "message"),
    [
        ({"rank_from": 1, "rank_to": 1, "type": "token", "amount": "10"}, "a token prize needs a token symbol"),
        ({"rank_from": 1, "rank_to": 1, "type": "token", "token": "USDT"}, "a token prize needs an amount"),
        ({"rank_from": 1, "rank_to": 1, "type": "points"}, "a points prize needs an amount"),
        ({"rank_from": 1, "rank_to": 1, "type": "custom"}, "a custom prize needs a description"),
        ({"rank_from": 1, "rank_to": 1, "type": "custom", "description": ""}, "a custom prize needs a description"),
        ({"rank_from": 5, "rank_to": 4, "type": "points", "amount": "1"}, "rank_to must be at least rank_from"),
    ],
)
def test_prize_tier_rules(tier: dict[str, Any], message: str) -> None:
    """Given an inconsistent prize tier When validated Then refused with the rule it breaks."""
    with pytest.raises(ValidationError) as raised:
        PrizeTier.model_validate(tier)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    "tier",
    [
        {"rank_from": 3, "rank_to": 3, "type": "points", "amount": "100"},
        {"rank_from": 1, "rank_to": 10, "type": "custom", "description": "A hoodie"},
        {"rank_from": 2, "rank_to": 2, "type": "token", "amount": "0.5", "token": "BTC"},
    ],
)
def test_consistent_prize_tiers_are_accepted(tier: dict[str, Any]) -> None:
    """Given a consistent prize tier (a single rank, a custom range, a token prize) When validated Then kept."""
    assert PrizeTier.model_validate(tier).rank_from == tier["rank_from"]


@pytest.mark.parametrize("token", ["usdt", "US-DT", "TOOLONGTOKENNAME1", ""])
def test_prize_token_symbol_must_be_upper_case_alphanumeric(token: str) -> None:
    """Given a malformed token symbol When validated Then refused."""
    with pytest.raises(ValidationError):
        PrizeTier.model_validate({"rank_from": 1, "rank_to": 1, "type": "token", "amount": "1", "token": token})


def _event(**overrides: Any) -> EventCreate:
    body = json.loads(sample_event("events/create_event.json")["body"])
    body.update(overrides)
    return EventCreate.model_validate(body)


@pytest.mark.parametrize(
    ("ranges", "at"),
    [
        ([(1, 3), (3, 5)], 3),
        ([(1, 10), (4, 5)], 4),
        ([(6, 9), (1, 6)], 6),
        ([(1, 1), (2, 2), (2, 4)], 2),
    ],
)
def test_overlapping_prize_tiers_are_refused(ranges: list[tuple[int, int]], at: int) -> None:
    """Given prize tiers whose ranks overlap (in any order) When the event is validated
    Then refused, naming the first rank that is paid twice."""
    prizes = [{"rank_from": a, "rank_to": b, "type": "points", "amount": "1"} for a, b in ranges]
    with pytest.raises(ValidationError) as raised:
        _event(prizes=prizes)
    assert f"prize tiers overlap at rank {at}" in str(raised.value)


def test_prize_tiers_are_kept_sorted_by_rank() -> None:
    """Given adjacent tiers sent out of order When validated Then accepted and sorted by rank."""
    prizes = [{"rank_from": a, "rank_to": b, "type": "points", "amount": "1"} for a, b in [(4, 10), (1, 1), (2, 3)]]
    assert [(t.rank_from, t.rank_to) for t in _event(prizes=prizes).prizes] == [(1, 1), (2, 3), (4, 10)]


# ------------------------------------------------------------------------------------------- markets


def test_markets_are_upper_cased() -> None:
    """Given markets in lower or mixed case, with spaces around When validated Then upper-cased and trimmed."""
    assert _event(markets=["btc-usdt", " Eth/Usdc ", "sol_usdt", "BNB"]).markets == [
        "BTC-USDT",
        "ETH/USDC",
        "SOL_USDT",
        "BNB",
    ]


@pytest.mark.parametrize("market", ["BTC USDT", "BTC--USDT", "-USDT", "BTC-", "BTC-USDT-PERP", "", "A" * 21, "€-USDT"])
def test_malformed_markets_are_refused(market: str) -> None:
    """Given a market that does not look like BASE-QUOTE When validated Then refused."""
    with pytest.raises(ValidationError) as raised:
        _event(markets=[market])
    assert "must look like BTC-USDT" in str(raised.value)


# ------------------------------------------------------------------------------------------- TradeIn


def _trade(**overrides: Any) -> dict[str, Any]:
    body = json.loads(sample_event("trades/ingest_trades.json")["body"])
    trade = body["trades"][1]
    trade.update(overrides)
    return trade


def test_sample_trade_is_valid_and_exact() -> None:
    """Given the second trade of events/trades/ingest_trades.json When validated
    Then every amount is the exact Decimal sent and the market is normalised."""
    trade = TradeIn.model_validate(_trade(market="btc-usdt"))
    assert (trade.quantity, trade.price, trade.realized_pnl, trade.fee) == (
        Decimal("0.25"),
        Decimal("96500.00"),
        Decimal("124.875"),
        Decimal("2.41"),
    )
    assert trade.market == "BTC-USDT"
    assert trade.executed_at == datetime(2026, 12, 2, 11, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"quantity": "-0.25"}, "quantity"),
        ({"quantity": "0"}, "quantity"),
        ({"price": "-1"}, "price"),
        ({"quantity": 0.25}, "quantity"),
        ({"fee": "-0.01"}, "fee"),
        ({"side": "short"}, "side"),
        ({"side": "BUY"}, "side"),
        ({"market": "BTC USDT"}, "market"),
        ({"trade_id": "T 1"}, "trade_id"),
        ({"user_id": ""}, "user_id"),
        ({"executed_at": "2026-12-02T11:00:00"}, "executed_at"),
        ({"leverage": "10"}, "leverage"),
    ],
)
def test_trade_in_refuses_bad_fields(overrides: dict[str, Any], field: str) -> None:
    """Given a trade with a negative quantity, a bad side, an unknown field (or another bad value)
    When validated Then refused, naming that field."""
    with pytest.raises(ValidationError) as raised:
        TradeIn.model_validate(_trade(**overrides))
    assert [loc for loc, _ in _errors(raised)] == [field]


def test_trade_in_allows_a_negative_realized_pnl() -> None:
    """Given a losing trade When validated Then its negative realized_pnl is kept."""
    assert TradeIn.model_validate(_trade(realized_pnl="-17.5")).realized_pnl == Decimal("-17.5")


@pytest.mark.parametrize("missing", ["trade_id", "user_id", "market", "side", "quantity", "price", "executed_at"])
def test_trade_in_requires_its_fields(missing: str) -> None:
    """Given a trade without a required field When validated Then refused, naming it."""
    trade = _trade()
    del trade[missing]
    with pytest.raises(ValidationError) as raised:
        TradeIn.model_validate(trade)
    assert _errors(raised) == [(missing, "Field required")]
