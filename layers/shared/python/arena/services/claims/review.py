"""Review: an admin reads the claims held for review (oldest first) and approves (pays the claim as it would have
been paid) or rejects one (its points go back to the event's pool), with a reason kept in the claim history."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from arena import clock
from arena.auth import Principal
from arena.domain import claims as rules
from arena.domain.statuses import PrizeStatus
from arena.errors import Conflict
from arena.models.claims import PrizeState, ReviewItem, ReviewQueue
from arena.observability import count
from arena.services.claims.settlement import settle_or_leave
from arena.services.claims.shared import load, move_prize, prize_ref, state
from arena.store import claims as store


def review_queue(principal: Principal, limit: int, cursor: str | None) -> ReviewQueue:
    """GET /api/events/prizes/reviews (admin): claims held for review, oldest first."""
    page = store.review_page(limit, cursor)
    return ReviewQueue(
        items=[ReviewItem.model_validate(review, from_attributes=True) for review in page.items],
        next_cursor=page.next_cursor,
    )


def decide(principal: Principal, prize_id: str, decision: Literal["approve", "reject"], reason: str) -> PrizeState:
    """POST /api/events/prizes/{prizeId}/review (admin): approve or reject a claim held for review, with a reason.
    Idempotent: a repeat of the decision already taken returns the prize as it is; the other decision is refused
    (409)."""
    ref = prize_ref(prize_id)
    prize = load(ref)
    now = clock.now()
    target = rules.paid_state(prize.type) if decision == "approve" else PrizeStatus.REJECTED
    if prize.status != PrizeStatus.IN_REVIEW:
        if prize.decision == decision:
            settle_or_leave(prize)
            return state(prize)
        raise Conflict(f"This prize is not in review ({prize.status.lower()}).", code="not_in_review")
    assert prize.claimed_at is not None  # set by the claim that put it in review
    queued = store.dequeue_review(prize.claimed_at, ref.prize_id)
    fields = {
        "decision": decision,
        "decided_by": principal.user_id,
        "decided_at": clock.to_iso(now),
        "decision_reason": reason,
    }
    moved = move_prize(
        prize,
        (PrizeStatus.IN_REVIEW,),
        target,
        fields,
        action="review",
        actor=principal.user_id,
        reason=reason,
        at=now,
        extra=[queued],
    )
    if not moved:
        return decide(principal, prize_id, decision, reason)  # decided meanwhile: answer as a repeat
    count("PrizeClaimApproved" if decision == "approve" else "PrizeClaimRejected")
    decided = replace(prize, status=target)
    settle_or_leave(decided)
    return state(decided)
