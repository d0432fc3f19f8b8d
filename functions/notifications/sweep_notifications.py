"""Every minute: release the deliveries quiet hours held whose time came, and send the daily digests due.

Idempotent: a hold is removed after its message was queued and a minute marked after its holds are gone; the
dispatchers deliver each record once, a digest's id is derived from (user, day)
(arena/services/notifications/holds.py).
"""

from typing import Any

from arena.observability import EVENTBRIDGE, entry_point, logger
from arena.services.notifications import holds


@entry_point(correlation=EVENTBRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = holds.sweep()
    result = {"minutes": report.minutes, "released": report.released, "digests": report.digests}
    logger.info("notification sweep", extra=result)
    return result
