"""WebSocket `subscribe`: {"action": "subscribe", "topic": "leaderboard:<event>"}. Answers
{"type": "subscribed", "topic", "seq"}: pushes on that topic follow with seq + 1, seq + 2, ..."""

from typing import Any

from arena.services.realtime import subscriptions as realtime
from arena.websocket import connection_id, route


@route
def lambda_handler(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    return realtime.subscribe(connection_id(event), message.get("topic"))
