"""WebSocket `ping`: {"action": "ping"} -> {"type": "pong"}; keeps a quiet connection inside the idle timeout."""

from typing import Any

from arena.services.realtime import subscriptions as realtime
from arena.websocket import connection_id, route


@route
def lambda_handler(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    return realtime.ping(connection_id(event))
