"""Claim history: a user reads every claim attempt of theirs (accepted or refused) and every later step of their
claims, newest first."""

from __future__ import annotations

from arena.auth import Principal
from arena.models.claims import ClaimHistory, HistoryEntry
from arena.store import claims as store


def claim_history(principal: Principal, limit: int, cursor: str | None) -> ClaimHistory:
    """GET /api/events/prizes/history: the caller's claim history, newest first, cursor-paged."""
    page = store.history_page(principal.user_id, limit, cursor)
    return ClaimHistory(
        entries=[HistoryEntry.model_validate(entry, from_attributes=True) for entry in page.items],
        next_cursor=page.next_cursor,
    )
