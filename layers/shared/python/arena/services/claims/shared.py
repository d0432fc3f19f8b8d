"""What several claim use cases share: finding the prize an id names, the history entry about a prize, the
prize's state as answered, and a later step of a claim written with its history entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from arena.domain import claims as rules
from arena.domain.claims import PrizeRef
from arena.domain.distribution import PrizeRecord
from arena.domain.statuses import PrizeStatus
from arena.errors import NotFound
from arena.models.claims import PrizeState
from arena.store import claims as store
from arena.store import user_prizes
from arena.store.claims import HistoryRecord


def not_found() -> NotFound:
    """The one answer for an id that names no prize, and (to its claimant) for someone else's prize."""
    return NotFound(rules.PRIZE_NOT_FOUND.message, code=rules.PRIZE_NOT_FOUND.code)


def prize_ref(prize_id: str) -> PrizeRef:
    ref = rules.parse_prize_id(prize_id)
    if ref is None:
        raise not_found()
    return ref


def load(ref: PrizeRef) -> PrizeRecord:
    prize = user_prizes.get(ref)
    if prize is None:
        raise not_found()
    return prize


def history_record(ref: PrizeRef | None, prize: PrizeRecord | None, **entry: Any) -> HistoryRecord:
    """A history entry (`entry`: who, when, what was done, the outcome, why) about a prize: which prize of which
    event when it is known (`ref`), of what type and amount when it was found (`prize`)."""
    about: dict[str, Any] = {}
    if ref is not None:
        about.update(prize_id=ref.prize_id, event_id=ref.event_id)
    if prize is not None:
        about.update(type=prize.type, amount=prize.amount)
    return HistoryRecord(**entry, **about)


def state(prize: PrizeRecord, status: PrizeStatus | None = None) -> PrizeState:
    """The prize as answered, with the status it has now (`status` when it just moved there)."""
    ref = prize.ref
    return PrizeState(
        prize_id=ref.prize_id,
        event_id=ref.event_id,
        user_id=ref.user_id,
        type=prize.type,
        amount=prize.amount,
        status=status or prize.status,
    )


def move_prize(
    prize: PrizeRecord,
    allowed_from: tuple[PrizeStatus, ...],
    status: PrizeStatus,
    fields: dict[str, Any],
    *,
    action: str,
    actor: str,
    reason: str | None,
    at: datetime,
    deadline_before: datetime | None = None,
    extra: list[dict[str, Any]] | None = None,
) -> bool:
    """One later step of a claim (decision, payout outcome, fulfilment, expiry): the prize's conditional transition
    and the owner's history entry, in one transaction (with `extra` actions). False when the prize was not in
    `allowed_from` (or, with `deadline_before`, its deadline was not behind that moment)."""
    ref = prize.ref
    entry = history_record(
        ref, prize, user_id=ref.user_id, at=at, action=action, outcome=status, reason=reason, actor=actor
    )
    return store.apply(
        [
            user_prizes.transition(ref, allowed_from, status, fields, deadline_before=deadline_before),
            store.history_put(entry),
            *(extra or []),
        ]
    )
