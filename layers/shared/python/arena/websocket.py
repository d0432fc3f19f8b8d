"""The WebSocket API's counterpart of `arena.http`: one wrapper for every route handler.

It reads the connection id and the JSON body, calls the route's function, and answers in API Gateway's
WebSocket integration format: {"statusCode", "body"}. With the route's response configured (template.yaml), the
body goes back to the client as a frame: `{"type": ...}` on success, `{"type": "error", "error": {code, message,
details}}` on a typed error (status from the same mapping as HTTP), a bare internal_error for a bug. On $connect a
non-2xx status refuses the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from arena.errors import ArenaError, BadRequest
from arena.http import status_for, to_json
from arena.observability import WEBSOCKET, entry_point, logger
from arena.request_guard import read_json

MAX_BODY_CHARS = 32 * 1024


def connection_id(event: dict[str, Any]) -> str:
    return str((event.get("requestContext") or {}).get("connectionId") or "")


def route_key(event: dict[str, Any]) -> str:
    """The route API Gateway selected for this frame: `$connect`, `$disconnect`, `$default` or an action."""
    return str((event.get("requestContext") or {}).get("routeKey") or "")


def body_of(event: dict[str, Any]) -> dict[str, Any]:
    """The message as a JSON object; BadRequest for anything else (never a crash)."""
    raw = event.get("body")
    if not raw:
        return {}
    if len(raw) > MAX_BODY_CHARS:
        raise BadRequest("Messages are at most 32 KB.", code="message_too_large")
    try:
        message = read_json(raw)  # bounded: depth, integer digits, Unicode (arena/request_guard.py)
    except BadRequest as refused:
        raise BadRequest("The message is not JSON.", code="invalid_json", details=refused.details) from None
    if not isinstance(message, dict):
        raise BadRequest("The message must be a JSON object.", code="invalid_json")
    return message


def error_body(code: str, message: str, details: Any = None, action: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "error": {"code": code, "message": message, "details": details}}
    if isinstance(action, str):
        body["action"] = action[:64]
    return body


def route(function: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any] | None]) -> Callable[..., Any]:
    """Wrap `function(event, message) -> reply | None` as the Lambda entry point of the WebSocket routes: metrics
    flushed, the frame's API Gateway request id as every log line's correlation_id, traced
    (`arena.observability.entry_point`)."""

    @entry_point(correlation=WEBSOCKET)
    @wraps(function)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        action = None
        try:
            message = {} if (event.get("requestContext") or {}).get("eventType") != "MESSAGE" else body_of(event)
            action = message.get("action")
            reply = function(event, message)
        except ArenaError as error:
            status = status_for(error)
            if status >= 500:
                logger.exception("websocket route failed")
            return {"statusCode": status, "body": to_json(error_body(error.code, error.message, error.details, action))}
        except Exception:
            logger.exception("unhandled error in a websocket route")
            body = error_body("internal_error", "Something went wrong on our side; it has been logged.", None, action)
            return {"statusCode": 500, "body": to_json(body)}
        return {"statusCode": 200, "body": to_json(reply) if reply is not None else ""}

    return handler
