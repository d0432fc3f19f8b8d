"""The WebSocket API on moto: $connect auth, subscriptions and who may hold them, the fan-out's posts (leaderboard
diffs, rank changes, milestones, trade activity, domain events), 410 cleanup and idempotent redelivery.

The handlers are the real modules of functions/realtime/ (every WebSocket route in websocket_api.py), called with
the sample payloads of events/realtime/ (one per route key: its requestContext.routeKey picks the route).
@connections is a recording double (moto keeps posts but never answers 410); tokens come from the local issuer.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local.jwt_issuer import JwtIssuer
from local.template import REPO_ROOT, LocalContext, load_template, resources_of_type
from local.websocket_routes import websocket_apis
from tests.conftest import StreamPump, sample_event
from tests.integration.conftest import Arena, trade, trader_of

QUALIFY_ON_FIRST_TRADE = {"min_volume": "0", "min_trades": 1}


class ManagementApi:
    """@connections as the fan-out sees it: records posts; answers 410 for connections marked gone."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.gone: set[str] = set()
        self.broken: set[str] = set()

    def post_to_connection(self, ConnectionId: str, Data: bytes) -> dict[str, Any]:
        if ConnectionId in self.gone:
            raise ClientError(
                {"Error": {"Code": "GoneException", "Message": "gone"}, "ResponseMetadata": {"HTTPStatusCode": 410}},
                "PostToConnection",
            )
        if ConnectionId in self.broken:
            raise ClientError(
                {
                    "Error": {"Code": "InternalServerError", "Message": "boom"},
                    "ResponseMetadata": {"HTTPStatusCode": 500},
                },
                "PostToConnection",
            )
        self.posts.append((ConnectionId, json.loads(Data)))
        return {}

    def to(self, connection_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [m for c, m in self.posts if c == connection_id and (kind is None or m["type"] == kind)]


class JwksDouble:
    """PyJWKClient's one method the token check uses, answered from the local issuer's JWKS."""

    def __init__(self, issuer: JwtIssuer) -> None:
        import jwt

        self._keys = jwt.PyJWKSet.from_dict(issuer.jwks())

    def get_signing_key_from_jwt(self, token: str) -> Any:
        import jwt

        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._keys.keys:
            if key.key_id == kid:
                return key
        raise jwt.PyJWKClientError("Unable to find a signing key that matches the token")


class Realtime:
    def __init__(self, arena: Arena, load: Callable[..., ModuleType], api: ManagementApi, issuer: JwtIssuer) -> None:
        self.arena, self.load, self.api, self.issuer = arena, load, api, issuer
        self.delivered: list[tuple[Any, dict[str, Any]]] = []  # (handler, batch) as the pumps delivered them
        self.hold = False
        self.boards = StreamPump(_table("LeaderboardTable"), self._recorded("push_leaderboard"), arena.context)
        self.activity = StreamPump(_table("ParticipantsTable"), self._recorded("push_activity"), arena.context)

    def _recorded(self, module: str) -> Any:
        handler = self.load("realtime", module).lambda_handler

        def deliver(event: dict[str, Any], context: Any) -> Any:
            self.delivered.append((handler, copy.deepcopy(event)))
            if self.hold:  # taken off the stream but not delivered (a test delivers it later, its own way)
                return {"batchItemFailures": []}
            return handler(event, context)

        return deliver

    def token(self, sub: str, groups: tuple[str, ...] = ("user",)) -> str:
        return self.issuer.issue(sub, groups=groups)

    def connect(self, connection_id: str, token: str | None) -> dict[str, Any]:
        event = sample_event("realtime/connect.json")
        event["requestContext"]["connectionId"] = connection_id
        event["queryStringParameters"] = None if token is None else {"token": token}
        return self.load("realtime", "websocket_api").lambda_handler(event, self.arena.context)

    def send(self, connection_id: str, route: str, message: Any) -> dict[str, Any]:
        event = sample_event(f"realtime/{route}.json")
        event["requestContext"]["connectionId"] = connection_id
        event["body"] = message if isinstance(message, str) else json.dumps(message)
        reply = self.load("realtime", "websocket_api").lambda_handler(event, self.arena.context)
        reply["json"] = json.loads(reply["body"]) if reply["body"] else None
        return reply

    def subscribe(self, connection_id: str, topic: str) -> dict[str, Any]:
        return self.send(connection_id, "subscribe", {"action": "subscribe", "topic": topic})

    def user(self, connection_id: str, sub: str, *topics: str, groups: tuple[str, ...] = ("user",)) -> None:
        assert self.connect(connection_id, self.token(sub, groups))["statusCode"] == 200
        for topic in topics:
            assert self.subscribe(connection_id, topic)["statusCode"] == 200

    def settle(self) -> None:
        """What a second does in AWS: participants -> snapshot, then both fan-out streams."""
        self.arena.stream.drain()
        self.activity.drain()
        self.boards.drain()


def _table(logical_id: str) -> str:
    import os

    names = {"LeaderboardTable": "LEADERBOARD_TABLE", "ParticipantsTable": "PARTICIPANTS_TABLE"}
    return os.environ[names[logical_id]]


@pytest.fixture
def realtime(
    arena: Arena, tables: dict[str, str], load_handler: Callable[..., ModuleType], monkeypatch: pytest.MonkeyPatch
) -> Realtime:
    """Given the WebSocket handlers, the Connections table, both fan-out streams, @connections recorded and
    tokens from a local issuer; pushes are not paced (interval 0) unless a test says so."""
    from arena.adapters import connections as poster
    from arena.adapters import tokens
    from arena.config import settings

    issuer = JwtIssuer(issuer="https://issuer.test/local")
    monkeypatch.setenv("CONNECTIONS_TABLE", tables["ConnectionsTable"])
    monkeypatch.setenv("JWT_ISSUER", issuer.issuer)
    monkeypatch.setenv("JWT_AUDIENCES", ",".join(issuer.audiences))
    monkeypatch.setenv("REALTIME_PUSH_INTERVAL_SECONDS", "0")
    settings.cache_clear()
    poster._sqs.cache_clear()  # a client from another test's moto would not be this one's
    api = ManagementApi()
    monkeypatch.setattr(poster, "client", lambda: api)
    monkeypatch.setattr(tokens, "_jwks_client", lambda url: JwksDouble(issuer))
    return Realtime(arena, load_handler, api, issuer)


def _event(arena: Arena, users: list[str], **overrides: Any) -> str:
    event_id = arena.new_event(**overrides)["id"]
    for user in users:
        arena.joined(event_id, user)
    return event_id


# ------------------------------------------------------------------------------------------------ routing


def test_one_function_serves_every_websocket_route_of_the_template(
    load_handler: Callable[..., ModuleType],
) -> None:
    """Given the template's WebSocket routes, resolved to what their integrations run
    When the routes, their targets and the function's route table are compared
    Then every route reaches WebSocketFunction through one integration, its route table names exactly the
    template's route keys, and each key has its sample in events/realtime/."""
    # Given
    template = load_template()
    (api,) = websocket_apis(template, LocalContext(template=template))
    targets = {
        json.dumps(props["Target"]) for props in resources_of_type(template, "AWS::ApiGatewayV2::Route").values()
    }

    # When
    module = load_handler("realtime", "websocket_api")
    samples = {
        sample_event(f"realtime/{path.name}").get("requestContext", {}).get("routeKey")
        for path in (REPO_ROOT / "events" / "realtime").glob("*.json")
    }

    # Then
    assert {route.function_id for route in api.routes.values()} == {"WebSocketFunction"}
    assert len(targets) == 1
    assert set(module.ROUTES) == set(api.routes)
    assert set(api.routes) <= samples


# ------------------------------------------------------------------------------------------------ connect


def test_connect_without_a_token_is_refused(realtime: Realtime) -> None:
    """Given no token
    When a connection is opened
    Then it is refused with 401 token_missing."""
    reply = realtime.connect("c-none", None)
    assert reply["statusCode"] == 401
    assert json.loads(reply["body"])["error"]["code"] == "token_missing"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt",
        JwtIssuer(issuer="https://issuer.test/local").issue("mallory"),  # right issuer name, foreign key
    ],
)
def test_connect_with_a_bad_token_is_refused(realtime: Realtime, token: str) -> None:
    """Given a malformed or wrongly signed token
    When a connection is opened with it
    Then it is refused with 401 invalid_token."""
    reply = realtime.connect("c-bad", token)
    assert reply["statusCode"] == 401
    assert json.loads(reply["body"])["error"]["code"] == "invalid_token"


def test_connect_with_an_expired_or_foreign_audience_token_is_refused(realtime: Realtime) -> None:
    """Given an expired token and a token for another audience
    When connections are opened with them
    Then both are refused with 401."""
    expired = realtime.issuer.issue("ann", ttl_seconds=1, extra_claims={"exp": 1_000_000})
    foreign = realtime.issuer.issue("ann", extra_claims={"aud": "someone-else"})
    assert realtime.connect("c-exp", expired)["statusCode"] == 401
    assert realtime.connect("c-aud", foreign)["statusCode"] == 401


def test_connect_subscribe_ping_unsubscribe_disconnect(realtime: Realtime) -> None:
    """Given a connected user
    When they subscribe, ping, unsubscribe, subscribe again and disconnect
    Then each step answers, the subscribers follow, and the disconnect removes the connection and all its
    subscriptions."""
    realtime.user("c-1", "ann")
    reply = realtime.subscribe("c-1", "leaderboard:ev1")
    assert reply["statusCode"] == 200
    assert reply["json"]["type"] == "subscribed" and reply["json"]["seq"] == 0
    assert realtime.send("c-1", "ping", {"action": "ping"})["json"]["type"] == "pong"

    from arena.store import connections

    assert connections.subscribers("leaderboard:ev1") == ["c-1"]
    assert (
        realtime.send("c-1", "unsubscribe", {"action": "unsubscribe", "topic": "leaderboard:ev1"})["statusCode"] == 200
    )
    assert connections.subscribers("leaderboard:ev1") == []

    realtime.subscribe("c-1", "trades:ev1")
    realtime.subscribe("c-1", "user:ann")
    disconnect = sample_event("realtime/disconnect.json")
    disconnect["requestContext"]["connectionId"] = "c-1"
    assert realtime.load("realtime", "websocket_api").lambda_handler(disconnect, None)["statusCode"] == 200
    assert connections.get_connection("c-1") is None
    assert connections.subscribers("trades:ev1") == [] and connections.channel_users() == {}


@pytest.mark.parametrize(
    ("topic", "status", "code"),
    [
        ("user:bob", 403, "forbidden_topic"),
        ("admin", 403, "forbidden_topic"),
        ("weather:today", 400, "invalid_topic"),
        (42, 400, "invalid_topic"),
    ],
)
def test_subscriptions_a_user_may_not_hold_are_refused(realtime: Realtime, topic: Any, status: int, code: str) -> None:
    """Given a connected user
    When they subscribe to a topic they may not hold, or a malformed one
    Then the reply is an error with the expected status and code."""
    realtime.user("c-ann", "ann")
    reply = realtime.subscribe("c-ann", topic)
    assert reply["statusCode"] == status
    assert reply["json"]["type"] == "error" and reply["json"]["error"]["code"] == code


def test_an_admin_may_subscribe_to_admin_and_anyone_to_their_own_channel(realtime: Realtime) -> None:
    """Given a connected admin and a connected user
    When the admin subscribes to admin and the user to their own channel
    Then both are accepted."""
    realtime.user("c-root", "root", groups=("admin",))
    realtime.user("c-ann", "ann")
    assert realtime.subscribe("c-root", "admin")["statusCode"] == 200
    assert realtime.subscribe("c-ann", "user:ann")["statusCode"] == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ('{"action": "shout"}', "unknown_action"),
        ("{}", "missing_action"),
        ("this is not json", "invalid_json"),
        ("[1, 2]", "invalid_json"),
    ],
)
def test_unknown_actions_and_bad_messages_get_a_clear_error(realtime: Realtime, body: str, code: str) -> None:
    """Given a connected user
    When they send an unknown action or a malformed message
    Then the reply is a 400 with the expected error code."""
    realtime.user("c-1", "ann")
    reply = realtime.send("c-1", "default", body)
    assert reply["statusCode"] == 400
    assert reply["json"]["error"]["code"] == code


def test_a_message_from_an_unknown_connection_is_told_to_reconnect(realtime: Realtime) -> None:
    """Given a connection id that never connected
    When it subscribes
    Then the reply is 401 connection_unknown."""
    reply = realtime.subscribe("never-connected", "leaderboard:ev1")
    assert reply["statusCode"] == 401 and reply["json"]["error"]["code"] == "connection_unknown"


# ------------------------------------------------------------------------------------------------ fan-out


def test_leaderboard_pushes_carry_what_changed_with_version_and_seq(realtime: Realtime, named: str) -> None:
    """Given a watcher of an event's leaderboard
    When two trades and then a third are ingested
    Then the first push holds both rows, the second only the ranks that changed with a higher version and the next
    seq; the rows name traders by handle and name, never by user id."""
    arena = realtime.arena
    event_id = _event(arena, ["ann", "bob", "cid"])
    realtime.user("c-watch", "watcher", f"leaderboard:{event_id}")
    arena.ingest([trade(f"T-{u}", u, "2026-12-01T09:00:00Z", price=p) for u, p in [("ann", "300"), ("bob", "200")]])
    realtime.settle()
    first = realtime.api.to("c-watch", "leaderboard")
    assert len(first) == 1
    assert first[0]["seq"] == 1 and first[0]["topic"] == f"leaderboard:{event_id}"
    assert [(r["rank"], trader_of(r), r["score"]) for r in first[0]["data"]["rows"]] == [
        (1, "ann", "300"),
        (2, "bob", "200"),
    ]
    assert all("user_id" not in r and r["name"].startswith("Trader ") for r in first[0]["data"]["rows"])

    arena.ingest([trade("T-cid", "cid", "2026-12-01T09:30:00Z", price="250")])
    realtime.settle()
    second = realtime.api.to("c-watch", "leaderboard")[1]
    assert second["seq"] == 2 and second["data"]["version"] > first[0]["data"]["version"]
    # ann is still first: only ranks 2 and 3 changed.
    assert [(r["rank"], trader_of(r)) for r in second["data"]["rows"]] == [(2, "cid"), (3, "bob")]
    assert second["data"]["size"] == 3 and second["data"]["total"] == 3

    page = arena.leaderboard(event_id).body["entries"]
    assert [e["user_id"] for e in page] == ["ann", "cid", "bob"]


def test_rank_changes_reach_exactly_the_users_whose_rank_moved(realtime: Realtime) -> None:
    """Given three participants each on their own channel
    When trades rank two, then put the third on top, then change a score without a rank move
    Then only those whose rank moved are told, and each channel's seq has no gaps or repeats."""
    arena = realtime.arena
    _event(arena, ["ann", "bob", "cid"], qualification=QUALIFY_ON_FIRST_TRADE)
    for user in ("ann", "bob", "cid"):
        realtime.user(f"c-{user}", user, f"user:{user}")
    arena.ingest([trade(f"A-{u}", u, "2026-12-01T09:00:00Z", price=p) for u, p in [("ann", "300"), ("bob", "200")]])
    realtime.settle()
    assert [m["data"]["rank"] for m in realtime.api.to("c-ann", "rank_changed")] == [1]
    assert [m["data"]["rank"] for m in realtime.api.to("c-bob", "rank_changed")] == [2]
    assert realtime.api.to("c-cid", "rank_changed") == []  # never ranked: nothing to tell

    # cid goes straight to the top: ann and bob each move down one, cid appears.
    arena.ingest([trade("B-cid", "cid", "2026-12-01T09:10:00Z", price="500")])
    realtime.settle()
    assert [(m["data"]["previous_rank"], m["data"]["rank"]) for m in realtime.api.to("c-ann", "rank_changed")] == [
        (None, 1),
        (1, 2),
    ]
    assert [m["data"]["rank"] for m in realtime.api.to("c-cid", "rank_changed")] == [1]

    # bob trades but stays third: no rank message for anyone.
    before = len(realtime.api.to("c-ann", "rank_changed")) + len(realtime.api.to("c-bob", "rank_changed"))
    arena.ingest([trade("C-bob", "bob", "2026-12-01T09:20:00Z", price="1")])
    realtime.settle()
    after = len(realtime.api.to("c-ann", "rank_changed")) + len(realtime.api.to("c-bob", "rank_changed"))
    assert after == before
    # every message on a user's channel carries the next seq of that channel: no gaps, no repeats.
    for user in ("ann", "bob", "cid"):
        seqs = [m["seq"] for m in realtime.api.to(f"c-{user}")]
        assert seqs == list(range(1, len(seqs) + 1)), (user, seqs)


def test_personal_milestones_first_trade_qualification_and_prize_zone(realtime: Realtime) -> None:
    """Given a participant of an event that qualifies on two trades
    When they trade once and then again
    Then they are told first_trade, then qualified and prize_zone."""
    arena = realtime.arena
    event_id = _event(arena, ["ann"], qualification={"min_volume": "0", "min_trades": 2})
    realtime.user("c-ann", "ann", "user:ann")
    arena.ingest([trade("M-1", "ann", "2026-12-01T09:00:00Z")])
    realtime.settle()
    assert [m["data"]["milestone"] for m in realtime.api.to("c-ann", "milestone")] == ["first_trade"]
    arena.ingest([trade("M-2", "ann", "2026-12-01T09:01:00Z")])
    realtime.settle()
    milestones = [m["data"]["milestone"] for m in realtime.api.to("c-ann", "milestone")]
    assert milestones == ["first_trade", "qualified", "prize_zone"]
    assert all(m["data"]["event_id"] == event_id for m in realtime.api.to("c-ann", "milestone"))


def test_event_milestones_and_sampled_anonymised_trade_activity(realtime: Realtime) -> None:
    """Given a fan of an event with volume and participant milestones
    When eight participants trade
    Then the milestones crossed are announced once and the trade activity is summed, sampled and without user ids."""
    arena = realtime.arena
    users = [f"private-trader-{i}" for i in range(8)]
    event_id = _event(arena, users, milestones={"volume": ["500", "100000"], "participants": [5]})
    realtime.user("c-fan", "fan", f"event:{event_id}", f"trades:{event_id}")
    arena.ingest([trade(f"V-{u}", u, "2026-12-01T09:00:00Z", price="100") for u in users])
    realtime.settle()
    milestones = {(m["data"]["milestone"], m["data"]["threshold"]) for m in realtime.api.to("c-fan", "milestone")}
    assert milestones == {("event_volume", "500"), ("event_participants", "5")}
    activity = realtime.api.to("c-fan", "trades")
    assert len(activity) == 1
    data = activity[0]["data"]
    assert data["trades"] == 8 and data["volume"] == "800"
    assert len(data["sample"]) == 5  # REALTIME_TRADE_SAMPLE
    assert not any(u in json.dumps(data) for u in users)  # anonymised: no user ids


def test_a_redelivered_batch_sends_nothing_twice(realtime: Realtime) -> None:
    """Given trades whose stream batches were delivered and pushed
    When Lambda delivers the same batches again
    Then nothing is sent twice, and monitoring sees records that applied nothing."""
    arena = realtime.arena
    event_id = _event(arena, ["ann", "bob"], qualification=QUALIFY_ON_FIRST_TRADE)
    realtime.user("c-ann", "ann", "user:ann", f"leaderboard:{event_id}", f"trades:{event_id}")
    realtime.user("c-root", "root", "admin", groups=("admin",))
    arena.ingest([trade(f"R-{u}", u, "2026-12-01T09:00:00Z", price=p) for u, p in [("ann", "300"), ("bob", "200")]])
    realtime.settle()
    sent = list(realtime.api.to("c-ann"))
    assert {m["type"] for m in sent} == {"leaderboard", "rank_changed", "milestone", "trades"}

    for handler, batch in list(realtime.delivered):  # Lambda delivers the same batches again
        assert handler(batch, arena.context) == {"batchItemFailures": []}
    assert realtime.api.to("c-ann") == sent
    # Monitoring does see the redelivery, as records that applied nothing.
    redelivered = realtime.api.to("c-root", "ingest")[-1]["data"]
    assert redelivered["records"] > 0 and redelivered["applied"] == 0 and redelivered["trades"] == 0


def test_a_batch_overlapping_one_already_applied_counts_only_the_new_changes(realtime: Realtime) -> None:
    """Given a batch already applied and a next change held back
    When a retry delivers both as one batch
    Then only the new trade is pushed, and no milestone is told again."""
    arena = realtime.arena
    event_id = _event(arena, ["ann"], qualification=QUALIFY_ON_FIRST_TRADE)
    realtime.user("c-ann", "ann", "user:ann", f"trades:{event_id}")
    arena.ingest([trade("O-1", "ann", "2026-12-01T09:00:00Z", price="10")])
    realtime.settle()
    first_batch = realtime.delivered[-1][1]
    assert [m["data"]["trades"] for m in realtime.api.to("c-ann", "trades")] == [1]

    # The next change is taken off the stream but not delivered; then Lambda delivers both batches as one
    # (a retry that starts before the checkpoint).
    realtime.hold = True
    arena.ingest([trade("O-2", "ann", "2026-12-01T09:01:00Z", price="30")])
    arena.stream.drain()
    realtime.activity.drain()
    realtime.hold = False
    handler, second_batch = realtime.delivered[-1]
    merged = {"Records": first_batch["Records"] + second_batch["Records"]}
    assert handler(merged, arena.context) == {"batchItemFailures": []}

    trades = [m["data"] for m in realtime.api.to("c-ann", "trades")]
    assert [(t["trades"], t["volume"]) for t in trades] == [(1, "10"), (1, "30")]
    milestones = [m["data"]["milestone"] for m in realtime.api.to("c-ann", "milestone")]
    assert (milestones.count("first_trade"), milestones.count("qualified")) == (1, 1)  # not again


def test_a_410_deletes_that_connection_only_and_a_failing_one_stops_nothing(realtime: Realtime) -> None:
    """Given three subscribers, one gone (410) and one failing
    When a leaderboard push goes out
    Then the healthy one receives it, the gone one is deleted and the failing one kept."""
    arena = realtime.arena
    event_id = _event(arena, ["ann"])
    topic = f"leaderboard:{event_id}"
    for c in ("c-gone", "c-broken", "c-ok"):
        realtime.user(c, f"fan-{c}", topic)
    realtime.api.gone.add("c-gone")
    realtime.api.broken.add("c-broken")
    arena.ingest([trade("G-1", "ann", "2026-12-01T09:00:00Z")])
    realtime.settle()

    from arena.store import connections

    assert len(realtime.api.to("c-ok", "leaderboard")) == 1
    assert connections.get_connection("c-gone") is None
    assert sorted(connections.subscribers(topic)) == ["c-broken", "c-ok"]


def test_pushes_of_one_event_are_paced_and_coalesced(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch, named: str
) -> None:
    """Given a 60-second push interval and a push just made
    When two more changes arrive before the next push
    Then one push, after a recorded wait within the interval, carries both."""
    from arena.config import settings
    from arena.services.realtime import leaderboard_push as service

    # An interval far longer than the test takes (the sleeps are recorded, not slept), so a slow machine cannot
    # let the interval pass between the two pushes.
    monkeypatch.setenv("REALTIME_PUSH_INTERVAL_SECONDS", "60")
    settings.cache_clear()
    waits: list[float] = []
    arena = realtime.arena
    event_id = _event(arena, ["ann", "bob"])
    realtime.user("c-w", "w", f"leaderboard:{event_id}")
    arena.ingest([trade("P-1", "ann", "2026-12-01T09:00:00Z")])
    arena.stream.drain()
    service.push_leaderboard(event_id, sleep=waits.append)
    # Two more snapshot changes arrive before the second is up: one push carries both.
    arena.ingest([trade("P-2", "bob", "2026-12-01T09:01:00Z", price="500")])
    arena.stream.drain()
    arena.ingest([trade("P-3", "ann", "2026-12-01T09:02:00Z", price="900")])
    arena.stream.drain()
    service.push_leaderboard(event_id, sleep=waits.append)
    pushes = realtime.api.to("c-w", "leaderboard")
    assert len(pushes) == 2 and waits and 0 < waits[-1] <= 60
    assert [(r["rank"], trader_of(r), r["score"]) for r in pushes[1]["data"]["rows"]] == [
        (1, "ann", "1000"),
        (2, "bob", "500"),
    ]


def test_domain_events_reach_the_event_topic_and_admins_once(realtime: Realtime) -> None:
    """Given a fan of an event and an admin
    When the sample domain event is pushed twice
    Then each receives it once: the fan an event_status, the admin a domain_event."""
    realtime.user("c-fan", "fan", "event:01jbsampleevent0000000000")
    realtime.user("c-root", "root", "admin", groups=("admin",))
    handler = realtime.load("realtime", "push_domain_event").lambda_handler
    event = sample_event("realtime/push_domain_event.json")
    assert handler(event, realtime.arena.context)["posts"] == 2
    assert handler(event, realtime.arena.context)["posts"] == 0  # the same EventBridge delivery again
    status = realtime.api.to("c-fan", "event_status")
    assert [m["data"]["status"] for m in status] == ["ACTIVE"]
    assert [m["data"]["name"] for m in realtime.api.to("c-root", "domain_event")] == ["EventStarted"]


def test_winners_listening_on_their_channel_learn_their_prizes(realtime: Realtime) -> None:
    """Given a manual-claim event distributed, ann listening on her private channel and cid on none
    When PrizesDistributed reaches the fan-out
    Then ann gets one "prize" message with her prize, its status, deadline and the id to claim it; nobody else's
    channel is posted to, and the same delivery again posts nothing."""
    from arena.domain.claims import PrizeRef

    from tests.integration.prizes import distribute, seeded_event

    event_id = seeded_event(realtime.arena, claim={"mode": "manual", "window_days": 7})
    assert distribute(realtime.arena, event_id).status == 201
    realtime.user("c-ann", "ann", "user:ann")
    realtime.user("c-eve", "eve", "user:eve")  # did not qualify: no prize, no message
    handler = realtime.load("realtime", "push_domain_event").lambda_handler
    envelope = {
        **sample_event("realtime/push_domain_event.json"),
        "id": "delivery-prizes-1",
        "detail-type": "PrizesDistributed",
        "detail": {"event_id": event_id, "run_id": "r1", "award_count": 5},
    }
    handler(envelope, realtime.arena.context)
    handler(envelope, realtime.arena.context)
    [message] = realtime.api.to("c-ann", "prize")
    assert message["data"]["name"] == "PrizesAwarded" and message["data"]["event_id"] == event_id
    assert message["data"]["prizes"] == [
        {
            "type": "points",
            "amount": "1000",
            "status": "CLAIMABLE",
            "prize_rank": 1,
            "claim_deadline": "2026-12-08T12:00:00.000Z",
            "prize_id": PrizeRef(event_id, "ann", 0).prize_id,
        }
    ]
    assert realtime.api.to("c-eve", "prize") == []


# ------------------------------------------------------------------------------------------------ announcements


def _announce(realtime: Realtime, connection_id: str, body: Any) -> dict[str, Any]:
    return realtime.send(connection_id, "announce", body)


def test_the_events_manager_announces_to_its_subscribers(realtime: Realtime) -> None:
    """Given a fan subscribed to an event and the event's manager connected
    When the manager announces a text with spaces around it
    Then the fan receives the trimmed text, signed by the manager, as seq 1, with the stored announcement's id
    and the default title."""
    from tests.integration.conftest import manager_claims

    event_id = realtime.arena.new_event(claims=manager_claims("mia"))["id"]
    realtime.user("c-fan", "fan", f"event:{event_id}")
    realtime.user("c-mia", "mia", groups=("event-manager",))
    reply = _announce(realtime, "c-mia", {"action": "announce", "event_id": event_id, "text": " SOL counts double "})
    assert reply["statusCode"] == 200 and reply["json"]["delivered"] == 1
    [announcement] = realtime.api.to("c-fan", "announcement")
    assert announcement["data"] == {
        "announcement_id": reply["json"]["announcement_id"],
        "event_id": event_id,
        "title": "Announcement",
        "text": "SOL counts double",
        "by": "mia",
        "edited": False,
    }
    assert announcement["seq"] == 1


@pytest.mark.parametrize(
    ("who", "groups", "body", "status", "code"),
    [
        ("ann", ("user",), {"text": "hi"}, 403, "forbidden_role"),
        ("otto", ("event-manager",), {"text": "hi"}, 403, "not_event_manager"),
        ("ann", ("user",), {"text": "hi\u202e"}, 403, "forbidden_role"),
        ("root", ("admin",), {"text": ""}, 422, "invalid_announcement"),
        ("root", ("admin",), {"text": "x" * 501}, 422, "invalid_announcement"),
        ("root", ("admin",), {"text": 42}, 422, "invalid_announcement"),
        ("root", ("admin",), {"text": "Prizes \u202edelbuod"}, 422, "invalid_announcement"),
        ("root", ("admin",), {"text": "free\u200b money"}, 422, "invalid_announcement"),
        ("root", ("admin",), {"text": "hi", "event_id": None}, 400, "invalid_announcement"),
        ("root", ("admin",), {"text": "hi", "event_id": "no-such-event"}, 404, "event_not_found"),
    ],
)
def test_announcements_need_a_manager_of_the_event_and_a_short_text(
    realtime: Realtime, who: str, groups: tuple[str, ...], body: dict[str, Any], status: int, code: str
) -> None:
    """Given an event and a connected caller who is not its manager, or a bad announcement body
    When the caller announces
    Then the reply has the expected error status and code."""
    event_id = realtime.arena.new_event()["id"]
    realtime.user("c-1", who, groups=groups)
    reply = _announce(realtime, "c-1", {"action": "announce", "event_id": event_id, **body})
    assert (reply["statusCode"], reply["json"]["error"]["code"]) == (status, code)


# ------------------------------------------------------------------------------------------------ sharded broadcast


def test_a_large_broadcast_is_sharded_through_the_queue_and_each_shard_posted_once(
    realtime: Realtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given five subscribers, a shard size of 2 and a fan-out queue, one subscriber gone
    When a domain event is pushed and the queued shards are sent
    Then the pushing function posts nothing itself, three shards are queued, and each shard is posted once."""
    import boto3
    from arena.config import settings

    queue_url = boto3.client("sqs").create_queue(QueueName="fanout-test")["QueueUrl"]
    monkeypatch.setenv("FANOUT_QUEUE_URL", queue_url)
    monkeypatch.setenv("REALTIME_SHARD_SIZE", "2")
    settings.cache_clear()
    topic = "event:01jbsampleevent0000000000"
    fans = [f"c-fan-{i}" for i in range(5)]
    for connection_id in fans:
        realtime.user(connection_id, f"fan-{connection_id}", topic)
    realtime.api.gone.add("c-fan-3")

    handler = realtime.load("realtime", "push_domain_event").lambda_handler
    assert handler(sample_event("realtime/push_domain_event.json"), realtime.arena.context)["posts"] == 0
    assert realtime.api.posts == []  # nothing posted by the pushing function itself: three shards queued

    sqs = boto3.client("sqs")
    shards = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(len(json.loads(m["Body"])["connections"]) for m in shards) == [1, 2, 2]
    event = {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fanout-test",
                "awsRegion": "us-east-1",
            }
            for m in shards
        ]
    }
    sender = realtime.load("realtime", "send_shard").lambda_handler
    assert sender(event, realtime.arena.context) == {"batchItemFailures": []}

    from arena.store import connections

    delivered = {c: [m["seq"] for m in realtime.api.to(c, "event_status")] for c in fans}
    assert delivered == {"c-fan-0": [1], "c-fan-1": [1], "c-fan-2": [1], "c-fan-3": [], "c-fan-4": [1]}
    assert connections.get_connection("c-fan-3") is None  # the 410 cleaned up that one connection


def test_a_malformed_shard_is_reported_not_swallowed(realtime: Realtime) -> None:
    """Given a shard message whose body is malformed
    When the shard sender handles it
    Then the message is reported as a batch item failure."""
    sender = realtime.load("realtime", "send_shard").lambda_handler
    event = {
        "Records": [
            {
                "messageId": "m-1",
                "receiptHandle": "r-1",
                "body": json.dumps({"message": 7}),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:fanout-test",
                "awsRegion": "us-east-1",
            }
        ]
    }
    assert sender(event, realtime.arena.context) == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}
