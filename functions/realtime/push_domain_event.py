"""EventBridge (ArenaEventBus) -> real-time: event status changes to `event:<id>`, prize runs to `event:<id>`,
payouts to the user's channel, everything to `admin`. At least once; the EventBridge id is claimed first, so a
repeated delivery posts nothing."""

from typing import Any

from arena.observability import EVENTBRIDGE, entry_point
from arena.services.realtime import domain_event_push as realtime


@entry_point(correlation=EVENTBRIDGE)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = realtime.push_domain_event(event)
    return {"messages": report.messages, "posts": report.outcome.sent}
