"""End to end on the local stack with real `websockets` clients: two traders chat over the WebSocket `chat` action
and HTTP; moderation takes effect at once on both paths - a deleted message leaves the history and a
`chat_deleted` push reaches the watchers, a muted and a banned user's next post is refused on HTTP and on the
WebSocket with the reason, a filtered word is refused on both - and watchers are counted (`watching`)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.e2e.conftest import ArenaClient, iso

pytestmark = pytest.mark.e2e


class Client:
    """One user's WebSocket connection: every frame it received, in order."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.frames: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        async for frame in self.socket:
            self.frames.append(json.loads(frame))

    async def send(self, message: dict[str, Any], answer: str) -> dict[str, Any]:
        """Send and wait for the reply (`answer` type, or an error frame)."""
        before = len(self.frames)
        await self.socket.send(json.dumps(message))
        return await self.wait(lambda f: f.get("type") in (answer, "error") and "data" not in f, since=before)

    async def wait(self, match: Any, since: int = 0, seconds: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for frame in self.frames[since:]:
                if match(frame):
                    return frame
            await asyncio.sleep(0.05)
        raise AssertionError(f"no matching frame in {self.frames[since:]}")

    def pushed(self, kind: str) -> list[dict[str, Any]]:
        return [f["data"] for f in self.frames if f.get("type") == kind]


def test_two_traders_chat_and_moderation_takes_effect_at_once_on_both_paths(arena: ArenaClient) -> None:
    """Given an event with two participants connected on the WebSocket and watching its chat
    When they chat (WebSocket and HTTP) and an admin deletes, mutes, bans and filters
    Then each sees the other's messages pushed, the history is newest first with `watching` 2, a deleted message
    is gone from the history at once and pushed as chat_deleted, and the muted, banned and filtered posts are
    refused on HTTP and on the WebSocket with their codes and reasons."""
    admin = arena.token("chat-admin", ["admin"])
    ada, bob = arena.token("chat-ada", ["user"]), arena.token("chat-bob", ["user"])
    now = datetime.now(UTC)
    event = arena.call(
        "POST",
        "/api/events",
        admin,
        {
            "name": "Chat e2e",
            "start_at": iso(now - timedelta(minutes=1)),
            "end_at": iso(now + timedelta(hours=1)),
            "ranking_metric": "volume",
            "markets": ["BTC-USDT"],
        },
    ).body
    event_id = event["id"]
    for token in (ada, bob):
        assert arena.call("POST", f"/api/events/{event_id}/join", token).status in (200, 201)
    ws_url = arena.call("GET", "/local/health").body["websocket"]["url"]
    chat_path = f"/api/events/{event_id}/chat"

    async def scenario() -> None:
        async with connect(f"{ws_url}/?token={ada}") as ada_socket, connect(f"{ws_url}/?token={bob}") as bob_socket:
            a, b = Client(ada_socket), Client(bob_socket)
            for client in (a, b):
                subscribed = await client.send({"action": "subscribe", "topic": f"chat:{event_id}"}, "subscribed")
                assert subscribed["type"] == "subscribed", subscribed

            # They chat: ada on the WebSocket, bob over HTTP; each sees the other's line pushed
            posted = await a.send({"action": "chat", "event_id": event_id, "text": "gm bob"}, "chat_posted")
            assert posted["type"] == "chat_posted", posted
            first = posted["message"]
            await b.wait(lambda f: f.get("type") == "chat_message" and f["data"]["id"] == first["id"])
            reply = arena.call("POST", chat_path, bob, {"text": "gm ada", "reply_to": first["id"]})
            # named by public handle to a trader (never by user id)
            assert reply.status == 201 and reply.body["reply_to_author"] == first["author"], reply.body
            assert reply.body["reply_to_user"] is None and first["author"] and "chat-ada" not in str(reply.body)
            await a.wait(lambda f: f.get("type") == "chat_message" and f["data"]["id"] == reply.body["id"])
            history = arena.call("GET", chat_path, ada).body
            assert [m["id"] for m in history["items"]] == [reply.body["id"], first["id"]]
            assert history["watching"] == 2

            # Delete: gone from the history at once, pushed to both
            deleted = arena.call("DELETE", f"{chat_path}/{first['id']}?reason=test", admin)
            assert deleted.status == 200 and deleted.body["deleted"] is True
            assert [m["id"] for m in arena.call("GET", chat_path, bob).body["items"]] == [reply.body["id"]]
            for client in (a, b):
                await client.wait(lambda f: f.get("type") == "chat_deleted" and f["data"]["message_id"] == first["id"])

            # Mute: the next post is refused on both paths, saying why and until when
            mute = {"user_id": "chat-ada", "minutes": 10, "reason": "Cool down please"}
            assert arena.call("POST", f"{chat_path}/mutes", admin, mute).status == 200
            http = arena.call("POST", chat_path, ada, {"text": "still here"})
            assert http.status == 403 and http.body["error"]["code"] == "chat_muted"
            assert http.body["error"]["details"]["reason"] == "Cool down please"
            ws = await a.send({"action": "chat", "event_id": event_id, "text": "still here"}, "chat_posted")
            assert ws["error"]["code"] == "chat_muted" and ws["error"]["details"]["until"]
            assert arena.call("DELETE", f"{chat_path}/mutes/chat-ada", admin).body["lifted"] is True
            ok = await a.send({"action": "chat", "event_id": event_id, "text": "back"}, "chat_posted")
            assert ok["type"] == "chat_posted", ok

            # Ban: refused on both paths, and reading too
            ban = {"user_id": "chat-bob", "reason": "Phishing links"}
            assert arena.call("POST", f"{chat_path}/bans", admin, ban).status == 200
            assert arena.call("POST", chat_path, bob, {"text": "hi"}).body["error"]["code"] == "chat_banned"
            ws = await b.send({"action": "chat", "event_id": event_id, "text": "hi"}, "chat_posted")
            assert ws["error"]["code"] == "chat_banned" and ws["error"]["details"]["reason"] == "Phishing links"
            assert arena.call("GET", chat_path, bob).status == 403

            # Filter: refused on both paths at once
            assert arena.call("PUT", f"{chat_path}/filter", admin, {"words": ["rugpull"]}).status == 200
            filtered = arena.call("POST", chat_path, ada, {"text": "total RUGPULL"})
            assert filtered.status == 422 and filtered.body["error"]["code"] == "chat_filtered"
            ws = await a.send({"action": "chat", "event_id": event_id, "text": "a rugpull"}, "chat_posted")
            assert ws["error"]["code"] == "chat_filtered"

            a.task.cancel()
            b.task.cancel()

    asyncio.run(scenario())
