"""End to end on what `sam build` ships: the local stack started from the build output's template, so every handler
and the layer are imported from the artifact alone, drives every HTTP route, the WebSocket routes, a stream, a
queue, the schedules and the distribution workflow once, then checks that every function of the template ran and
none raised. `make test` builds the artifact first (`make artifact`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from local import send_trades
from tests.e2e.conftest import ROOT, ArenaClient, Reply, eventually, iso, subprocess_stack

pytestmark = pytest.mark.e2e


def _artifact_template() -> Path:
    configured = os.environ.get("ARENA_TEMPLATE")
    if configured and ".aws-sam" in configured:
        return (ROOT / configured).resolve()
    built = sorted((ROOT / ".aws-sam").glob("*/template.yaml")) if (ROOT / ".aws-sam").is_dir() else []
    built = [path for path in built if path.parent.name in ("x86_64", "arm64")]
    if not built:
        pytest.fail("no sam build output under .aws-sam/: run `make artifact` (make test does it first)")
    return built[0]


@pytest.fixture(scope="module")
def artifact_arena() -> Iterator[ArenaClient]:
    # Seconds instead of minutes: the sweeps, the ingest grace, and a shard per connection so SendShard runs too.
    with subprocess_stack(
        _artifact_template(),
        ARENA_LOCAL_SAFETY_NET_SECONDS="1",
        INGEST_GRACE_SECONDS="2",
        REALTIME_SHARD_SIZE="1",
    ) as client:
        yield client


def _ok(reply: Reply, *statuses: int) -> Any:
    assert reply.status in (statuses or (200,)), (reply.status, reply.body)
    return reply.body


async def _subscribe(url: str, token: str, topics: list[str]) -> ClientConnection:
    socket = await connect(f"{url}/?token={token}")
    for topic in topics:
        await socket.send(json.dumps({"action": "subscribe", "topic": topic}))
        assert json.loads(await socket.recv())["type"] == "subscribed"
    return socket


async def _next_of_type(socket: ClientConnection, kind: str, seconds: float = 30) -> dict[str, Any]:
    async with asyncio.timeout(seconds):
        while True:
            message = json.loads(await socket.recv())
            if message.get("type") == kind:
                return message


def test_the_artifact_serves_every_route_and_runs_every_function(artifact_arena: ArenaClient) -> None:
    """Given a stack whose template and layer are the build output's
    When an event with a token and a custom prize is created, edited, joined, traded, watched, completed, paid and
    claimed, and the other areas are exercised
    Then every answer is right, and every function of the template ran from the artifact without raising."""
    arena = artifact_arena
    health = _ok(arena.call("GET", "/local/health"))
    assert ".aws-sam" in Path(health["template"]).parts, health["template"]
    assert health["layers"] and all(".aws-sam" in Path(layer).parts for layer in health["layers"]), health["layers"]
    run = f"smoke{int(time.time())}"
    admin, feed = arena.token(f"{run}-admin", ["admin"]), arena.token(f"{run}-feed", ["service"])
    ann, bob = f"{run}-ann", f"{run}-bob"
    tokens = {user: arena.token(user, ["user"]) for user in (ann, bob)}
    now = datetime.now(UTC)
    # A window wide enough for the setup below on a loaded machine (the first call to each function loads it)
    end_at = now + timedelta(seconds=24)

    # When an event with a token and a custom prize, claimed by hand, is created, listed, read, edited and joined
    created = _ok(
        arena.call(
            "POST",
            "/api/events",
            admin,
            {
                "name": "Artifact sprint",
                "start_at": iso(now + timedelta(seconds=3)),
                "end_at": iso(end_at),
                "markets": ["BTC-USDT"],
                "qualification": {"min_volume": "0", "min_trades": 0},
                "prizes": [
                    {"rank_from": 1, "rank_to": 1, "type": "token", "token": "USDT", "amount": "50"},
                    {"rank_from": 2, "rank_to": 2, "type": "custom", "description": "Signed hardware wallet"},
                ],
                "claim": {"mode": "manual", "window_days": 7},
            },
        ),
        201,
    )
    event_id = created["id"]
    assert any(event["id"] == event_id for event in _ok(arena.call("GET", "/api/events?limit=100", admin))["items"])
    # (the start transition may move the version between the read and the edit on a loaded machine: read again)
    for _ in range(3):
        version = _ok(arena.call("GET", f"/api/events/{event_id}", admin))["version"]
        edit = arena.call("PATCH", f"/api/events/{event_id}", admin, {"version": version, "name": "Artifact sprint!"})
        if edit.status != 409:
            break
    _ok(edit)
    for user in (ann, bob):
        _ok(arena.call("POST", f"/api/events/{event_id}/join", tokens[user]), 201)

    # And both traders listen on the WebSocket API (connect, subscribe, ping, an unknown action, an announcement)
    async def listen_then_trade() -> dict[str, Any]:
        url = health["websocket"]["url"]
        sockets = [await _subscribe(url, tokens[user], [f"leaderboard:{event_id}"]) for user in (ann, bob)]
        watcher = await _subscribe(url, admin, [f"event:{event_id}", "admin"])
        try:
            await watcher.send(json.dumps({"action": "ping"}))
            assert json.loads(await watcher.recv())["type"] == "pong"
            await watcher.send(json.dumps({"action": "dance"}))
            assert json.loads(await watcher.recv())["type"] == "error"
            await watcher.send(json.dumps({"action": "announce", "event_id": event_id, "text": "Artifact live"}))
            assert (await _next_of_type(watcher, "announcement"))["data"]["text"] == "Artifact live"
            # the start schedule moves the event to ACTIVE (or, on a slow machine, the end one already on from there)
            await asyncio.to_thread(
                eventually,
                "the start schedule",
                lambda: arena.call("GET", f"/api/events/{event_id}", admin).body["status"] != "UPCOMING",
            )
            executed = iso(min(datetime.now(UTC), end_at - timedelta(seconds=1)))
            trade = {"market": "BTC-USDT", "side": "buy", "price": "100", "executed_at": executed}
            # a trade over HTTP, another through the SQS TradeQueue
            posted = arena.call(
                "POST",
                "/api/trades",
                feed,
                {"trades": [{**trade, "trade_id": f"{run}-1", "user_id": bob, "quantity": "3"}]},
            )
            assert _ok(posted)["accepted"] == 1, posted.body
            queued = {"trades": [{**trade, "trade_id": f"{run}-2", "user_id": ann, "quantity": "1"}]}
            send_trades.send(health["aws"]["queues"]["TradeQueue"], queued)
            pushed = await _next_of_type(sockets[0], "leaderboard")
            await sockets[1].send(json.dumps({"action": "unsubscribe", "topic": f"leaderboard:{event_id}"}))
            assert (await _next_of_type(sockets[1], "unsubscribed"))["topic"] == f"leaderboard:{event_id}"
            return pushed
        finally:
            for socket in (*sockets, watcher):
                await socket.close()

    pushed = asyncio.run(listen_then_trade())
    assert pushed["topic"] == f"leaderboard:{event_id}"

    # Then the stream-fed leaderboard ranks both (the queued trade included), and the trader reads of it answer
    board = eventually(
        "both trades on the board",
        lambda: (b := arena.call("GET", f"/api/events/{event_id}/leaderboard", admin).body)["total"] == 2 and b,
    )
    assert [entry["user_id"] for entry in board["entries"]] == [bob, ann]
    assert _ok(arena.call("GET", f"/api/events/{event_id}/leaderboard/me?around=1", tokens[ann]))["rank"] == 2
    _ok(arena.call("GET", f"/api/events/{event_id}/participants/me", tokens[ann]))
    equity = {"update_id": f"{run}-eq", "user_id": ann, "kind": "deposit", "amount": "10", "at": iso(datetime.now(UTC))}
    assert _ok(arena.call("POST", "/api/equity", feed, {"updates": [equity]}))["received"] == 1
    moderation = f"/api/events/{event_id}/participants/{ann}"
    _ok(arena.call("POST", f"{moderation}/disqualify", admin, {"reason": "artifact smoke"}))
    _ok(arena.call("POST", f"{moderation}/reinstate", admin, {"reason": "artifact smoke"}))
    trail = _ok(arena.call("GET", f"/api/events/{event_id}/participants/audit", admin))["items"]
    assert [entry["action"] for entry in trail] == ["reinstate", "disqualify"]

    # When the end schedule and the sweeps complete the event, the distribution workflow pays it
    def distribution() -> dict[str, Any]:
        return arena.call("GET", f"/api/events/{event_id}/prizes/distribution", admin).body

    eventually("the distribution workflow", lambda: distribution().get("run", {}).get("status") == "COMPLETED", 60)
    assert distribution()["prizes_by_status"] == {"CLAIMABLE": 2}
    _ok(arena.call("GET", f"/api/events/{event_id}/prizes/validate", admin))
    _ok(arena.call("POST", f"/api/events/{event_id}/prizes/distribute", admin))  # found, not started again
    _ok(arena.call("GET", f"/api/events/{event_id}/prizes/users/{bob}", admin))

    # Then the winners claim: a token payout the wallet confirms, a custom prize an admin fulfils
    token_prize = _ok(arena.call("GET", "/api/events/prizes/me", tokens[bob]))["prizes"][0]
    claimed = _ok(arena.call("POST", f"/api/events/prizes/{token_prize['prize_id']}/claim", tokens[bob], {}))
    assert claimed["status"] == "PAYOUT_REQUESTED", claimed
    _ok(arena.call("POST", f"/api/events/prizes/payouts/{claimed['claim_id']}", feed, {"outcome": "PAID"}))
    custom_prize = _ok(arena.call("GET", "/api/events/prizes/me", tokens[ann]))["prizes"][0]
    assert (
        _ok(arena.call("POST", f"/api/events/prizes/{custom_prize['prize_id']}/claim", tokens[ann], {}))["status"]
        == "CUSTOM_PENDING"
    )
    _ok(arena.call("POST", f"/api/events/prizes/{custom_prize['prize_id']}/fulfil", admin, {"reason": "shipped"}))
    assert _ok(arena.call("GET", "/api/events/prizes/history", tokens[bob]))["entries"]
    _ok(arena.call("GET", "/api/events/prizes/reviews", admin))
    refused = arena.call(
        "POST", f"/api/events/prizes/{token_prize['prize_id']}/review", admin, {"decision": "approve", "reason": "-"}
    )
    assert refused.status == 409 and refused.body["error"]["code"], refused.body  # nothing held for review
    _ok(arena.call("POST", f"/api/users/{ann}/flag", feed, {"flagged": True, "reason": "artifact smoke"}))
    _ok(arena.call("GET", "/api/users/me/points", tokens[bob]))
    # role management: the admin's event gets bob as a manager once he holds the role (the user pool in moto)
    _ok(arena.call("POST", f"/api/admin/users/{bob}/roles", admin, {"role": "event-manager", "reason": "smoke"}))
    _ok(arena.call("POST", f"/api/admin/events/{event_id}/managers", admin, {"user_id": bob, "reason": "smoke"}))
    rollback = _ok(arena.call("POST", f"/api/events/{event_id}/prizes/rollback", admin, {"reason": "smoke"}), 200, 409)
    assert rollback, rollback

    # And a second event is started, extended and ended by hand, a third cancelled
    later = now + timedelta(days=30)
    other = {"start_at": iso(later), "end_at": iso(later + timedelta(days=1))}
    manual = _ok(arena.call("POST", "/api/events", admin, {"name": "Manual", **other}), 201)["id"]
    _ok(arena.call("POST", f"/api/events/{manual}/start", admin, {"reason": "smoke"}))
    extended = {"end_at": iso(later + timedelta(days=2)), "reason": "smoke"}
    _ok(arena.call("POST", f"/api/events/{manual}/extend", admin, extended))
    _ok(arena.call("POST", f"/api/events/{manual}/end", admin, {"reason": "smoke"}))
    cancelled = _ok(arena.call("POST", "/api/events", admin, {"name": "Cancelled", **other}), 201)["id"]
    _ok(arena.call("POST", f"/api/events/{cancelled}/cancel", admin, {"reason": "smoke"}))
    # And the analytics routes answer: prices set, the completed event's performance, the views across events
    prices = {"prices": [{"type": "points", "price": "0.01"}], "version": 0, "reason": "smoke"}
    _ok(arena.call("PUT", "/api/events/analytics/prices", admin, prices))
    assert _ok(arena.call("GET", "/api/events/analytics/prices", admin))["version"] == 1
    assert _ok(arena.call("GET", f"/api/events/{event_id}/performance", admin))["metrics"]["event_id"] == event_id
    _ok(arena.call("GET", "/api/events/analytics/dashboard", admin))
    _ok(arena.call("GET", "/api/events/analytics/participation-trends", admin))
    _ok(arena.call("GET", "/api/events/analytics/volume-analysis", admin))
    _ok(arena.call("GET", f"/api/events/analytics/compare?ids={event_id},{manual}", admin))
    # And an export runs in the background (the worker invoked asynchronously) and its file downloads
    export = {"event_ids": [event_id], "datasets": ["participants"], "format": "jsonl"}
    job = _ok(arena.call("POST", "/api/events/analytics/export", admin, export), 202)["export_id"]

    def finished() -> Any:
        status = _ok(arena.call("GET", f"/api/events/analytics/exports/{job}", admin))
        return status if status["status"] in ("SUCCEEDED", "FAILED") else None

    done = eventually("the export to finish", finished, 60)
    assert done["status"] == "SUCCEEDED" and done["files"], done
    # And a trader's notifications answer: the inbox, its unread count, preferences read and changed
    _ok(arena.call("GET", "/api/me/notifications", tokens[ann]))
    _ok(arena.call("GET", "/api/me/notifications/unread-count", tokens[ann]))
    preferences = _ok(arena.call("GET", "/api/me/notification-preferences", tokens[ann]))
    change = {"version": preferences["version"], "channels": {"rank_change": {"email": True}}}
    assert _ok(arena.call("PUT", "/api/me/notification-preferences", tokens[ann], change))["channels"]["rank_change"][
        "email"
    ]
    # And the event chat answers (ChatFunction): a post, then the history holding it
    line = _ok(arena.call("POST", f"/api/events/{event_id}/chat", admin, {"text": "smoke"}), 201)
    assert _ok(arena.call("GET", f"/api/events/{event_id}/chat", admin))["items"][0]["id"] == line["id"]
    _ok(arena.call("DELETE", f"/api/events/{event_id}/chat/{line['id']}?reason=smoke", admin))
    assert (
        _ok(arena.call("GET", f"/api/events/{event_id}/chat/audit", admin))["items"][0]["action"] == "chat_delete_own"
    )
    # And community and sharing answer (CommunityFunction): a profile, a share link, its page and PNG without a token
    handle = _ok(arena.call("GET", "/api/me/profile", tokens[ann]))["identity"]["handle"]
    share = _ok(arena.call("GET", f"/api/events/{event_id}/share/podium", tokens[ann]))
    assert share["url"].endswith(f"/api/share/events/{event_id}"), share
    page = arena.call("GET", f"/api/share/events/{event_id}")
    assert page.status == 200 and share["image_url"] in page.body, page
    assert handle and arena.call("GET", f"/api/share/events/{event_id}/podium.png").status == 200
    # And the API docs page's document is served from the build, without a token
    assert _ok(arena.call("GET", "/api/openapi.json"))["openapi"] == "3.1.0"

    # And each external notification channel's dispatcher takes its queue's sample message (one no planner recorded:
    # dropped, as a stray message must be, without a provider call)
    for channel in ("email", "discord", "telegram", "push"):
        record = json.loads((ROOT / "events" / "notifications" / f"dispatch_{channel}.json").read_text())["Records"][0]
        send_trades.send(health["aws"]["queues"][f"{channel.capitalize()}Queue"], json.loads(record["body"]))

    # Then every function of the template ran from the artifact, and none raised
    def functions() -> dict[str, dict[str, int]]:
        return _ok(arena.call("GET", "/local/functions"))

    never_ran = lambda: [name for name, figures in functions().items() if not figures["invocations"]]  # noqa: E731
    eventually(f"every function to run (still waiting for {never_ran()})", lambda: not never_ran(), 30)
    raised = {name: figures for name, figures in functions().items() if figures["errors"]}
    assert not raised, raised
