"""Money on the wire, through the real handlers on moto: every amount, score, quantity and price is a decimal
string going in (a JSON number, integer or float, is refused with the field's path and the hint to send a
string) and comes back in the one canonical form.

The clock is pinned at 2026-12-01T12:00:00Z; the sample event runs from 2026-12-01 to 2026-12-15.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import api_event
from tests.integration.conftest import Arena, Reply, trade, user_claims

NUMBERS = [pytest.param(5000, id="integer"), pytest.param(5000.5, id="float")]
# Where an amount enters an event (create and patch): the body's fields with a number in place of the string.
EVENT_AMOUNTS: list[tuple[str, Any, str]] = [
    ("prize amount", {"prizes": [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": "N"}]}, "prizes.0.amount"),
    (
        "shared pool",
        {"prizes": [{"rank_from": 1, "rank_to": 3, "type": "points", "split": "shared", "pool": "N"}]},
        "prizes.0.pool",
    ),
    (
        "growing per participant",
        {
            "prizes": [
                {
                    "rank_from": 1,
                    "rank_to": 3,
                    "type": "points",
                    "split": "growing",
                    "per_participant": "N",
                    "maximum": "9000",
                }
            ]
        },
        "prizes.0.per_participant",
    ),
    (
        "growing maximum",
        {
            "prizes": [
                {
                    "rank_from": 1,
                    "rank_to": 3,
                    "type": "points",
                    "split": "growing",
                    "per_participant": "1",
                    "maximum": "N",
                }
            ]
        },
        "prizes.0.maximum",
    ),
    ("cap for every currency", {"prize_settings": {"cap_per_user": "N"}}, "prize_settings.cap_per_user.all"),
    (
        "cap per currency",
        {"prize_settings": {"cap_per_user": {"token:USDT": "N"}}},
        "prize_settings.cap_per_user.per_currency.token:USDT",
    ),
    ("quantum", {"prize_settings": {"quantum": "N"}}, "prize_settings.quantum.all"),
    ("qualification threshold", {"qualification": {"min_volume": "N", "min_trades": 1}}, "qualification.min_volume"),
    ("volume milestone", {"milestones": {"volume": ["100", "N"]}}, "milestones.volume.1"),
]


def _with_number(fields: Any, number: float) -> Any:
    """The fields with every "N" (the spot the amount goes in each case above) replaced by the JSON number."""
    if isinstance(fields, dict):
        return {key: _with_number(value, number) for key, value in fields.items()}
    if isinstance(fields, list):
        return [_with_number(value, number) for value in fields]
    return number if fields == "N" else fields


def _with_string(fields: Any) -> Any:
    if isinstance(fields, dict):
        return {key: _with_string(value) for key, value in fields.items()}
    if isinstance(fields, list):
        return [_with_string(value) for value in fields]
    return "500" if fields == "N" else fields  # a multiple of the default quantum and a divisor of the sample's amounts


def _refused_as_a_number(reply: Reply, field: str) -> None:
    assert reply.status == 422, reply
    assert reply.code == "validation_failed"
    details = {d["field"]: d for d in reply.body["error"]["details"]}
    assert f"body.{field}" in details, details
    detail = details[f"body.{field}"]
    assert detail["type"] == "decimal_string"
    assert detail["message"].startswith('send a decimal string such as "12.50"')


# ------------------------------------------------------------------------------------------- events


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize(("case", "fields", "field"), EVENT_AMOUNTS, ids=[c[0] for c in EVENT_AMOUNTS])
def test_an_event_with_an_amount_as_a_json_number_is_refused(
    arena: Arena, case: str, fields: dict[str, Any], field: str, number: float
) -> None:
    """Given the sample event with one amount sent as a JSON number (integer or float)
    When an admin creates it
    Then 422 validation_failed naming that field, typed decimal_string, saying to send a decimal string;
    the same body with the amount as a string is created."""
    refused = arena.create_event(**_with_number(fields, number))
    _refused_as_a_number(refused, field)

    created = arena.create_event(**_with_string(fields))
    assert created.status == 201, (case, created)


@pytest.mark.parametrize("number", NUMBERS)
def test_a_patch_with_an_amount_as_a_json_number_is_refused(arena: Arena, number: float) -> None:
    """Given an event When an admin patches its qualification threshold or prize table with JSON numbers
    Then 422 naming each field, and the event is unchanged."""
    event = arena.new_event()
    body = {
        "version": event["version"],
        "qualification": {"min_volume": number, "min_trades": 1},
        "prizes": [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": number}],
    }
    reply = arena.update_event(event["id"], body)
    _refused_as_a_number(reply, "qualification.min_volume")
    _refused_as_a_number(reply, "prizes.0.amount")
    assert arena.get_event(event["id"]).body["version"] == event["version"]


# ------------------------------------------------------------------------------------------- the feeds


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("field", ["quantity", "price", "fee", "realized_pnl"])
def test_a_trade_with_an_amount_as_a_json_number_is_rejected(arena: Arena, field: str, number: float) -> None:
    """Given a joined trader When the feed posts one trade with a JSON number in `field` and one well formed
    Then the first is rejected invalid_trade, its message naming the field and saying to send a decimal string;
    the second counts."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "mia")
    bad = {**trade("M-1", "mia", "2026-12-01T09:00:00Z", fee="1", realized_pnl="2"), field: number}
    good = trade("M-2", "mia", "2026-12-01T09:01:00Z", quantity="2", price="10.50")

    reply = arena.ingest([bad, good])

    assert reply.status == 200, reply
    assert reply.body["accepted"] == 1
    [rejected] = reply.body["rejected"]
    assert (rejected["index"], rejected["trade_id"], rejected["code"]) == (0, "M-1", "invalid_trade")
    assert rejected["message"].startswith(f'{field}: send a decimal string such as "12.50"'), rejected


@pytest.mark.parametrize("number", NUMBERS)
def test_an_equity_update_with_an_amount_as_a_json_number_is_rejected(arena: Arena, number: float) -> None:
    """Given the account feed When it posts a starting equity as a JSON number Then that update is rejected with
    the hint to send a decimal string."""
    update = {
        "update_id": "E-1",
        "user_id": "ann",
        "kind": "starting_equity",
        "amount": number,
        "at": "2026-12-01T08:00:00Z",
    }
    reply = arena.call("trades/ingest_equity", api_event("trades/ingest_equity.json", body={"updates": [update]}))
    assert reply.status == 200, reply
    [rejected] = reply.body["rejected"]
    assert rejected["update_id"] == "E-1"
    assert rejected["message"].startswith('amount: send a decimal string such as "12.50"'), rejected


# ------------------------------------------------------------------------------------------- on the way out


def test_a_board_shows_every_score_in_one_form(arena: Arena) -> None:
    """Given three traders whose volumes come to 105600.0 (1.0 x 105600), 96000 (2 x 48000) and 106560.0000
    (1.00 x 106560.00)
    When the leaderboard, a trader's standing and a participation are read
    Then every score and total reads in the one canonical form: 106560, 105600, 96000."""
    event_id = arena.new_event()["id"]
    for user in ("ann", "bob", "cid"):
        arena.joined(event_id, user)
    trades = [
        trade("W-1", "ann", "2026-12-01T09:00:00Z", quantity="1.0", price="105600", fee="0.50"),
        trade("W-2", "bob", "2026-12-01T09:01:00Z", quantity="2", price="48000", fee="0"),
        trade("W-3", "cid", "2026-12-01T09:02:00Z", quantity="1.00", price="106560.00", realized_pnl="-12.300"),
    ]
    assert arena.ingest(trades).body["accepted"] == 3

    board = arena.leaderboard(event_id)
    assert board.status == 200, board
    assert [(e["user_id"], e["score"]) for e in board.body["entries"]] == [
        ("cid", "106560"),
        ("ann", "105600"),
        ("bob", "96000"),
    ]
    mine = arena.my_rank(event_id, "ann")
    assert mine.status == 200, mine
    assert mine.body["score"] == "105600"
    assert [e["score"] for e in mine.body["above"]] == ["106560"]
    ann = arena.me(event_id, user_claims("ann")).body
    assert (ann["volume"], ann["fees"], ann["pnl"]) == ("105600", "0.5", "0")
    cid = arena.me(event_id, user_claims("cid")).body
    assert (cid["volume"], cid["fees"], cid["pnl"]) == ("106560", "0", "-12.3")
