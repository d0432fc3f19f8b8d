"""The sweep, every hour and safe at any time: expires the prizes nobody claimed in time (points back to the
event's pool), reminds owners whose claim deadline is within a day (ClaimDeadlineApproaching, once per prize) and
finishes any settlement a crash left half done."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from arena import clock
from arena.domain.distribution import PrizeRecord
from arena.domain.events import EventStatus
from arena.domain.statuses import PrizeStatus, RunStatus
from arena.observability import count, logger
from arena.services.claims import notices
from arena.services.claims.settlement import settle
from arena.services.claims.shared import move_prize
from arena.store import claims as store
from arena.store import events as event_store
from arena.store import user_prizes

ACTOR = "arena:claims-sweep"
# Only a finished (or rolled back) distribution run has written all its prizes: before that, more may come.
FINISHED_RUNS = (RunStatus.COMPLETED, RunStatus.ROLLED_BACK)


def sweep(now: datetime | None = None) -> dict[str, int]:
    """Expire CLAIMABLE prizes past their deadline (points back to the event's pool), remind the owners of those
    whose deadline is within a day (once per prize), and settle any claim a crash left half done (points not yet
    moved, payout not yet requested). Idempotent: conditional transitions, ledger postings under fixed keys, payout
    requests deduplicated by payout id, reminders recorded on the prize before they are published. An event with
    nothing left to expire or settle is marked and skipped from then on."""
    moment = now or clock.now()
    done = {"expired": 0, "settled": 0, "reminded": 0, "events": 0}
    manual = [e for e in event_store.with_status(EventStatus.COMPLETED) if e.claim.mode == "manual"]
    skipped = store.settled_events([e.id for e in manual]) if manual else set()
    for event in manual:
        if event.id in skipped:
            continue
        done["events"] += 1
        open_left = False
        for prize in user_prizes.of_event(event.id):
            deadline = prize.claim_deadline
            if prize.status == PrizeStatus.CLAIMABLE and deadline is not None and deadline <= moment:
                if _expire(prize, moment):
                    done["expired"] += 1
                    prize = replace(prize, status=PrizeStatus.EXPIRED)
                else:
                    prize = user_prizes.get(prize.ref) or prize
            if prize.status in (PrizeStatus.CLAIMABLE, PrizeStatus.IN_REVIEW):
                if notices.remind_deadline(prize, moment):
                    done["reminded"] += 1
                open_left = True
                continue
            try:
                done["settled"] += settle(prize)
            except Exception:
                # One prize's failure (a busy ledger, EventBridge down) must not stop the others; the event stays
                # unsettled, so the next run tries again.
                logger.exception("could not settle a prize", extra={"prize_id": prize.ref.prize_id})
                open_left = True
        if not open_left and user_prizes.run_status(event.id) in FINISHED_RUNS:
            store.mark_event_settled(event.id, moment)
    if done["expired"]:
        count("PrizesExpired", done["expired"])
    return done


def _expire(prize: PrizeRecord, moment: datetime) -> bool:
    return move_prize(
        prize,
        (PrizeStatus.CLAIMABLE,),
        PrizeStatus.EXPIRED,
        {"expired_at": clock.to_iso(moment)},
        action="expire",
        actor=ACTOR,
        reason="claim_deadline_passed",
        at=moment,
        deadline_before=moment,
    )
