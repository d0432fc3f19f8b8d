"""The claims area's notification sources, published on the bus after the state change they report:
ClaimDeadlineApproaching (the hourly sweep, once per claimable prize: recorded on the prize first) and PrizePaid (a
token payout confirmed, a claimed points prize credited; each after the write that made it so, which happens once).
A publish that fails is logged and counted: the change it reports stands."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arena import clock
from arena.adapters import domain_events
from arena.domain import claims as rules
from arena.domain.distribution import PrizeRecord
from arena.domain.statuses import DomainEvent, PrizeStatus
from arena.observability import count, logger
from arena.store import user_prizes

DEADLINE_NOTICE_ATTRIBUTE = "deadline_notice_at"
PAID_NOTICE_ATTRIBUTE = "paid_notice_at"


def _about(prize: PrizeRecord) -> dict[str, Any]:
    ref = prize.ref
    return {
        "event_id": ref.event_id,
        "user_id": ref.user_id,
        "prize_id": ref.prize_id,
        "type": prize.type,
        "amount": prize.amount,
        "token": prize.token,
    }


def _publish(name: DomainEvent, detail: dict[str, Any]) -> bool:
    try:
        domain_events.publish(name, detail)
    except Exception:
        count("DomainEventPublishFailed")
        logger.exception("could not publish a prize notification", extra={"name": name.value, **detail})
        return False
    return True


def remind_deadline(prize: PrizeRecord, now: datetime) -> bool:
    """ClaimDeadlineApproaching when a claimable prize's deadline is within a day: recorded on the prize (once,
    while it is still CLAIMABLE) before it is published, so a repeated or concurrent sweep publishes nothing.
    Idempotent. True when this call published it."""
    deadline = prize.claim_deadline
    if prize.status != PrizeStatus.CLAIMABLE or deadline is None or not rules.deadline_notice_due(deadline, now):
        return False
    if not user_prizes.mark_notified(prize.ref, DEADLINE_NOTICE_ATTRIBUTE, now, PrizeStatus.CLAIMABLE):
        return False
    return _publish(DomainEvent.CLAIM_DEADLINE_APPROACHING, {**_about(prize), "claim_deadline": clock.to_iso(deadline)})


def prize_paid(prize: PrizeRecord, at: datetime, reference: str | None = None) -> bool:
    """PrizePaid, for a payout confirmed or a claimed prize credited; the caller has just made that write (a
    conditional one, or one guarded by mark_notified), so this runs once per prize."""
    return _publish(DomainEvent.PRIZE_PAID, {**_about(prize), "paid_at": clock.to_iso(at), "reference": reference})
