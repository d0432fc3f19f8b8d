"""The target of an event's one-shot Scheduler schedules: input {"event_id", "transition": "start"|"end"}.

Idempotent: it moves the event as far as the clock allows (`lifecycle.advance`); every step is a conditional write
that publishes only when it changed something, so a repeated, early or late delivery is harmless. An early one
does nothing and leaves the move to the minute sweep. Raising makes Scheduler retry (its RetryPolicy).
"""

from dataclasses import asdict
from typing import Any

from arena.observability import entry_point, lifecycle_schedule_name, logger
from arena.services import lifecycle


@entry_point(correlation=lifecycle_schedule_name)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    event_id = str(event["event_id"])
    outcome = lifecycle.advance(event_id)
    logger.info(
        "lifecycle transition",
        extra={"event_id": event_id, "trigger": event.get("transition"), "transitions": outcome.transitions},
    )
    return asdict(outcome) | {"status": outcome.status.value, "stale_users": len(outcome.stale_users)}
