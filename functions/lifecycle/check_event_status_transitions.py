"""checkEventStatusTransitions, every minute: the safety net under the per-event schedules.

Advances every UPCOMING/ACTIVE/FINALIZING event whose time has come (completing it once the grace period is over
and its ranking is fresh). Idempotent: conditional writes, publications only on a change. Then pushes the running
events' live analytics on the admin topic (services/analytics/live.py; best effort, even when the sweep failed).
"""

from typing import Any

from arena.observability import EVENTBRIDGE, entry_point, logger
from arena.services import lifecycle
from arena.services.analytics import live


@entry_point(correlation=EVENTBRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        done = lifecycle.sweep()
    finally:
        live.push_best_effort()
    moved = {a.event_id: a.transitions for a in done if a.transitions}
    blocked = {a.event_id: a.blocked for a in done if a.blocked}
    logger.info("lifecycle sweep", extra={"moved": moved, "blocked": blocked})
    return {"moved": moved, "blocked": blocked}
