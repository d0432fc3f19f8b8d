"""`python -m local.watch <ws url with ?token=> <topic> [<topic> ...]`: subscribe and print every message.

A one-line client for the WebSocket API (the local stack's or a deployed stage's), e.g.
    .venv/bin/python -m local.watch "ws://127.0.0.1:3001/?token=$TRADER" leaderboard:<event id> user:trader-01
Sends a ping every 5 minutes, inside API Gateway's 10-minute idle timeout. Ctrl-C stops it.
"""

from __future__ import annotations

import asyncio
import json
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

PING_SECONDS = 300


async def watch(url: str, topics: list[str]) -> int:
    try:
        async with connect(url) as socket:
            for topic in topics:
                await socket.send(json.dumps({"action": "subscribe", "topic": topic}))

            async def keep_alive() -> None:
                while True:
                    await asyncio.sleep(PING_SECONDS)
                    await socket.send(json.dumps({"action": "ping"}))

            pinger = asyncio.create_task(keep_alive())
            try:
                async for frame in socket:
                    print(frame, flush=True)
            finally:
                pinger.cancel()
    except InvalidStatus as refused:
        print(f"refused: HTTP {refused.response.status_code} (is the token valid?)", file=sys.stderr)
        return 1
    except ConnectionClosed as closed:
        print(f"closed: {closed}", file=sys.stderr)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return asyncio.run(watch(argv[0], argv[1:]))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
