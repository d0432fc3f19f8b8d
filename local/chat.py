"""`python -m local.chat <event_id> --user <name>`: chat in an event from a terminal, through the local stack.

Gets a token for <name> from the stack (`POST /local/token`), prints the last messages (`GET .../chat`), then
watches `chat:<event>` on the WebSocket API and prints what arrives while every line typed is posted with the
WebSocket `chat` action (the same service as `POST .../chat`). Two terminals with two names chat with each other:

    .venv/bin/python -m local.chat <event id> --user ada
    .venv/bin/python -m local.chat <event id> --user bob --groups user

Lines starting with "/" are commands: `/react <message id> <emoji>`, `/reply <message id> <text>`, `/quit`.
Text arrives as plain text and is printed with control characters escaped (the API refuses them anyway; a client
never trusts that). --url names the stack (else $ARENA, $ARENA_BASE_URL or port 3000). Ctrl-C or Ctrl-D stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import urllib.error
import urllib.request
from typing import Any

from websockets.asyncio.client import connect

from local import stack_url

HISTORY = 20


def request(base: str, method: str, path: str, token: str | None = None, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            text = answer.read()
    except urllib.error.HTTPError as refused:
        text = refused.read()
    return json.loads(text) if text else None


def safe(text: Any) -> str:
    """Text for a terminal: escape sequences and other control characters shown, never obeyed."""
    return "".join(c if c.isprintable() or c == "\n" else f"\\u{ord(c):04x}" for c in str(text))


def line(message: dict[str, Any]) -> str:
    reply = f" (to {message['reply_to_author']})" if message.get("reply_to_author") else ""
    reactions = " ".join(f"{safe(e)}{n}" for e, n in (message.get("reactions") or {}).items())
    pinned = " [pinned]" if message.get("pinned") else ""
    time = str(message.get("created_at", ""))[11:19]
    return (
        f"{time} {safe(message['author_name'])}{reply}: {safe(message['text'])}{pinned}  {reactions}  #{message['id']}"
    )


def show(frame: dict[str, Any]) -> str | None:
    kind, data = frame.get("type"), frame.get("data") or {}
    if kind == "chat_message":
        return line(data)
    if kind == "chat_deleted":
        return f"         (message #{data.get('message_id')} was deleted)"
    if kind == "chat_reaction":
        return f"         {safe(data.get('by_name'))} reacted {safe(data.get('emoji'))} to #{data.get('message_id')}"
    if kind == "chat_pinned":
        return (
            f"         pinned: {line(data['message'])}" if data.get("pinned") else "         (a message was unpinned)"
        )
    if kind == "chat_presence":
        return f"         {data.get('watching')} watching"
    if kind == "error":
        error = frame.get("error") or {}
        return f"  ! {error.get('code')}: {safe(error.get('message'))}"
    return None


def command(text: str, event_id: str) -> dict[str, Any] | tuple[str, str, dict[str, Any]] | None:
    """A typed line as a WebSocket message (posts), an HTTP call (reactions), or None (nothing to send)."""
    if text.startswith("/react "):
        _, message_id, emoji = ([*text.split(maxsplit=2), "", ""])[:3]
        return ("POST", f"/api/events/{event_id}/chat/{message_id}/reactions", {"emoji": emoji})
    if text.startswith("/reply "):
        _, message_id, rest = ([*text.split(maxsplit=2), "", ""])[:3]
        return {"action": "chat", "event_id": event_id, "text": rest, "reply_to": message_id}
    if text.strip():
        return {"action": "chat", "event_id": event_id, "text": text}
    return None


async def run(base: str, event_id: str, user: str, groups: list[str]) -> int:
    token = request(base, "POST", "/local/token", body={"sub": user, "groups": groups})["token"]
    history = request(base, "GET", f"/api/events/{event_id}/chat?limit={HISTORY}", token)
    if "error" in (history or {}):
        print(f"cannot read the chat: {history['error']['code']}: {history['error']['message']}", file=sys.stderr)
        return 1
    for message in reversed(history["items"]):
        print(line(message))
    print(f"-- {user} in {event_id}'s chat; {history['watching']} watching. /react ID EMOJI, /reply ID TEXT, /quit")
    ws = request(base, "GET", "/local/health")["websocket"]["url"]
    async with connect(f"{ws}/?token={token}") as socket:
        await socket.send(json.dumps({"action": "subscribe", "topic": f"chat:{event_id}"}))
        loop = asyncio.get_running_loop()

        async def typing() -> None:
            while True:
                text = await loop.run_in_executor(None, sys.stdin.readline)
                if not text or text.strip() == "/quit":
                    await socket.close()
                    return
                action = command(text.rstrip("\n"), event_id)
                if isinstance(action, tuple):
                    answer = await loop.run_in_executor(None, request, base, *action[:2], token, action[2])
                    if "error" in (answer or {}):
                        print(f"  ! {answer['error']['code']}: {safe(answer['error']['message'])}", flush=True)
                elif action:
                    await socket.send(json.dumps(action))

        typist = asyncio.create_task(typing())
        try:
            async for raw in socket:
                shown = show(json.loads(raw))
                if shown:
                    print(shown, flush=True)
        finally:
            typist.cancel()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.chat", description=__doc__.split("\n")[0])
    parser.add_argument("event_id")
    parser.add_argument("--user", required=True, help="who you are (a token for this name is issued locally)")
    parser.add_argument("--groups", nargs="*", default=["user"], help="their groups (admin, event-manager, user)")
    parser.add_argument("--url", default=None, help="the local stack (default: $ARENA or port 3000)")
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run(args.url or stack_url(), args.event_id, args.user, args.groups))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
