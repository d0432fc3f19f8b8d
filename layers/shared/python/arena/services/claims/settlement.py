"""Settlement: doing what a prize's status promises once it is written - points to the owner (claimed) or back to
the event's pool (expired, rejected), a token payout requested - exactly once however often it is tried. A claim,
a review decision and the sweep all settle; the sweep and a repeated claim finish a settlement a crash left."""

from __future__ import annotations

from arena import clock
from arena.adapters import domain_events
from arena.domain import ledger as ledger_rules
from arena.domain.claims import PrizeRef
from arena.domain.distribution import PrizeRecord
from arena.domain.statuses import DomainEvent, PrizeStatus
from arena.observability import logger
from arena.services import ledger
from arena.services.claims import notices
from arena.store import user_prizes

# The statuses `settle` marks settled: what they promise is done by it, or (a custom prize waiting for an admin)
# there is nothing for it to do.
SETTLEABLE = (
    PrizeStatus.CLAIMED,
    PrizeStatus.PAYOUT_REQUESTED,
    PrizeStatus.CUSTOM_PENDING,
    PrizeStatus.EXPIRED,
    PrizeStatus.REJECTED,
)


def expire_key(ref: PrizeRef) -> str:
    return f"prize-expired:{ref.event_id}:{ref.user_id}:{ref.rule_index}"


def reject_key(ref: PrizeRef) -> str:
    return f"prize-rejected:{ref.event_id}:{ref.user_id}:{ref.rule_index}"


def settle(prize: PrizeRecord) -> bool:
    """Do what the prize's status promises and was not yet done: points to the user (claimed) or back to the pool
    (expired, rejected); a token payout requested. Idempotent: the ledger applies each key once, the payout request
    is deduplicated by its payout id, ``settled_at`` records that it was done. True when something was done."""
    if prize.settled_at:
        return False
    ref, status, amount = prize.ref, prize.status, prize.amount
    held = ledger_rules.event_claims_account(ref.event_id)
    if status == PrizeStatus.CLAIMED and prize.type == "points" and amount > 0:
        legs = ledger_rules.transfer(held, ledger_rules.user_account(ref.user_id), amount)
        ledger.post(legs, ref.claim_id, "prize_claim", f"prize claimed, rank {prize.prize_rank}")
        # The points are the user's now: PrizePaid, once (recorded on the prize first; a retry publishes nothing).
        now = clock.now()
        if user_prizes.mark_notified(ref, notices.PAID_NOTICE_ATTRIBUTE, now):
            notices.prize_paid(prize, now, ref.claim_id)
    elif status == PrizeStatus.PAYOUT_REQUESTED and prize.claim_id == ref.claim_id and amount > 0:
        domain_events.publish(
            DomainEvent.PAYOUT_REQUESTED,
            {
                "payout_id": ref.claim_id,
                "claim_id": ref.claim_id,
                "event_id": ref.event_id,
                "user_id": ref.user_id,
                "rule_index": ref.rule_index,
                "token": prize.token,
                "amount": amount,
            },
        )
    elif status in (PrizeStatus.EXPIRED, PrizeStatus.REJECTED) and prize.type == "points" and amount > 0:
        key = expire_key(ref) if status == PrizeStatus.EXPIRED else reject_key(ref)
        legs = ledger_rules.transfer(held, ledger_rules.event_pool_account(ref.event_id), amount)
        ledger.post(legs, key, f"prize_{status.lower()}", f"prize {status.lower()}, back to the pool")
    elif status not in SETTLEABLE:
        return False
    user_prizes.mark_settled(ref, clock.now())
    return True


def settle_or_leave(prize: PrizeRecord) -> None:
    """`settle` right after a transition, leaving a failure to the sweep."""
    try:
        settle(prize)
    except Exception:
        # The claim's state change is already written and recorded; what failed (a busy ledger, EventBridge) is
        # finished by the sweep or by a repeat, both idempotent. The answer stays the one the state gives.
        logger.exception("claim settlement left to the sweep", extra={"claim_id": prize.ref.claim_id})
