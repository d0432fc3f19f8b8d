"""WebSocket `announce`: {"action": "announce", "event_id": "...", "text": "..."} from an admin or the event's
manager; everyone subscribed to `event:<id>` gets an `announcement`. Answers {"type": "announced", "delivered"}."""

from typing import Any

from arena.services.realtime import subscriptions as realtime
from arena.websocket import connection_id, route


@route
def lambda_handler(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    return realtime.announce(connection_id(event), message)
