"""arena.domain.prizes: prize tables, roll-down, ties at prize boundaries, caps, rounding and the treasury.

Worked examples for each rule first, then property tests over random tables and rankings checked against an
independent, brute-force oracle of the exact entitlements.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from arena.domain.prizes import (
    Currency,
    EachInRange,
    GrowingPool,
    Placed,
    Plan,
    PrizeTable,
    ProRata,
    SharedInRange,
    calculate,
    currency_of,
    from_tiers,
    validate,
)
from arena.models.events import PrizeTier
from hypothesis import given, settings
from hypothesis import strategies as st

D = Decimal
POINTS = Currency("points", None)
USDT = Currency("token", "USDT")


def ranking(*scores: int | str, ineligible: tuple[int, ...] = (), ties: tuple[tuple[int, ...], ...] = ()):
    """Users u1..uN ranked 1..N in this order with these scores; ``ties``: groups of ranks tied for prizes."""
    group_of = {rank: f"t{i}" for i, group in enumerate(ties) for rank in group}
    return [
        Placed(f"u{rank}", rank, D(str(score)), eligible=rank not in ineligible, tie_group=group_of.get(rank))
        for rank, score in enumerate(scores, start=1)
    ]


def paid_to(plan: Plan, user: str, currency: Currency = POINTS) -> Decimal:
    return plan.by_user().get(user, {}).get(currency, D(0))


def assert_balanced(plan: Plan) -> None:
    for currency, put_up in plan.pool_total.items():
        assert plan.paid()[currency] + plan.treasury[currency] == put_up


# ------------------------------------------------------------------------------------------- worked examples


def test_each_in_range_pays_every_rank_and_puts_up_only_filled_ranks():
    """Given 100 to rank 1 and 50 to each of ranks 2..5, but only three participants
    When the prizes are calculated
    Then each filled rank gets its amount, and unfilled ranks put nothing up"""
    table = PrizeTable([EachInRange(1, 1, D(100)), EachInRange(2, 5, D(50))], quantum=D("0.01"))
    # When
    plan = calculate(table, ranking(30, 20, 10))
    # Then
    assert [(a.user_id, a.prize_rank, a.amount, a.rule_index) for a in plan.awards] == [
        ("u1", 1, D(100), 0),
        ("u2", 2, D(50), 1),
        ("u3", 3, D(50), 1),
    ]
    assert plan.pool_total == {POINTS: D(200)}
    assert plan.treasury == {POINTS: D(0)}


def test_shared_pool_of_1000_usdt_among_three_leaves_one_quantum_to_the_treasury():
    """Given ranks 1..3 sharing 1,000 USDT at the default quantum 0.00000001
    When three participants fill the range
    Then each gets 333.33333333 (rounded down) and the last 0.00000001 goes to the treasury"""
    table = PrizeTable([SharedInRange(1, 3, D(1000), prize_type="token", token="USDT")])
    # When
    plan = calculate(table, ranking(9, 8, 7, 6))
    # Then
    assert [(a.user_id, a.amount) for a in plan.awards] == [(f"u{i}", D("333.33333333")) for i in (1, 2, 3)]
    assert all(a.token == "USDT" and a.prize_type == "token" for a in plan.awards)
    assert plan.treasury == {USDT: D("0.00000001")}
    assert plan.pool_total == {USDT: D(1000)}


def test_shared_pool_puts_up_the_whole_pool_and_unfilled_shares_go_to_the_treasury():
    """Given ranks 1..4 sharing 100 points, and two participants
    When the plan is calculated
    Then each gets a quarter and the two unfilled quarters go to the treasury."""
    plan = calculate(PrizeTable([SharedInRange(1, 4, D(100))], quantum=D("0.01")), ranking(5, 4))
    # Then
    assert [a.amount for a in plan.awards] == [D(25), D(25)]
    assert plan.pool_total == {POINTS: D(100)}
    assert plan.treasury == {POINTS: D(50)}


def test_pro_rata_shares_exactly_by_score():
    """Given 1,000 points shared pro rata among ranks 1..3 with scores 500, 300, 200
    When the plan is calculated
    Then the shares are exactly proportional and nothing is left over."""
    plan = calculate(PrizeTable([ProRata(1, 3, D(1000))], quantum=D("0.01")), ranking(500, 300, 200, 100))
    # Then
    assert {a.user_id: a.amount for a in plan.awards} == {"u1": D(500), "u2": D(300), "u3": D(200)}
    assert plan.treasury == {POINTS: D(0)}


def test_pro_rata_gives_non_positive_scores_nothing():
    """Given 100 points pro rata among ranks 1..4 with scores 3, 1, 0, -5
    When the plan is calculated
    Then the positive scores share the pool and the others get a zero award."""
    plan = calculate(PrizeTable([ProRata(1, 4, D(100))], quantum=D("0.01")), ranking(3, 1, 0, -5))
    # Then
    assert {a.user_id: a.amount for a in plan.awards} == {"u1": D(75), "u2": D(25), "u3": D(0), "u4": D(0)}
    assert plan.treasury == {POINTS: D(0)}


def test_pro_rata_without_a_positive_score_sends_the_pool_to_the_treasury():
    """Given 100 points pro rata among two participants scoring 0 and -1
    When the plan is calculated
    Then both get zero and the whole pool goes to the treasury."""
    plan = calculate(PrizeTable([ProRata(1, 2, D(100))]), ranking(0, -1))
    assert [a.amount for a in plan.awards] == [D(0), D(0)]
    assert plan.treasury == {POINTS: D(100)} == plan.pool_total


def test_pro_rata_rounds_each_share_down_to_the_quantum():
    """Given 100 points pro rata among three equal positive scores at quantum 0.01
    When the plan is calculated
    Then each gets 33.33 and 0.01 goes to the treasury."""
    plan = calculate(PrizeTable([ProRata(1, 3, D(100))], quantum=D("0.01")), ranking(1, 1, 1))
    # Then
    assert [a.amount for a in plan.awards] == [D("33.33")] * 3
    assert plan.treasury == {POINTS: D("0.01")}


def test_growing_pool_grows_with_participants_and_stops_at_the_maximum():
    """Given a pool of 100 + 10 per eligible participant, at most 500, shared equally by ranks 1..2
    When 10 participants are eligible (and one is not: it does not count)
    Then the pool is 200, 100 each
    When 100 participants are eligible the pool is capped at the maximum"""
    table = PrizeTable([GrowingPool(D(100), D(10), D(500), 1, 2)], quantum=D("0.01"))
    # When
    small = calculate(table, ranking(*range(11, 0, -1), ineligible=(11,)))
    # Then
    assert small.pool_total == {POINTS: D(200)}
    assert [a.amount for a in small.awards] == [D(100), D(100)]
    # When
    large = calculate(table, ranking(*range(100, 0, -1)))
    assert large.pool_total == {POINTS: D(500)}
    assert [a.amount for a in large.awards] == [D(250), D(250)]
    assert large.treasury == {POINTS: D(0)}


def test_growing_pool_split_pro_rata():
    """Given a growing pool of 30 per participant split pro rata over ranks 1..3
    When four participants scoring 3, 2, 1, 1 are paid
    Then the pool of 120 is shared 60, 40, 20."""
    table = PrizeTable([GrowingPool(D(0), D(30), D(1000), 1, 3, split="pro_rata")], quantum=D("0.01"))
    # 4 participants -> pool 120, shared 3:2:1 by ranks 1..3
    plan = calculate(table, ranking(3, 2, 1, 1))
    assert {a.user_id: a.amount for a in plan.awards} == {"u1": D(60), "u2": D(40), "u3": D(20)}


def test_prizes_roll_down_when_rank_2_is_disqualified():
    """Given 100, 50, 25 to ranks 1, 2, 3
    When the participant ranked 2nd is disqualified
    Then the 3rd moves up to prize rank 2, the 4th to 3, and the disqualified one gets nothing"""
    table = PrizeTable([EachInRange(1, 1, D(100)), EachInRange(2, 2, D(50)), EachInRange(3, 3, D(25))])
    # When
    plan = calculate(table, ranking(40, 30, 20, 10, ineligible=(2,)))
    # Then
    assert [(a.user_id, a.prize_rank, a.amount) for a in plan.awards] == [
        ("u1", 1, D(100)),
        ("u3", 2, D(50)),
        ("u4", 3, D(25)),
    ]
    assert "u2" not in plan.by_user()


def test_a_tie_straddling_ranks_3_and_4_splits_both_prizes():
    """Given 100 to rank 3 and 50 to rank 4, and two participants tied for 3rd place
    When the plan is calculated
    Then both get 75 (half of each prize), both at prize rank 3."""
    table = PrizeTable([EachInRange(3, 3, D(100)), EachInRange(4, 4, D(50))], quantum=D("0.01"))
    plan = calculate(table, ranking(9, 8, 7, 7, 1, ties=((3, 4),)))
    # Then
    assert paid_to(plan, "u3") == paid_to(plan, "u4") == D(75)
    assert {(a.user_id, a.rule_index, a.amount, a.prize_rank) for a in plan.awards} == {
        ("u3", 0, D(50), 3),
        ("u4", 0, D(50), 3),
        ("u3", 1, D(25), 3),
        ("u4", 1, D(25), 3),
    }
    assert plan.treasury == {POINTS: D(0)}


def test_a_tie_straddling_the_last_paid_rank_shares_that_prize():
    """Given 100 to rank 3 only, and a three-way tie for 3rd at quantum 1
    When the plan is calculated
    Then each of the three gets 33 and the 1 left over goes to the treasury."""
    plan = calculate(PrizeTable([EachInRange(3, 3, D(100))], quantum=D(1)), ranking(9, 8, 7, 7, 7, ties=((3, 4, 5),)))
    # Then
    assert [paid_to(plan, f"u{i}") for i in (3, 4, 5)] == [D(33)] * 3
    assert plan.treasury == {POINTS: D(1)}


def test_a_tie_inside_one_range_changes_nothing():
    """Given 10 to each of ranks 1..3 and a tie for 1st
    When the plan is calculated
    Then each of the three gets 10, the tied pair at prize rank 1."""
    plan = calculate(PrizeTable([EachInRange(1, 3, D(10))], quantum=D(1)), ranking(5, 5, 4, ties=((1, 2),)))
    assert [(a.user_id, a.prize_rank, a.amount) for a in plan.awards] == [
        ("u1", 1, D(10)),
        ("u2", 1, D(10)),
        ("u3", 3, D(10)),
    ]


def test_a_tie_across_two_rules_of_one_currency_is_rounded_down_once():
    """Given 1 point to rank 1 and 1 to rank 2 at quantum 1, and a tie for 1st
    When the plan is calculated
    Then each gets 1 (floor of 1/2 + 1/2), not 0 + 0."""
    table = PrizeTable([EachInRange(1, 1, D(1)), EachInRange(2, 2, D(1))], quantum=D(1))
    plan = calculate(table, ranking(5, 5, ties=((1, 2),)))
    # Then
    assert paid_to(plan, "u1") == paid_to(plan, "u2") == D(1)
    assert plan.treasury == {POINTS: D(0)}


def test_an_ineligible_member_of_a_tie_leaves_the_tie():
    """Given 100 to rank 1, 50 to rank 2, and a tie for 1st whose first member is ineligible
    When the plan is calculated
    Then the other member alone takes rank 1's 100."""
    table = PrizeTable([EachInRange(1, 1, D(100)), EachInRange(2, 2, D(50))])
    plan = calculate(table, ranking(5, 5, ineligible=(1,), ties=((1, 2),)))
    assert [(a.user_id, a.prize_rank, a.amount) for a in plan.awards] == [("u2", 1, D(100))]


def test_the_cap_sends_the_excess_to_the_treasury():
    """Given 200 to rank 1, 100 to rank 2 and a cap of 150 points per user
    When the plan is calculated
    Then rank 1 is paid 150, the 50 over the cap goes to the treasury."""
    table = PrizeTable([EachInRange(1, 1, D(200)), EachInRange(2, 2, D(100))], cap_per_user=D(150), quantum=D(1))
    plan = calculate(table, ranking(2, 1))
    # Then
    assert [(a.user_id, a.amount) for a in plan.awards] == [("u1", D(150)), ("u2", D(100))]
    assert plan.treasury == {POINTS: D(50)}
    assert plan.pool_total == {POINTS: D(300)}


def test_the_cap_counts_a_users_total_across_rules_and_only_its_currency():
    """Given a tie for 1st straddling two points rules, a USDT rule, and a cap on points only
    When the plan is calculated
    Then the tied pair's 50 + 30 each is capped at 60 in rule order (50, then 10); USDT is not capped."""
    # Given a tie for 1st straddling a points rule and another points rule, a USDT rule, and a cap on points only
    table = PrizeTable(
        [
            EachInRange(1, 1, D(100)),
            EachInRange(2, 2, D(60)),
            EachInRange(3, 3, D(70), prize_type="token", token="USDT"),
        ],
        cap_per_user={POINTS: D(60)},
        quantum=D(1),
    )
    plan = calculate(table, ranking(5, 5, 3, ties=((1, 2),)))
    # Then the tied pair would get 50 + 30 each, capped at 60 in rule order (50, then 10); USDT is not capped
    assert {(a.user_id, a.rule_index): a.amount for a in plan.awards} == {
        ("u1", 0): D(50),
        ("u2", 0): D(50),
        ("u1", 1): D(10),
        ("u2", 1): D(10),
        ("u3", 2): D(70),
    }
    assert plan.treasury == {POINTS: D(40), USDT: D(0)}
    assert_balanced(plan)


def test_custom_prizes_are_one_unit_per_rank():
    """Given a VIP trip for ranks 1..2 and 10 USDT for rank 3
    When the plan is calculated
    Then ranks 1 and 2 each win one trip, described for the admin who fulfils it."""
    trip = Currency("custom", "VIP trip")
    table = PrizeTable(
        [
            EachInRange(1, 2, prize_type="custom", description="VIP trip"),
            EachInRange(3, 3, D(10), prize_type="token", token="USDT"),
        ]
    )
    plan = calculate(table, ranking(3, 2, 1))
    # Then
    assert [(a.user_id, a.prize_type, a.amount, a.description, a.token) for a in plan.awards] == [
        ("u1", "custom", D(1), "VIP trip", None),
        ("u2", "custom", D(1), "VIP trip", None),
        ("u3", "token", D(10), None, "USDT"),
    ]
    assert plan.pool_total == {trip: D(2), USDT: D(10)}
    assert plan.treasury == {trip: D(0), USDT: D(0)}


def test_a_tie_straddling_a_custom_prize_cannot_split_the_unit():
    """Given one indivisible trip for rank 1 and a tie for 1st
    When the plan is calculated
    Then neither gets it and it stays in the treasury, unless the table makes the prize divisible into halves."""
    # Given one trip for rank 1 and a tie for 1st: a trip is indivisible (quantum 1)
    trip = Currency("custom", "trip")
    plan = calculate(
        PrizeTable([EachInRange(1, 1, prize_type="custom", description="trip")]), ranking(1, 1, ties=((1, 2),))
    )
    # Then neither gets it and the unit is left in the treasury for an admin to resolve
    assert [a.amount for a in plan.awards] == [D(0), D(0)]
    assert plan.treasury == {trip: D(1)}
    # Unless the table makes the custom prize divisible
    halves = calculate(
        PrizeTable([EachInRange(1, 1, prize_type="custom", description="trip")], quantum={trip: D("0.5")}),
        ranking(1, 1, ties=((1, 2),)),
    )
    assert [a.amount for a in halves.awards] == [D("0.5"), D("0.5")]


def test_no_participants_puts_up_only_the_pools():
    """Given a fixed prize for rank 1 and a shared pool for ranks 2..3, and nobody ranked
    When the plan is calculated
    Then there are no awards and only the shared pool is put up, all of it to the treasury."""
    table = PrizeTable([EachInRange(1, 1, D(5)), SharedInRange(2, 3, D(10))])
    plan = calculate(table, [])
    assert plan.awards == []
    assert plan.pool_total == plan.treasury == {POINTS: D(10)}


def test_validate_lists_every_problem():
    """Given a table with one of each mistake
    When validated
    Then each mistake is reported"""
    table = PrizeTable(
        [
            EachInRange(1, 3, D(10)),
            EachInRange(3, 4, D(5)),  # overlaps rule 0
            EachInRange(5, 5, D(5), prize_type="token"),  # no token
            EachInRange(6, 6, D(0)),  # non-positive
            EachInRange(7, 7, D("0.001")),  # finer than the quantum
            SharedInRange(8, 9, D(-1)),
            SharedInRange(10, 13, D("0.03")),  # 0.0075 each, below the quantum
            EachInRange(14, 14, D(1), prize_type="custom", description="x"),  # custom with an amount
            ProRata(15, 15, D(1), prize_type="custom", description="x"),  # custom pool
            EachInRange(16, 16, prize_type="custom"),  # no description
            GrowingPool(D(10), D(1), D(5), 17, 18),  # maximum below base
            GrowingPool(D(0), D(0), D(5), 19, 19, split="sideways"),  # type: ignore[arg-type]
            EachInRange(21, 20, D(1)),
        ],
        cap_per_user={POINTS: D("0.001")},
        quantum={POINTS: D("0.01")},
    )
    # When
    problems = validate(table)
    # Then
    expected = [
        "overlap at rank 3",
        "rule 2: a token prize needs a token symbol",
        "rule 3: the amount must be a positive decimal",
        "rule 4: the amount 0.001 is not a multiple of the quantum",
        "rule 5: the pool must be a positive decimal",
        "rule 6: each rank's share of the pool is below the quantum",
        "rule 7: custom prizes carry no amount",
        "rule 8: custom prizes are one unit per rank",
        "rule 9: a custom prize needs a description",
        "rule 10: the maximum must be positive and at least the base",
        "rule 11: the pool never grows above 0",
        "rule 11: split must be one of",
        "rule 12: rank_to must be at least rank_from",
        "points: the cap per user must be a decimal of at least the quantum",
    ]
    for text in expected:
        assert any(text in p for p in problems), (text, problems)
    assert len(problems) == len(expected)


def test_validate_accepts_a_good_table_and_calculate_refuses_a_bad_one():
    """Given a well-formed table and one with overlapping ranges
    When the first is validated and the second calculated
    Then the first has no errors and the second raises naming the overlap."""
    good = PrizeTable([EachInRange(1, 1, D(100)), SharedInRange(2, 10, D(90)), ProRata(11, 50, D(40))])
    assert validate(good) == []
    with pytest.raises(ValueError, match="overlap"):
        calculate(PrizeTable([EachInRange(1, 2, D(1)), ProRata(2, 3, D(1))]), ranking(1, 1, 1))


def test_calculate_refuses_a_ranking_that_contradicts_itself():
    """Given rankings that place a user twice, repeat a rank, split a tie group or mix scores in one
    When a plan is calculated from each
    Then each is refused with a ValueError naming the contradiction."""
    table = PrizeTable([EachInRange(1, 2, D(1))])
    with pytest.raises(ValueError, match="placed twice"):
        calculate(table, [Placed("a", 1, D(1)), Placed("a", 2, D(1))])
    with pytest.raises(ValueError, match="ranks must be distinct"):
        calculate(table, [Placed("a", 1, D(1)), Placed("b", 1, D(1))])
    with pytest.raises(ValueError, match="not contiguous"):
        calculate(
            table, [Placed("a", 1, D(1), tie_group="t"), Placed("b", 2, D(1)), Placed("c", 3, D(1), tie_group="t")]
        )
    with pytest.raises(ValueError, match="mixes scores"):
        calculate(table, [Placed("a", 1, D(2), tie_group="t"), Placed("b", 2, D(1), tie_group="t")])


def test_from_tiers_reads_the_api_prize_table():
    """Given API prize tiers of a token, points and a custom prize
    When a table is made from them and applied to a ranking
    Then each rank gets the prize type and amount its tier names."""
    tiers = [
        PrizeTier(rank_from=1, rank_to=1, type="token", amount=D(500), token="USDT"),
        PrizeTier(rank_from=2, rank_to=3, type="points", amount=D(100)),
        PrizeTier(rank_from=4, rank_to=4, type="custom", description="Hoodie"),
    ]
    plan = calculate(from_tiers(tiers, quantum=D("0.01")), ranking(4, 3, 2, 1))
    assert [(a.user_id, a.prize_type, a.amount) for a in plan.awards] == [
        ("u1", "token", D(500)),
        ("u2", "points", D(100)),
        ("u3", "points", D(100)),
        ("u4", "custom", D(1)),
    ]


# ------------------------------------------------------------------------------------------- properties

CURRENCIES = [POINTS, USDT, Currency("token", "BTC"), Currency("custom", "Trip")]
QUANTA = [D(1), D("0.5"), D("0.01"), D("0.00000001")]


def _multiple(value: Decimal, quantum: Decimal) -> bool:
    return (Fraction(value) / Fraction(quantum)).denominator == 1


def _amount(draw: st.DrawFn, quantum: Decimal, minimum: int = 1) -> Decimal:
    """A positive amount: whole quanta, sometimes plus dust finer than the quantum."""
    whole = D(draw(st.integers(minimum, minimum + 20) | st.integers(minimum, 5_000))) * quantum
    dust = D(draw(st.integers(0, 99))) * quantum / 100 if draw(st.booleans()) else D(0)
    return whole + dust


@st.composite
def tables(draw: st.DrawFn) -> PrizeTable:
    quanta = {c: draw(st.sampled_from(QUANTA)) for c in CURRENCIES}
    # few currencies and adjacent ranges, so ties straddle boundaries between rules of one currency
    offered = draw(st.lists(st.sampled_from(CURRENCIES), min_size=1, max_size=2, unique=True))
    rules = []
    rank = 1
    for _ in range(draw(st.integers(0, 6))):
        rank += draw(st.sampled_from([0, 0, 0, 1, 3]))
        low, high = rank, rank + draw(st.integers(0, 5))
        rank = high + 1
        currency = draw(st.sampled_from(offered))
        q = quanta[currency]
        kind = "each" if currency.prize_type == "custom" else draw(st.sampled_from(["each", "shared", "pro", "grow"]))
        labels = {"prize_type": currency.prize_type}
        if currency.prize_type == "token":
            labels["token"] = currency.token
        if currency.prize_type == "custom":
            labels["description"] = currency.token
        if kind == "each":
            units = draw(st.integers(1, 20) | st.integers(1, 5_000))
            amount = None if currency.prize_type == "custom" else D(units) * q
            rules.append(EachInRange(low, high, amount, **labels))
        elif kind == "shared":
            rules.append(SharedInRange(low, high, _amount(draw, q, minimum=high - low + 1), **labels))
        elif kind == "pro":
            rules.append(ProRata(low, high, _amount(draw, q), **labels))
        else:
            base = _amount(draw, q) if draw(st.booleans()) else D(0)
            per = _amount(draw, q)
            maximum = base + _amount(draw, q)
            split = draw(st.sampled_from(["equal", "pro_rata"]))
            rules.append(GrowingPool(base, per, maximum, low, high, split, **labels))
    rules = draw(st.permutations(rules))  # table order need not be rank order
    caps = {c: D(draw(st.integers(1, 3_000))) * quanta[c] for c in CURRENCIES if draw(st.booleans())}
    table = PrizeTable(rules, cap_per_user=caps or None, quantum=quanta)
    assert validate(table) == [], validate(table)
    return table


@st.composite
def rankings(draw: st.DrawFn) -> list[Placed]:
    n = draw(st.integers(0, 30))
    scores = sorted((draw(st.integers(-3, 8)) for _ in range(n)), reverse=True)
    placed: list[Placed] = []
    group = 0
    for rank, score in enumerate(scores, start=1):
        # equal scores MAY be tied for prizes (same reached-at time) or not (the board broke the tie by time)
        if not (placed and placed[-1].score == score and draw(st.booleans())):
            group += 1
        placed.append(Placed(f"user{rank}", rank, D(score), draw(st.booleans() | st.just(True)), f"g{group}"))
    return draw(st.permutations(placed))  # input order does not matter


def _positions(placed: list[Placed]) -> list[list[Placed]]:
    """The oracle's groups: eligible participants in rank order, tie groups together (index + 1 = first position)."""
    groups: list[list[Placed]] = []
    for p in sorted((p for p in placed if p.eligible), key=lambda p: p.rank):
        if groups and groups[-1][0].tie_group == p.tie_group:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


def _oracle(table: PrizeTable, placed: list[Placed]):
    """Brute force: per position its exact prize under each rule, then each tie group shares its positions'."""
    groups = _positions(placed)
    group_at: dict[int, list[Placed]] = {}  # position -> the group occupying it
    first_of: dict[str, int] = {}  # user -> the group's first position
    for members in groups:
        first = len(group_at) + 1
        for m in members:
            first_of[m.user_id] = first
            group_at[len(group_at) + 1] = members
    count = len(group_at)

    put_up: dict[Currency, Fraction] = {c: Fraction(0) for c in table.currencies()}
    shares: dict[tuple[str, int], Fraction] = {}
    straddles: set[tuple[str, int]] = set()
    for index, rule in enumerate(table.rules):
        in_range = [p for p in range(rule.rank_from, rule.rank_to + 1) if p <= count]
        size = rule.rank_to - rule.rank_from + 1
        if isinstance(rule, EachInRange):
            per = Fraction(1) if rule.amount is None else Fraction(rule.amount)
            value = dict.fromkeys(in_range, per)
            put_up[currency_of(rule)] += per * len(in_range)
        else:
            pool = Fraction(rule.pool) if isinstance(rule, SharedInRange | ProRata) else None
            if isinstance(rule, GrowingPool):
                pool = min(Fraction(rule.maximum), Fraction(rule.base) + Fraction(rule.per_participant) * count)
            put_up[currency_of(rule)] += pool
            if isinstance(rule, SharedInRange) or (isinstance(rule, GrowingPool) and rule.split == "equal"):
                value = dict.fromkeys(in_range, pool / size)
            else:
                weight = {p: max(Fraction(group_at[p][0].score), Fraction(0)) for p in in_range}
                total = sum(weight.values())
                value = {p: pool * weight[p] / total if total else Fraction(0) for p in in_range}
        for members in groups:
            first = first_of[members[0].user_id]
            mine = [p for p in range(first, first + len(members)) if p in value]
            if not mine:
                continue
            for m in members:
                shares[(m.user_id, index)] = sum(value[p] for p in mine) / len(members)
                if len(mine) < len(members):
                    straddles.add((m.user_id, index))
    return put_up, shares, straddles, first_of


def _floor(value: Fraction, quantum: Decimal) -> Fraction:
    return math.floor(value / Fraction(quantum)) * Fraction(quantum)


@settings(max_examples=400, deadline=None)
@given(tables(), rankings())
def test_random_tables_pay_exactly_what_is_put_up_once_per_rule_by_tier(table, placed):
    """Given any valid table and any ranking with ties and ineligible participants
    When the plan is calculated
    Then it matches an exact oracle: balanced per currency, quantised, once per rule, capped, never negative."""
    # When any valid table is applied to any ranking with ties and ineligible participants
    plan = calculate(table, placed)
    put_up, shares, straddles, first_of = _oracle(table, placed)

    # Then, per currency, what is put up is what the table offers for these participants, and
    # awards + treasury == pool_total exactly, with a treasury that is never negative
    assert set(plan.pool_total) == set(plan.treasury) == set(table.currencies())
    paid = plan.paid()
    for currency in table.currencies():
        assert Fraction(plan.pool_total[currency]) == put_up[currency]
        assert plan.treasury[currency] >= 0
        assert paid[currency] + plan.treasury[currency] == plan.pool_total[currency]

    # every amount is a non-negative multiple of its currency's quantum
    for a in plan.awards:
        assert a.amount >= 0
        assert _multiple(a.amount, table.quantum_for(a.currency))
        assert a.currency == currency_of(table.rules[a.rule_index])

    # no user is paid twice under one rule, and exactly the eligible participants with a position in a rule's range are
    keys = [(a.user_id, a.rule_index) for a in plan.awards]
    assert len(keys) == len(set(keys))
    assert set(keys) == set(shares)
    ineligible = {p.user_id for p in placed if not p.eligible}
    assert not ineligible & {a.user_id for a in plan.awards}
    assert all(a.prize_rank == first_of[a.user_id] for a in plan.awards)

    # each user's total in a currency is their exact entitlement rounded down once, then capped
    entitled: dict[tuple[str, Currency], Fraction] = {}
    for (user, index), share in shares.items():
        key = (user, currency_of(table.rules[index]))
        entitled[key] = entitled.get(key, Fraction(0)) + share
    for (user, currency), exact in entitled.items():
        quantum = table.quantum_for(currency)
        expected = _floor(exact, quantum)
        cap = table.cap_for(currency)
        if cap is not None:
            expected = min(expected, Fraction(cap))
        assert Fraction(plan.by_user()[user][currency]) == expected

    # a participant wholly inside a rule's range (no tie straddling out) is paid by that tier: its exact share
    # rounded down, capped; positive unless a pro-rata share of a non-positive score (or one below the quantum)
    award = {(a.user_id, a.rule_index): a.amount for a in plan.awards}
    for (user, index), share in shares.items():
        if (user, index) in straddles:
            continue
        rule = table.rules[index]
        currency = currency_of(rule)
        expected = _floor(share, table.quantum_for(currency))
        cap = table.cap_for(currency)
        if cap is not None:
            expected = min(expected, Fraction(cap))
        assert Fraction(award[(user, index)]) == expected
        if isinstance(rule, EachInRange | SharedInRange):
            assert award[(user, index)] > 0

    # tied participants are treated alike
    for members in _positions(placed):
        for index in range(len(table.rules)):
            assert len({award.get((m.user_id, index)) for m in members}) == 1


@settings(max_examples=150, deadline=None)
@given(tables(), rankings(), st.randoms(use_true_random=False))
def test_disqualifying_is_the_same_as_removing(table, placed, random):
    """Given a ranking and the same ranking without its ineligible participants (ranks left with gaps)
    When both, and a shuffled copy, are calculated
    Then the plans are the same: prizes roll down past the ineligible, and input order does not matter."""
    kept = [p for p in placed if p.eligible]
    # Then the plans are the same: prizes roll down past the ineligible; and input order does not matter
    assert calculate(table, placed) == calculate(table, kept)
    shuffled = list(placed)
    random.shuffle(shuffled)
    assert calculate(table, shuffled) == calculate(table, placed)
