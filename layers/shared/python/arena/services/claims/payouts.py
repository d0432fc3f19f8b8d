"""Payouts: the exchange's wallet service says whether a token payout it was asked for (PayoutRequested) was paid
or failed."""

from __future__ import annotations

from arena import clock
from arena.auth import Principal
from arena.domain import claims as rules
from arena.domain.statuses import PrizeStatus
from arena.errors import Conflict, NotFound
from arena.models.claims import PayoutOutcome, PrizeState
from arena.observability import count
from arena.services.claims import notices
from arena.services.claims.shared import load, move_prize, state


def _unknown() -> NotFound:
    return NotFound("No payout with this id.", code="payout_not_found")


def payout_outcome(principal: Principal, payout_id: str, outcome: PayoutOutcome) -> PrizeState:
    """POST /api/events/prizes/payouts/{payoutId} (the wallet): the wallet service confirms (PAID) or fails (FAILED) a
    token payout. Idempotent: a repeat of the recorded outcome returns it; a late PAID after FAILED is recorded (the
    wallet retried); anything after PAID is refused (409). PrizePaid is published when this call made it PAID."""
    ref = rules.parse_payout_id(payout_id)
    if ref is None:
        raise _unknown()
    prize = load(ref)
    if prize.type != "token":
        raise _unknown()
    # A claimed prize is paid under its claim id; one paid at distribution (auto mode) under its key.
    if (prize.claim_id or prize.key) != payout_id:
        raise _unknown()
    target = PrizeStatus.PAID if outcome.outcome == "PAID" else PrizeStatus.PAYOUT_FAILED
    if prize.status == target:
        return state(prize)
    allowed = (
        (PrizeStatus.PAYOUT_REQUESTED, PrizeStatus.PAYOUT_FAILED)
        if target == PrizeStatus.PAID
        else (PrizeStatus.PAYOUT_REQUESTED,)
    )
    if prize.status not in allowed:
        raise Conflict(f"This payout is {prize.status.lower()}.", code="payout_settled")
    now = clock.now()
    fields = {"payout_reference": outcome.reference, "payout_reason": outcome.reason, "payout_at": clock.to_iso(now)}
    moved = move_prize(
        prize,
        allowed,
        target,
        fields,
        action="payout",
        actor=principal.user_id,
        reason=outcome.reason or outcome.reference,
        at=now,
    )
    if not moved:
        return payout_outcome(principal, payout_id, outcome)
    count("PrizePayoutPaid" if target == PrizeStatus.PAID else "PrizePayoutFailed")
    if target == PrizeStatus.PAID:  # this call's conditional write made it PAID: published once
        notices.prize_paid(prize, now, outcome.reference)
    return state(prize, target)
