"""How many watch an event's chat: the connections subscribed to `chat:<event>`. A change is pushed as
`chat_presence` at most once per CHAT_PRESENCE_INTERVAL_SECONDS per event (coalesced: one pusher wins a
conditional write). Within the window a (un)subscribe costs one GetItem, not a count of the subscribers, so a
crowd joining at once is not N counts of N; what the window held back goes out with the next change or post after
it (a post's publish counts its watchers anyway), and every history answer carries the count as it is."""

from __future__ import annotations

import time

from arena.config import settings
from arena.domain import chat as rules
from arena.domain.realtime import chat_topic
from arena.services.chat import pushes
from arena.store import chat as store
from arena.store import connections as connection_store


def watching(event_id: str) -> int:
    return len(connection_store.subscribers(chat_topic(event_id)))


# While a push is under way its claim holds the window closed (its `at` lies ahead), for at most this long if the
# pusher dies: presence pushes of one event never overlap, however long posting to every watcher takes.
PUSH_LEASE_SECONDS = 60.0


def _push_if_due(event_id: str, seen: store.Presence, count: int, now: float) -> bool:
    if not rules.presence_due(seen.count, seen.at, count, now, settings().chat_presence_interval_seconds):
        return False
    if not store.claim_presence_push(event_id, seen, count, now + PUSH_LEASE_SECONDS):
        return False  # another invocation is pushing a count of this moment
    try:
        pushes.push(event_id, "chat_presence", {"event_id": event_id, "watching": count})
    finally:
        store.presence_pushed(event_id, time.time())  # the window starts when the push is done
    return True


def observed(event_id: str, count: int) -> bool:
    """The watcher count is `count` now (a publish just counted them): push it if it changed and the window
    allows. True when pushed."""
    return _push_if_due(event_id, store.presence(event_id), count, time.time())


def changed(event_id: str) -> bool:
    """A connection subscribed to or left the chat topic: count and push when the window allows."""
    seen = store.presence(event_id)
    now = time.time()  # wall time: coalescing is about real push rates, like the leaderboard's pacing
    if seen.at is not None and now - seen.at < settings().chat_presence_interval_seconds:  # also: a push under way
        return False
    return _push_if_due(event_id, seen, watching(event_id), now)
