"""Fulfilment: an admin records that a claimed custom prize (a thing, not points or tokens) was delivered."""

from __future__ import annotations

from arena import clock
from arena.auth import Principal
from arena.domain.statuses import PrizeStatus
from arena.errors import Conflict
from arena.models.claims import PrizeState
from arena.services.claims.shared import load, move_prize, prize_ref, state


def fulfil(principal: Principal, prize_id: str, reason: str) -> PrizeState:
    """POST /api/events/prizes/{prizeId}/fulfil (admin): a custom prize was delivered. Idempotent."""
    ref = prize_ref(prize_id)
    prize = load(ref)
    if prize.type != "custom":
        raise Conflict("Only custom prizes are fulfilled by hand.", code="not_custom")
    if prize.status == PrizeStatus.FULFILLED:
        return state(prize)
    now = clock.now()
    fields = {"fulfilled_by": principal.user_id, "fulfilled_at": clock.to_iso(now), "fulfil_note": reason}
    moved = move_prize(
        prize,
        (PrizeStatus.CUSTOM_PENDING,),
        PrizeStatus.FULFILLED,
        fields,
        action="fulfil",
        actor=principal.user_id,
        reason=reason,
        at=now,
    )
    if not moved:
        current = load(ref)
        if current.status == PrizeStatus.FULFILLED:
            return state(current)
        raise Conflict(f"This prize is not awaiting fulfilment ({current.status.lower()}).", code="not_pending")
    return state(prize, PrizeStatus.FULFILLED)
