"""processCompletedEvents, every hour: checks that recently completed events have their frozen results (re-freezes
missing ones from the final snapshot) and starts the prize distribution of those that have none. Idempotent
(deterministic result keys; one distribution run per event)."""

from typing import Any

from arena.observability import EVENTBRIDGE, entry_point, logger
from arena.services import lifecycle


@entry_point(correlation=EVENTBRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = lifecycle.process_completed()
    logger.info("completed events checked", extra={"events": len(report)})
    return {"events": report}
