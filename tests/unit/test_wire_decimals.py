"""Exact decimals on the wire: one canonical form wherever a decimal leaves Arena (HTTP bodies through the models
and `arena.http.to_json`, WebSocket replies and pushes, domain events) and one grammar on the way in, as
docs/openapi.json states it."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from arena.adapters.domain_events import detail_json
from arena.domain import realtime as rt
from arena.domain.exact import canonical
from arena.domain.realtime import Row
from arena.http import to_json
from arena.models.common import DECIMAL_INPUT_PATTERN, DECIMAL_OUTPUT_PATTERN, DecimalStr
from arena.models.leaderboard import LeaderboardEntry, LeaderboardPage
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from tests.conftest import TABLE_ENV

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
# The fields that carry money, scores, quantities or prices somewhere in the API.
MONEY_FIELDS = {
    "amount",
    "balance",
    "base",
    "cap_per_user",
    "fee",
    "fees",
    "maximum",
    "min_volume",
    "paid",
    "per_participant",
    "pnl",
    "pool",
    "pool_total",
    "price",
    "quantity",
    "quantum",
    "realized_pnl",
    "score",
    "totals",
    "treasury",
    "volume",
}


# ------------------------------------------------------------------------------------------- the canonical form


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("105600.0", "105600"),  # the three spellings one board showed for its scores
        ("96000", "96000"),
        ("106560.00", "106560"),
        ("1.056E+5", "105600"),
        ("1E+3", "1000"),
        ("0.10", "0.1"),
        ("-12.3400", "-12.34"),
        ("1E-7", "0.0000001"),
        ("0", "0"),
        ("0E-8", "0"),
        ("-0.00", "0"),
        ("1234567890.1234567890123456789012345678", "1234567890.1234567890123456789012345678"),
    ],
)
def test_every_spelling_of_a_value_has_one_wire_form(value: str, wire: str) -> None:
    """Given a decimal in any of its spellings When rendered for the wire Then plain notation, no trailing
    fractional zeros, "0" for every zero: equal amounts read the same, and the text parses back exactly."""
    assert canonical(Decimal(value)) == wire
    assert Decimal(wire) == Decimal(value)
    assert re.match(DECIMAL_OUTPUT_PATTERN, wire)


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**30), max_value=10**30, places=12))
def test_the_canonical_form_is_exact_and_matches_the_documented_pattern(value: Decimal) -> None:
    """Given any decimal When rendered Then it reads back as the same number, never with an exponent, and matches
    the output pattern docs/openapi.json states (so a contract test can hold every response to it)."""
    wire = canonical(value)
    assert Decimal(wire) == value
    assert re.match(DECIMAL_OUTPUT_PATTERN, wire), wire
    assert canonical(Decimal(wire)) == wire


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity")])
def test_a_non_finite_decimal_has_no_wire_form(value: Decimal) -> None:
    """Given a non-finite Decimal
    When it is made canonical
    Then a ValueError says it is not finite."""
    with pytest.raises(ValueError, match="finite"):
        canonical(value)


# ------------------------------------------------------------------------------------------- where decimals leave


class _Amounts(BaseModel):
    amount: DecimalStr
    per_currency: dict[str, DecimalStr]


def test_models_and_to_json_agree_on_the_canonical_form() -> None:
    """Given the same amounts in a model and as bare Decimals When written as JSON Then both are canonical."""
    model = _Amounts(amount=Decimal("250.50"), per_currency={"points": Decimal("1E+3")})
    assert model.model_dump(mode="json") == {"amount": "250.5", "per_currency": {"points": "1000"}}
    assert json.loads(to_json({"model": model, "bare": Decimal("250.50"), "zero": Decimal("-0.0")})) == {
        "model": {"amount": "250.5", "per_currency": {"points": "1000"}},
        "bare": "250.5",
        "zero": "0",
    }


def test_a_board_shows_every_score_in_one_form() -> None:
    """Given a board whose scores were computed as 105600.0, 96000 and 106560.00 (quantity x price keeps the
    scales of both) When the page is serialised Then the scores read 106560, 105600 and 96000."""
    scores = [Decimal("1.00") * Decimal("106560.00"), Decimal("1.0") * Decimal("105600"), Decimal("96000")]
    page = LeaderboardPage(
        event_id="ev-1",
        ranking_metric="volume",
        entries=[
            LeaderboardEntry(
                rank=i,
                prize_rank=i,
                handle=f"h{i}",
                name=f"Trader {i}",
                colour="#1f77b4",
                initials="T",
                score=s,
                trade_count=1,
                qualified=True,
            )
            for i, s in enumerate(scores, start=1)
        ],
        total=3,
        next_cursor=None,
        updated_at=None,
    )
    assert [e["score"] for e in page.model_dump(mode="json")["entries"]] == ["106560", "105600", "96000"]
    assert [e["score"] for e in json.loads(to_json(page))["entries"]] == ["106560", "105600", "96000"]


def test_a_websocket_leaderboard_push_shows_every_score_in_one_form() -> None:
    """Given a leaderboard diff whose rows carry scores in three spellings
    When it is encoded as the frame pushed to subscribers
    Then every score reads in the canonical form, and the rows read back (with the user ids the push keeps to
    itself) are the same rows."""
    rows = [
        Row(1, "ann", Decimal("106560.00"), 3, True, 1, "h-ann", "Ann"),
        Row(2, "bob", Decimal("105600.0"), 2, True, 2, "h-bob", "Trader 7KQ2"),
        Row(3, "cid", Decimal("96000"), 1, True, 3, None, "Anonymous trader"),
    ]
    diff = rt.board_diff([], rows)
    frame = json.loads(
        rt.encode(rt.envelope("leaderboard", "leaderboard:ev-1", 1, "t", rt.fit_diff(diff, "ev-1", 7, 3)))
    )
    assert [r["score"] for r in frame["data"]["rows"]] == ["106560", "105600", "96000"]
    wire = frame["data"]["rows"]
    assert all("user_id" not in r for r in wire)
    assert [Row.from_state({**r, "user_id": row.user_id}) for r, row in zip(wire, rows, strict=True)] == rows


def test_a_websocket_activity_push_and_a_bare_decimal_in_a_push_are_canonical() -> None:
    """Given a trade activity and a bare Decimal in exponent form
    When they are pushed in a WebSocket frame
    Then both are canonical decimal strings."""
    activity = rt.Activity(trades=2, volume=Decimal("1200.50"), at=None)
    frame = json.loads(
        rt.encode(rt.envelope("trades", "trades:ev-1", 2, "t", {**activity.to_wire(), "x": Decimal("5E+1")}))
    )
    assert (frame["data"]["volume"], frame["data"]["x"]) == ("1200.5", "50")


def test_a_websocket_route_reply_is_canonical(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a WebSocket route answering with decimals When the wrapped handler replies Then they are canonical."""
    from arena import factories
    from arena.websocket import route

    for variable in TABLE_ENV.values():
        monkeypatch.setenv(variable, "arena-unused")  # the entry point reads the settings; no table is touched
    factories.reset()

    @route
    def balance(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        return {"type": "balance", "balance": Decimal("10.50"), "delta": Decimal("-0.000")}

    try:
        reply = balance({"requestContext": {"eventType": "MESSAGE", "connectionId": "c1"}, "body": "{}"}, None)
    finally:
        factories.reset()  # no later test may see these settings
    assert reply["statusCode"] == 200
    assert json.loads(reply["body"]) == {"type": "balance", "balance": "10.5", "delta": "0"}


def test_a_domain_event_carries_canonical_decimals() -> None:
    """Given a domain event's detail with amounts (pushed on to the real-time topics) When written Then canonical."""
    assert json.loads(
        detail_json({"amount": Decimal("500.00"), "refused": [_Amounts(amount=Decimal("2.50"), per_currency={})]})
    ) == {
        "amount": "500",
        "refused": [{"amount": "2.5", "per_currency": {}}],
    }


# ------------------------------------------------------------------------------------------- what the document says


def _walk(node: Any, path: str = "") -> Any:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _types(schema: dict[str, Any]) -> set[str]:
    """Every JSON type a property's schema allows, through anyOf/oneOf and maps of amounts."""
    found = {schema["type"]} if isinstance(schema.get("type"), str) else set()
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= _types(branch)
    if isinstance(schema.get("additionalProperties"), dict):
        found |= _types(schema["additionalProperties"])
    if isinstance(schema.get("items"), dict):
        found |= _types(schema["items"])
    return found


def _is_object_ref(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/components/schemas/"):
        return False
    return schemas[ref.rsplit("/", 1)[1]].get("type") == "object"


def test_the_openapi_document_says_string_for_every_amount() -> None:
    """Given docs/openapi.json When every property named like an amount is read Then none allows a JSON number,
    each decimal is a string with the input pattern (requests) or the canonical pattern (responses), and the trade
    and equity feeds document their items (quantity, price, amount as strings)."""
    document = json.loads(OPENAPI.read_text())
    schemas = document["components"]["schemas"]
    checked = 0
    for path, node in _walk(schemas):
        for name, prop in (node.get("properties") or {}).items():
            if name in MONEY_FIELDS:
                # An object of amounts (e.g. analytics' `totals`, a Tally) is walked itself: its fields are checked.
                of_amounts = _is_object_ref(prop, schemas)
                assert of_amounts or "string" in _types(prop), f"{path}/{name}: {prop}"
                assert not _types(prop) & {"number", "integer"}, f"{path}/{name}: {prop}"
                checked += 1
        if node.get("format") == "decimal":
            assert node["type"] == "string", path
            assert node["pattern"] in (DECIMAL_INPUT_PATTERN, DECIMAL_OUTPUT_PATTERN), path
    assert checked > 40
    trade = schemas["TradeIn"]["properties"]
    assert (trade["quantity"]["type"], trade["price"]["type"]) == ("string", "string")
    assert schemas["TradeBatchIn"]["properties"]["trades"]["items"] == {"$ref": "#/components/schemas/TradeIn"}
    assert schemas["EquityUpdateIn"]["properties"]["amount"]["type"] == "string"
    assert schemas["LeaderboardEntry"]["properties"]["score"]["pattern"] == DECIMAL_OUTPUT_PATTERN


@pytest.mark.parametrize(
    ("text", "accepted"),
    [("12.50", True), ("-0.5", True), ("007", True), ("1E+3", False), (" 1", False), ("+1", False), (".5", False)],
)
def test_the_input_pattern_is_the_grammar_the_models_accept(text: str, accepted: bool) -> None:
    """Given a decimal text
    When it is matched against the input pattern
    Then it is accepted exactly when the models accept it."""
    assert bool(re.match(DECIMAL_INPUT_PATTERN, text)) is accepted
