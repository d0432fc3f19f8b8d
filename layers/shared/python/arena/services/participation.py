"""Joining an event and reading one's own participation."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from arena import clock
from arena.auth import Principal
from arena.domain import events as rules
from arena.domain.ranking import Totals
from arena.errors import Conflict, NotFound
from arena.models.participants import ParticipantOut
from arena.services import community
from arena.services.events import current_status, load
from arena.store import participants as participant_store
from arena.store.participants import JoinOutcome, ParticipantRecord


@dataclass(frozen=True)
class JoinResult:
    participant: ParticipantOut
    created: bool


def to_out(record: ParticipantRecord) -> ParticipantOut:
    t = record.totals
    return ParticipantOut(
        event_id=record.event_id,
        user_id=record.user_id,
        joined_at=record.joined_at,
        score=record.score,
        volume=t.volume,
        pnl=t.pnl,
        fees=t.fees,
        trade_count=t.trade_count,
        first_trade_at=t.first_trade_at,
        last_trade_at=t.last_trade_at,
        qualified=record.qualified,
        disqualified=record.disqualified,
        disqualified_reason=record.disqualified_reason,
    )


def join_event(principal: Principal, event_id: str, ref: str | None = None) -> JoinResult:
    """Idempotent: joining twice returns the existing participation (created = False). `ref`: the referral code
    of the share link that brought the caller (counted once per invitee, arena/services/community.py)."""
    event = load(event_id)
    existing = participant_store.get(event_id, principal.user_id)
    if existing is not None:
        return JoinResult(to_out(existing), created=False)
    check = functools.partial(
        rules.check_can_join,
        max_participants=event.max_participants,
        min_kyc_level=event.eligibility.min_kyc_level,
        excluded_account_types=event.eligibility.excluded_account_types,
        kyc_level=principal.kyc_level,
        account_type=principal.account_type,
    )
    check(current_status(event), participant_count=event.participant_count)
    record = ParticipantRecord(
        event_id=event_id,
        user_id=principal.user_id,
        joined_at=clock.now(),
        totals=Totals(),
        score=Decimal(0),
        board_key=None,
        version=1,
    )
    outcome = participant_store.join(record, event.max_participants)
    if outcome is JoinOutcome.JOINED:
        community.record_join(principal.user_id, event_id, ref)
        return JoinResult(to_out(record), created=True)
    if outcome is JoinOutcome.ALREADY_JOINED:
        # A concurrent request of the same user won the race.
        return JoinResult(to_out(participant_store.get(event_id, principal.user_id) or record), created=False)
    # Refused by the event's condition: it filled up or closed since we read it. Say which.
    fresh = load(event_id)
    check(current_status(fresh), participant_count=fresh.participant_count)
    raise Conflict("The event could not be joined; try again.", code="join_refused")


def my_participation(principal: Principal, event_id: str) -> ParticipantOut:
    load(event_id)
    record = participant_store.get(event_id, principal.user_id)
    if record is None:
        raise NotFound("You are not a participant of this event.", code="not_participant")
    return to_out(record)
