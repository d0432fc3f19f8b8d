"""The pure claim rules (arena.domain.claims): ids, the status machine's refusals, velocity windows, the bounded
counterparty summary and the review reasons."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from arena.domain import claims as rules
from arena.domain.claims import PrizeRef
from arena.domain.statuses import PrizeStatus

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
DEADLINE = NOON + timedelta(days=7)
LIMITS = rules.Thresholds(counterparty_share=Decimal("0.5"), burst_share=Decimal("0.5"), burst_min_trades=5)


# ---------------------------------------------------------------------------------------------- ids


def test_a_prize_id_names_one_prize_and_reads_back() -> None:
    """Given a prize (event, owner, rule)
    When its prize id and claim id are made
    Then both read back to that prize, differ only in their prefix, and carry no separator a URL path would mind."""
    ref = PrizeRef("01jbsampleevent0000000000", "user-7f3a@x.io", 12)
    assert rules.parse_prize_id(ref.prize_id) == ref
    assert rules.parse_payout_id(ref.claim_id) == ref
    assert ref.prize_id[3:] == ref.claim_id[3:] and ref.prize_id.startswith("pz_") and ref.claim_id.startswith("cl_")
    assert all(c.isalnum() or c in "_-" for c in ref.prize_id)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pz_",
        "garbage",
        "pz_!!!!",
        "pz_" + "A" * 500,
        "cl_" + PrizeRef("e1", "ann", 0).token,  # a claim id is not a prize id
        "pz_" + PrizeRef("e1", "ann", 0).token + "=",  # another spelling of the same prize
        "pz_ZTEjYW5u",  # base64 of "e1#ann": two parts
        "pz_ZTEjYW5uI3g",  # "e1#ann#x": the rule is not a number
        "pz_ZTEjYSNiIzA",  # "e1#a#b#0": four parts
    ],
)
def test_anything_else_is_no_prize_id(text: str) -> None:
    """Given a text that is not a prize id
    When it is parsed as one
    Then the result is None."""
    assert rules.parse_prize_id(text) is None


def test_a_payout_id_is_a_claim_id_or_the_distributions_key() -> None:
    """Given a payout id: auto mode pays token prizes at distribution under prize:<event>:<user>:<rule>, manual mode
    under the claim id
    When it is parsed
    Then both name the prize; anything else names none."""
    assert rules.parse_payout_id("prize:01evt:ann:2") == PrizeRef("01evt", "ann", 2)
    for text in ("prize:01evt:ann", "prize:01evt:ann:x", "payout:01evt:ann:2", "pz_" + PrizeRef("e", "u", 0).token):
        assert rules.parse_payout_id(text) is None


# ---------------------------------------------------------------------------------------------- the status machine


def test_only_the_owner_may_claim_and_someone_else_s_prize_is_refused_as_missing() -> None:
    """Given a claimable prize of ann's
    When bob and then ann claim it
    Then bob is refused as if the prize did not exist, and ann is not refused."""
    refusal = rules.claim_refusal("ann", PrizeStatus.CLAIMABLE, DEADLINE, "bob", NOON)
    assert refusal == rules.PRIZE_NOT_FOUND and (refusal.code, refusal.kind) == ("prize_not_found", "not_found")
    assert rules.claim_refusal("ann", PrizeStatus.CLAIMABLE, DEADLINE, "ann", NOON) is None


def test_the_deadline_is_exclusive() -> None:
    """Given a claimable prize with a deadline
    When it is claimed one millisecond before the deadline, and at the deadline
    Then the first is accepted and the second refused as claim_deadline_passed."""
    assert (
        rules.claim_refusal("ann", PrizeStatus.CLAIMABLE, DEADLINE, "ann", DEADLINE - timedelta(milliseconds=1)) is None
    )
    refusal = rules.claim_refusal("ann", PrizeStatus.CLAIMABLE, DEADLINE, "ann", DEADLINE)
    assert refusal is not None and refusal.code == "claim_deadline_passed"


@pytest.mark.parametrize(
    ("status", "deadline", "code"),
    [
        (PrizeStatus.CLAIMED, DEADLINE, "already_claimed"),
        (PrizeStatus.PAYOUT_REQUESTED, DEADLINE, "already_claimed"),
        (PrizeStatus.PAID, DEADLINE, "already_claimed"),
        (PrizeStatus.CUSTOM_PENDING, DEADLINE, "already_claimed"),
        (PrizeStatus.FULFILLED, DEADLINE, "already_claimed"),
        (PrizeStatus.REJECTED, DEADLINE, "already_claimed"),
        (PrizeStatus.IN_REVIEW, DEADLINE, "claim_in_review"),
        (PrizeStatus.EXPIRED, DEADLINE, "claim_deadline_passed"),
        ("ROLLED_BACK", DEADLINE, "not_claimable"),
        ("CREDITED", None, "not_claimable"),  # auto mode: paid at distribution
        (PrizeStatus.PAYOUT_REQUESTED, None, "not_claimable"),
    ],
)
def test_a_prize_is_claimed_once(status: str, deadline: datetime | None, code: str) -> None:
    """Given a prize in a status that is no longer claimable
    When its owner claims it
    Then the claim is refused as a conflict with the expected code."""
    refusal = rules.claim_refusal("ann", status, deadline, "ann", NOON)
    assert refusal is not None and (refusal.code, refusal.kind) == (code, "conflict")


def test_each_type_has_its_paid_state() -> None:
    """Given the points, token and custom prize types
    When their paid state is asked
    Then it is CLAIMED, PAYOUT_REQUESTED and CUSTOM_PENDING."""
    assert [rules.paid_state(t) for t in ("points", "token", "custom")] == [
        PrizeStatus.CLAIMED,
        PrizeStatus.PAYOUT_REQUESTED,
        PrizeStatus.CUSTOM_PENDING,
    ]


# ---------------------------------------------------------------------------------------------- velocity


def test_velocity_windows_are_fixed_and_aligned() -> None:
    """Given moments just before and at a minute boundary
    When their velocity window and Retry-After are computed
    Then windows are aligned to the minute and Retry-After is the seconds left, rounded up."""
    at = datetime(2026, 12, 1, 12, 0, 59, 900_000, tzinfo=UTC)
    assert rules.velocity_window(at, 60) == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert rules.velocity_window(at + timedelta(milliseconds=100), 60) == datetime(2026, 12, 1, 12, 1, tzinfo=UTC)
    assert rules.retry_after(at, 60) == 1
    assert rules.retry_after(datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC), 60) == 60


# ---------------------------------------------------------------------------------------------- counterparties


def test_the_counterparty_summary_is_exact_while_it_has_room() -> None:
    """Given a counterparty summary with room for four
    When three trades with two counterparties are added
    Then the volumes are exact and the top counterparty is the largest."""
    summary: dict[str, tuple[Decimal, Decimal]] = {}
    for party, volume in (("mm-1", "100.5"), ("bob", "20"), ("mm-1", "0.25")):
        summary = rules.add_counterparty(summary, party, Decimal(volume), capacity=4)
    assert summary == {"mm-1": (Decimal("100.75"), Decimal(0)), "bob": (Decimal("20"), Decimal(0))}
    assert rules.top_counterparty(summary) == ("mm-1", Decimal("100.75"))


def test_a_heavy_counterparty_is_never_evicted_and_never_overstated() -> None:
    """Given 200 random streams of trades over many counterparties, one of them holding more than 1/capacity of
    the volume and arriving at random points (also last)
    When they are folded into a summary of 8
    Then that counterparty is in the summary, is the top one, and its lower bound never exceeds its true volume."""
    generator = random.Random(5)
    for _ in range(200):
        trades = [(f"p{generator.randrange(60)}", Decimal(generator.randrange(1, 500))) for _ in range(300)]
        others = sum(v for _, v in trades)
        pieces = generator.randrange(1, 20)
        heavy = [("heavy", Decimal(others // pieces + 1))] * pieces  # at least half of everything
        stream = trades + heavy
        generator.shuffle(stream)
        summary: dict[str, tuple[Decimal, Decimal]] = {}
        truth: Counter[str] = Counter()
        for party, volume in stream:
            summary = rules.add_counterparty(summary, party, volume, capacity=8)
            truth[party] += volume  # type: ignore[assignment]
        assert len(summary) <= 8
        assert "heavy" in summary
        for party, (counted, over) in summary.items():
            assert counted - over <= truth[party] <= counted
        top = rules.top_counterparty(summary)
        assert top is not None and top[0] == "heavy"


# ---------------------------------------------------------------------------------------------- review reasons


def test_a_clean_claimant_is_paid() -> None:
    """Given a claimant with spread counterparties and a late volume in fewer trades than a burst, and one with no
    signals
    When their review reasons are computed
    Then there are none."""
    clean = rules.Signals(
        volume=Decimal(1000),
        counterparties={"a": (Decimal(300), Decimal(0)), "b": (Decimal(300), Decimal(0))},
        late_volume=Decimal(900),
        late_trades=4,  # most of the volume late, but fewer trades than a burst
    )
    assert rules.review_reasons(clean, LIMITS) == []
    assert rules.review_reasons(rules.Signals(), LIMITS) == []


def test_every_reason_is_named() -> None:
    """Given a flagged account, one counterparty on half of the volume, and half of it in 5 trades before the end
    When the review reasons are computed
    Then each reason is named with its figures."""
    signals = rules.Signals(
        volume=Decimal(1000),
        counterparties={"mm-1": (Decimal(500), Decimal(0)), "b": (Decimal(100), Decimal(0))},
        late_volume=Decimal(500),
        late_trades=5,
        flagged=True,
        flag_reason="linked to a closed account",
    )
    assert rules.review_reasons(signals, LIMITS) == [
        "account_flagged: linked to a closed account",
        "counterparty_concentration: mm-1 took 50.0% of the volume",
        "end_burst: 5 trades, 50.0% of the volume just before the end",
    ]


def test_an_overestimate_does_not_count_as_concentration() -> None:
    """Given a counterparty whose summary count includes the volume of one it replaced (its overestimate)
    When the review reasons are computed
    Then only the lower bound (count - overestimate) is held against the claimant: no concentration."""
    signals = rules.Signals(volume=Decimal(1000), counterparties={"x": (Decimal(600), Decimal(200))})
    assert rules.review_reasons(signals, LIMITS) == []


def test_a_trade_may_name_its_counterparty() -> None:
    """Given a trade from the feed, with no counterparty_id, a valid one, and malformed ones
    When it is validated
    Then the counterparty is optional and an identifier like the user id; anything else fails validation."""
    from arena.models.trades import TradeIn
    from pydantic import ValidationError

    base = {
        "trade_id": "T-1",
        "user_id": "ann",
        "market": "BTC-USDT",
        "side": "buy",
        "quantity": "1",
        "price": "100",
        "executed_at": "2026-12-01T12:00:00Z",
    }
    assert TradeIn.model_validate(base).counterparty_id is None
    assert TradeIn.model_validate({**base, "counterparty_id": "mm-1"}).counterparty_id == "mm-1"
    for bad in ("", "a b", "x" * 129):
        with pytest.raises(ValidationError):
            TradeIn.model_validate({**base, "counterparty_id": bad})
