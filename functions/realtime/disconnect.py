"""WebSocket $disconnect: forget the connection and its subscriptions. Best effort in AWS (410s and the
two-hour TTL clean up what it misses); idempotent."""

from typing import Any

from arena.services.realtime import subscriptions as realtime
from arena.websocket import connection_id, route


@route
def lambda_handler(event: dict[str, Any], message: dict[str, Any]) -> None:
    realtime.disconnect(connection_id(event))
