"""WebSocket $default: any message whose action is not a route gets a clear error naming the actions."""

from typing import Any

from arena.errors import BadRequest
from arena.websocket import route

ACTIONS = ["subscribe", "unsubscribe", "ping", "announce"]


@route
def lambda_handler(event: dict[str, Any], message: dict[str, Any]) -> None:
    action = message.get("action")
    if action is None:
        raise BadRequest("Messages need an action.", code="missing_action", details={"actions": ACTIONS})
    raise BadRequest("Unknown action.", code="unknown_action", details={"actions": ACTIONS})
