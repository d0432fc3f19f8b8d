"""WebSocket $connect: the token comes as ?token=<JWT> (browsers cannot set headers on a WebSocket) and is
checked here as the HTTP API's JWT authorizer would; without a valid one the connection is refused (401)."""

from typing import Any

from arena.services.realtime import subscriptions as realtime
from arena.websocket import connection_id, route


@route
def lambda_handler(event: dict[str, Any], message: dict[str, Any]) -> None:
    realtime.connect(connection_id(event), event.get("queryStringParameters"))
