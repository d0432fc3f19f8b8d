"""WebSocket `unsubscribe`: {"action": "unsubscribe", "topic": "..."}; idempotent."""

from typing import Any

from arena.services.realtime import subscriptions as realtime
from arena.websocket import connection_id, route


@route
def lambda_handler(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    return realtime.unsubscribe(connection_id(event), message.get("topic"))
