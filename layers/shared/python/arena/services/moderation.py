"""Disqualifying and reinstating participants: audited, and reflected on the leaderboard at once; the event's
moderation trail (who, what, to whom, why, when), newest first."""

from __future__ import annotations

from dataclasses import replace

from arena import clock
from arena.auth import Principal
from arena.domain.board import Change
from arena.errors import Conflict, NotFound
from arena.models.common import AuditEntry, AuditPage
from arena.models.participants import ModerationRequest, ParticipantOut
from arena.services import snapshots
from arena.services.events import load, require_manager
from arena.services.participation import to_out
from arena.store import audit, dynamo
from arena.store import leaderboard as snapshot_store
from arena.store import participants as participant_store
from arena.store.participants import participant_update, record_values

MAX_ATTEMPTS = 10


def _set_disqualified(
    principal: Principal, event_id: str, user_id: str, request: ModerationRequest, disqualified: bool
) -> ParticipantOut:
    """Idempotent: asking for the state a participant is already in changes nothing and writes no audit record."""
    require_manager(principal, load(event_id))
    for _ in range(MAX_ATTEMPTS):
        before = participant_store.get(event_id, user_id)
        if before is None:
            raise NotFound(f"{user_id} is not a participant of this event.", code="not_participant")
        if before.disqualified == disqualified:
            return to_out(before)
        after = replace(
            before,
            disqualified=disqualified,
            disqualified_reason=request.reason if disqualified else None,
            version=before.version + 1,
        )
        now = clock.now()
        action = "disqualify" if disqualified else "reinstate"
        outcome = dynamo.transact_write(
            [
                participant_update(before, after),
                audit.record_action(
                    audit.participant_subject(event_id, user_id), principal.user_id, action, now, request.reason
                ),
                # The same record under the event: its whole trail is one query (the person's own stays as well)
                audit.record_action(
                    audit.participants_subject(event_id),
                    principal.user_id,
                    action,
                    now,
                    request.reason,
                    user_id=user_id,
                ),
            ]
        )
        if outcome is None:
            # The stream would get there within a second; applying the change here makes the board show it now.
            # The stream's copy of it is then stale (same version) and ignored.
            # Look for the user where the snapshot holds them (their latest trade may not have reached it yet).
            held = snapshot_store.read_locators(event_id, {user_id}).get(user_id)
            old_key = held.key if held is not None and held.key else before.board_key
            entry = snapshots.entry_from(record_values(after))
            snapshots.apply_changes(
                event_id, [Change(user_id=user_id, old_key=old_key, entry=entry, version=after.version)]
            )
            return to_out(after)
        # A trade for this participant landed between our read and write: read again.
    raise Conflict("The participant kept changing; try again.", code="participant_busy")


def disqualify(principal: Principal, event_id: str, user_id: str, request: ModerationRequest) -> ParticipantOut:
    return _set_disqualified(principal, event_id, user_id, request, True)


def reinstate(principal: Principal, event_id: str, user_id: str, request: ModerationRequest) -> ParticipantOut:
    return _set_disqualified(principal, event_id, user_id, request, False)


def trail(principal: Principal, event_id: str, limit: int, cursor: str | None) -> AuditPage:
    """The event's participant moderation trail, newest first, paged by an opaque cursor."""
    require_manager(principal, load(event_id))
    items, next_cursor = audit.page(audit.participants_subject(event_id), limit, cursor)
    return AuditPage(items=[AuditEntry.from_record(i) for i in items], next_cursor=next_cursor)
