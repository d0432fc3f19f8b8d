"""Every hour: expire unclaimed prizes past their deadline (points back to the event's pool) and finish any claim a
crash left half settled. Idempotent: conditional transitions, fixed ledger keys, payouts deduplicated by id."""

from typing import Any

from arena.observability import EVENTBRIDGE, entry_point, logger
from arena.services.claims import sweep as claims


@entry_point(correlation=EVENTBRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    done = claims.sweep()
    logger.info("claims sweep", extra=done)
    return done
