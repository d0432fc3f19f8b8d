"""Every route of the WebSocket API in one function: API Gateway sends each route here and `ROUTES` picks its handler
by the frame's `requestContext.routeKey`. Each handler is thin (one service call) and answers through
`arena.websocket.route` (the reply frame, the typed-error frame, a refused $connect).

* `$connect`: the token comes as ?token=<JWT> (browsers cannot set headers on a WebSocket) and is checked here as
  the HTTP API's JWT authorizer would; without a valid one the connection is refused (401).
* `$disconnect`: forget the connection and its subscriptions. Best effort in AWS (410s and the two-hour TTL clean
  up what it misses); idempotent.
* `subscribe`: {"action": "subscribe", "topic": "leaderboard:<event>"}. Answers {"type": "subscribed", "topic",
  "seq"}: pushes on that topic follow with seq + 1, seq + 2, ...
* `unsubscribe`: {"action": "unsubscribe", "topic": "..."}; idempotent.
* `ping`: {"action": "ping"} -> {"type": "pong"}; keeps a quiet connection inside the idle timeout.
* `announce`: {"action": "announce", "event_id": "...", "text": "..."} from an admin or the event's manager;
  everyone subscribed to `event:<id>` gets an `announcement`. Answers {"type": "announced", "delivered"}.
* `chat`: {"action": "chat", "event_id": "...", "text": "...", "reply_to": "<message id>"?} posts to the event's
  chat through the same service as POST /api/events/{eventId}/chat (the same checks: flag, mute, ban, filter,
  rate); everyone subscribed to `chat:<id>` gets a `chat_message`. Answers {"type": "chat_posted", "message"}.
* `$default`: any message whose action is not a route gets a clear error naming the actions.
"""

from collections.abc import Callable
from typing import Any

from arena.errors import BadRequest
from arena.services.chat import posting as chat
from arena.services.realtime import subscriptions as realtime
from arena.websocket import connection_id, route, route_key

ACTIONS = ["subscribe", "unsubscribe", "ping", "announce", "chat"]

Message = dict[str, Any]


def connect(event: dict[str, Any], message: Message) -> None:
    realtime.connect(connection_id(event), event.get("queryStringParameters"))


def disconnect(event: dict[str, Any], message: Message) -> None:
    realtime.disconnect(connection_id(event))


def subscribe(event: dict[str, Any], message: Message) -> dict[str, Any]:
    return realtime.subscribe(connection_id(event), message.get("topic"))


def unsubscribe(event: dict[str, Any], message: Message) -> dict[str, Any]:
    return realtime.unsubscribe(connection_id(event), message.get("topic"))


def ping(event: dict[str, Any], message: Message) -> dict[str, Any]:
    return realtime.ping(connection_id(event))


def announce(event: dict[str, Any], message: Message) -> dict[str, Any]:
    return realtime.announce(connection_id(event), message)


def chat_message(event: dict[str, Any], message: Message) -> dict[str, Any]:
    return chat.post_from_connection(connection_id(event), message)


def unknown_action(event: dict[str, Any], message: Message) -> None:
    action = message.get("action")
    if action is None:
        raise BadRequest("Messages need an action.", code="missing_action", details={"actions": ACTIONS})
    raise BadRequest("Unknown action.", code="unknown_action", details={"actions": ACTIONS})


# The template's route keys (WsConnectRoute ... WsDefaultRoute, WsChatRoute), all integrated with this function.
ROUTES: dict[str, Callable[[dict[str, Any], Message], dict[str, Any] | None]] = {
    "$connect": connect,
    "$disconnect": disconnect,
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "ping": ping,
    "announce": announce,
    "chat": chat_message,
    "$default": unknown_action,
}


@route
def lambda_handler(event: dict[str, Any], message: Message) -> dict[str, Any] | None:
    # Only the template's routes reach this function; a key it does not know answers as $default does.
    return ROUTES.get(route_key(event), unknown_action)(event, message)
