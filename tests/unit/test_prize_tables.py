"""The API's prize tables (models.events.PrizeTier / PrizeSettings) as the domain reads them, and the tie groups
the frozen results carry (domain.ranking.tie_groups)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from arena.domain.prizes import (
    DEFAULT_QUANTUM,
    Currency,
    EachInRange,
    GrowingPool,
    Placed,
    ProRata,
    SharedInRange,
    calculate,
    currency_from_name,
    from_tiers,
)
from arena.domain.ranking import board_key, tie_groups, tie_key
from arena.models.events import EventPatch, PrizeSettings, PrizeTable, PrizeTier, prize_table_problems
from pydantic import TypeAdapter, ValidationError

D = Decimal
POINTS = Currency("points", None)
USDT = Currency("token", "USDT")
TIERS = TypeAdapter(PrizeTable)  # as the API reads them: sorted by rank_from, overlaps refused


def tiers(*raw: dict[str, Any]) -> list[PrizeTier]:
    return TIERS.validate_python(list(raw))


def ms(second: int) -> int:
    return int(datetime(2026, 12, 1, 12, 0, second, tzinfo=UTC).timestamp() * 1000)


# ------------------------------------------------------------------------------------------- tie groups


def test_tie_key_keeps_score_and_reached_at_only() -> None:
    """Given two board keys with one score reached at one time, joined at different times by different users
    When their tie keys are taken
    Then they are equal; a later reached-at or another score makes them differ."""
    first = board_key(D("200"), ms(0), ms(0), "bob")
    assert tie_key(first) == tie_key(board_key(D("200.00"), ms(0), ms(5), "cid"))
    assert tie_key(first) != tie_key(board_key(D("200"), ms(1), ms(0), "cid"))
    assert tie_key(first) != tie_key(board_key(D("199"), ms(0), ms(0), "cid"))


def test_tie_groups_name_each_group_by_its_first_rank() -> None:
    """Given a board: ann alone, bob and cid tied (same score, same reached-at, joined apart), dan with their score
    reached a second later, then eve, fay and gus all tied
    When the tie groups are taken from rank 1
    Then bob and cid form group 2, eve, fay and gus group 5, and everyone alone has None."""
    keys = [
        board_key(D("500"), ms(0), ms(0), "ann"),
        board_key(D("200"), ms(0), ms(0), "bob"),
        board_key(D("200"), ms(0), ms(3), "cid"),
        board_key(D("200"), ms(1), ms(0), "dan"),
        board_key(D("-5"), ms(2), ms(0), "eve"),
        board_key(D("-5"), ms(2), ms(1), "fay"),
        board_key(D("-5"), ms(2), ms(2), "gus"),
    ]
    assert tie_groups(keys) == [None, 2, 2, None, 5, 5, 5]
    assert tie_groups(keys[1:3], first_rank=11) == [11, 11]
    assert tie_groups([]) == []


def test_a_tie_group_from_the_results_splits_a_prize_boundary() -> None:
    """Given 100 for rank 2 and 50 for rank 3, and a board whose ranks 2 and 3 are tied
    When the prizes are calculated with the tie groups the results carry
    Then the two tied traders get 75 each; without the groups they would get 100 and 50."""
    keys = [board_key(D(s), ms(t), ms(0), u) for s, t, u in (("9", 0, "ann"), ("5", 1, "bob"), ("5", 1, "cid"))]
    groups = tie_groups(keys)
    table = from_tiers(
        tiers(
            {"rank_from": 2, "rank_to": 2, "type": "points", "amount": "100"},
            {"rank_from": 3, "rank_to": 3, "type": "points", "amount": "50"},
        )
    )
    placed = [
        Placed(u, r, D(s), tie_group=None if g is None else str(g))
        for (u, r, s), g in zip((("ann", 1, "9"), ("bob", 2, "5"), ("cid", 3, "5")), groups, strict=True)
    ]
    assert calculate(table, placed).by_user() == {"bob": {POINTS: D(75)}, "cid": {POINTS: D(75)}}


# ------------------------------------------------------------------------------------------- tiers


@pytest.mark.parametrize(
    "tier",
    [
        {"rank_from": 1, "rank_to": 3, "type": "points", "split": "shared", "pool": "900"},
        {"rank_from": 4, "rank_to": 50, "type": "token", "token": "USDT", "split": "pro_rata", "pool": "1000.5"},
        {"rank_from": 1, "rank_to": 10, "type": "points", "split": "growing", "per_participant": "2", "maximum": "500"},
        {
            "rank_from": 1,
            "rank_to": 10,
            "type": "points",
            "split": "growing",
            "base": "100",
            "per_participant": "0",
            "maximum": "100",
            "pool_split": "pro_rata",
        },
    ],
)
def test_tiers_of_every_split_are_accepted(tier: dict[str, Any]) -> None:
    """Given a consistent shared, pro rata or growing tier When validated Then kept with its split."""
    assert PrizeTier.model_validate(tier).split == tier["split"]


@pytest.mark.parametrize(
    ("tier", "message"),
    [
        ({"split": "shared"}, "split shared needs a pool"),
        ({"split": "pro_rata", "amount": "5", "pool": "10"}, "split pro_rata takes no amount"),
        ({"split": "each", "amount": "5", "pool": "10"}, "split each takes no pool"),
        ({"split": "shared", "pool": "10", "pool_split": "equal"}, "split shared takes no pool_split"),
        ({"split": "growing", "maximum": "10"}, "split growing needs per_participant and maximum"),
        ({"split": "growing", "per_participant": "0", "maximum": "10"}, "the pool never grows above 0"),
        ({"split": "growing", "base": "20", "per_participant": "1", "maximum": "10"}, "at least the base"),
        ({"split": "growing", "per_participant": "1", "maximum": "9", "amount": "1"}, "takes no amount"),
        ({"split": "shared", "pool": "0"}, "greater than zero"),
        ({"split": "shared", "pool": 10.5}, "send a decimal string"),
        ({"split": "shared", "pool": 10}, "send a decimal string"),
        ({"split": "growing", "per_participant": "-1", "maximum": "9"}, "must not be negative"),
        ({"split": "halves", "pool": "10"}, "'each', 'shared', 'pro_rata' or 'growing'"),
        ({"type": "custom", "description": "Hoodie", "split": "shared", "pool": "3"}, "only split each"),
    ],
)
def test_tiers_that_break_their_split_are_refused(tier: dict[str, Any], message: str) -> None:
    """Given a tier missing what its split needs, or carrying what it does not take When validated Then refused
    with the rule it breaks."""
    with pytest.raises(ValidationError) as raised:
        PrizeTier.model_validate({"rank_from": 1, "rank_to": 3, "type": "points", **tier})
    assert message in str(raised.value)


def test_from_tiers_builds_every_rule_with_cap_and_quantum_by_currency_name() -> None:
    """Given one tier of each split and settings per currency name
    When the domain table is built
    Then each tier is its rule, in order, and the cap and quantum are keyed by Currency."""
    settings = PrizeSettings.model_validate({"cap_per_user": {"points": "400", "token:USDT": "50"}, "quantum": "0.01"})
    table = settings.table(
        tiers(
            {"rank_from": 1, "rank_to": 1, "type": "token", "token": "USDT", "amount": "100"},
            {"rank_from": 2, "rank_to": 3, "type": "points", "split": "shared", "pool": "500"},
            {"rank_from": 4, "rank_to": 6, "type": "points", "split": "pro_rata", "pool": "90"},
            {
                "rank_from": 7,
                "rank_to": 9,
                "type": "points",
                "split": "growing",
                "per_participant": "3",
                "maximum": "30",
            },
            {"rank_from": 10, "rank_to": 10, "type": "custom", "description": "Hoodie"},
        )
    )
    assert table.rules == (
        EachInRange(1, 1, D(100), prize_type="token", token="USDT"),
        SharedInRange(2, 3, D(500)),
        ProRata(4, 6, D(90)),
        GrowingPool(D(0), D(3), D(30), 7, 9, "equal"),
        EachInRange(10, 10, None, prize_type="custom", description="Hoodie"),
    )
    assert (table.cap_for(POINTS), table.cap_for(USDT), table.cap_for(Currency("token", "BTC"))) == (
        D(400),
        D(50),
        None,
    )
    assert (table.quantum_for(POINTS), table.quantum_for(USDT)) == (D("0.01"), D("0.01"))


def test_a_tier_stored_before_splits_existed_pays_each_rank() -> None:
    """Given a stored tier with only the old fields (no split) and no settings
    When the domain table is built
    Then it is an EachInRange at the default quantum."""
    old = SimpleNamespace(rank_from=1, rank_to=2, type="points", amount=D(10), token=None, description=None)
    table = from_tiers([old])
    assert table.rules == (EachInRange(1, 2, D(10)),)
    assert (table.quantum, table.cap_per_user) == (DEFAULT_QUANTUM, None)


def test_currency_names() -> None:
    """Given the API's currency names When read Then points and token:<SYMBOL> are currencies, nothing else."""
    assert currency_from_name("points") == POINTS
    assert currency_from_name("token:USDT") == USDT
    for bad in ("token:", "custom:Hoodie", "usdt"):
        with pytest.raises(ValueError, match="is not a currency"):
            currency_from_name(bad)


# ------------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"cap_per_user": {"usdt": "1"}}, '"points" or "token:<SYMBOL>"'),
        ({"cap_per_user": {"custom:Hoodie": "1"}}, '"points" or "token:<SYMBOL>"'),
        ({"quantum": 0.01}, "send a decimal string"),
        ({"quantum": {"points": 1}}, "send a decimal string"),  # an integer too: amounts are strings
        ({"cap_per_user": 5000}, "send a decimal string"),
        ({"quantum": {"points": "1"}}, None),
        ({"quantum": "0"}, "greater than zero"),
        ({"cap_per_user": {"points": "-5"}}, "greater than zero"),
        ({"cap_per_user": "5", "rounding": "up"}, "Extra inputs are not permitted"),
    ],
)
def test_prize_settings_shapes(settings: dict[str, Any], message: str | None) -> None:
    """Given prize settings as one decimal or per currency When validated Then a bad key, a JSON number, a
    non-positive value or an unknown field is refused with a message saying so."""
    if message is None:
        assert PrizeSettings.model_validate(settings).quantum == {"points": D(1)}
        return
    with pytest.raises(ValidationError) as raised:
        PrizeSettings.model_validate(settings)
    assert message in str(raised.value)


def test_prize_table_problems_name_the_tier_and_the_currency() -> None:
    """Given tiers sent out of order with an amount off the quantum, a shared pool too small for its ranks, a cap
    below the quantum and a cap for a currency no tier pays
    When the table is checked
    Then each problem names the tier (as stored, in rank order, with its ranks) or the setting."""
    table = tiers(
        {"rank_from": 5, "rank_to": 8, "type": "token", "token": "USDT", "split": "shared", "pool": "0.03"},
        {"rank_from": 1, "rank_to": 1, "type": "points", "amount": "10.005"},
    )
    settings = PrizeSettings.model_validate(
        {"quantum": {"points": "0.01", "token:USDT": "0.01"}, "cap_per_user": {"points": "0.001", "token:BTC": "1"}}
    )
    assert prize_table_problems(table, settings) == [
        "prizes[0] (ranks 1-1): the amount 10.005 is not a multiple of the quantum 0.01",
        "prizes[1] (ranks 5-8): each rank's share of the pool is below the quantum 0.01",
        "points: the cap per user must be a decimal of at least the quantum 0.01",
        "prize_settings.cap_per_user names token:BTC, which no prize tier pays",
    ]
    assert prize_table_problems(table[:1], PrizeSettings()) == []


def test_prize_settings_in_a_patch_may_come_alone() -> None:
    """Given a PATCH with only prize_settings When validated Then the tiers are left unset (the stored ones
    stay) and the settings are typed."""
    patch = EventPatch.model_validate({"version": 3, "prize_settings": {"cap_per_user": "100"}})
    assert "prizes" not in patch.model_fields_set
    assert patch.prize_settings is not None and patch.prize_settings.cap_per_user == D(100)
