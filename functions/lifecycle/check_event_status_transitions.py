"""checkEventStatusTransitions, every minute: the safety net under the per-event schedules.

Advances every UPCOMING/ACTIVE/FINALIZING event whose time has come (completing it once the grace period is over
and its ranking is fresh). Idempotent: conditional writes, publications only on a change.
"""

from typing import Any

from arena.observability import EVENTBRIDGE, entry_point, logger
from arena.services import lifecycle


@entry_point(correlation=EVENTBRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    done = lifecycle.sweep()
    moved = {a.event_id: a.transitions for a in done if a.transitions}
    blocked = {a.event_id: a.blocked for a in done if a.blocked}
    logger.info("lifecycle sweep", extra={"moved": moved, "blocked": blocked})
    return {"moved": moved, "blocked": blocked}
