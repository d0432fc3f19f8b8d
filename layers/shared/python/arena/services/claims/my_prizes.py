"""My prizes: what a user can still claim, or is waiting for (a review, a payout, a fulfilment), across events."""

from __future__ import annotations

from arena import clock
from arena.auth import Principal
from arena.domain import claims as rules
from arena.domain.statuses import PrizeStatus
from arena.models.claims import MyPrize, MyPrizes
from arena.store import events as event_store
from arena.store import user_prizes


def my_prizes(principal: Principal) -> MyPrizes:
    """GET /api/events/prizes/me: the caller's prizes still open (claimable, in review, awaiting payout or
    fulfilment), claimable first, earliest deadline first."""
    now = clock.now()
    prizes = [p for p in user_prizes.of_user(principal.user_id) if p.status in rules.OPEN_STATES]
    names: dict[str, str | None] = {}
    for event_id in {p.event_id for p in prizes}:
        event = event_store.get(event_id)
        names[event_id] = event.name if event else None
    shown = []
    for prize in prizes:
        deadline = prize.claim_deadline
        claimable = prize.status == PrizeStatus.CLAIMABLE and (deadline is None or now < deadline)
        if prize.status == PrizeStatus.CLAIMABLE and not claimable:
            continue  # past its deadline: expired, whether or not the sweep has run yet
        ref = prize.ref
        shown.append(
            MyPrize(
                prize_id=ref.prize_id,
                event_id=ref.event_id,
                event_name=names.get(ref.event_id),
                type=prize.type,
                token=prize.token,
                description=prize.description,
                amount=prize.amount,
                prize_rank=prize.prize_rank,
                status=prize.status,
                claim_deadline=deadline,
                claimable=claimable,
            )
        )
    shown.sort(key=lambda p: (not p.claimable, p.claim_deadline or now, p.event_id, p.prize_id))
    return MyPrizes(prizes=shown)
