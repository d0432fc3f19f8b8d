"""GET /api/events/analytics/compare?ids=a,b,...: 2 to 10 events side by side on the same headline figures, and
per metric the event with the highest value. Every event must be one the caller may see (403 otherwise)."""

from __future__ import annotations

from arena.auth import Principal
from arena.domain import analytics as metrics
from arena.errors import BadRequest
from arena.models.analytics import Comparison
from arena.services.analytics import access, overview

MIN_EVENTS, MAX_EVENTS = 2, 10
MAX_ID = 128


def parse_ids(ids: str) -> list[str]:
    wanted = list(dict.fromkeys(part.strip() for part in ids.split(",") if part.strip()))
    if not MIN_EVENTS <= len(wanted) <= MAX_EVENTS or any(len(i) > MAX_ID for i in wanted):
        raise BadRequest(
            f"Name {MIN_EVENTS} to {MAX_EVENTS} distinct event ids, comma-separated.",
            code="invalid_ids",
            details={"min": MIN_EVENTS, "max": MAX_EVENTS},
        )
    return wanted


def compare(principal: Principal, ids: str) -> Comparison:
    events = [access.event_for(principal, event_id) for event_id in parse_ids(ids)]
    rows = [overview.summary(e) for e in events]
    compared = metrics.compare(rows)
    return Comparison(
        events=[overview.summary_out(e, r) for e, r in zip(events, rows, strict=True)], best=compared.best
    )
