"""Disqualifying and reinstating participants, with the events/participants/ payloads, on moto.

The samples target trader-2 of the sample event, called by admin-1: disqualify with "Wash trading with a linked
account", reinstate with "Appeal upheld after review". Moderation writes the participant and its audit record in
one transaction and applies the change to the leaderboard snapshot itself, so the board shows it at once; the
stream's copy of the change arrives later and must change nothing.

"At once" means: read through the get_leaderboard / get_my_rank handlers WITHOUT draining the participants stream,
with the in-Lambda cache cold (another container, or this one after its `leaderboard_cache_seconds`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import ModuleType
from typing import Any

import boto3
import pytest

from tests.conftest import api_event
from tests.integration.conftest import ADMIN, Arena, Reply, board_rows, manager_claims, trade, trader_of, user_claims

SAMPLE_USER = "trader-2"  # the user the moderation samples name
DISQUALIFY_REASON = "Wash trading with a linked account"
REINSTATE_REASON = "Appeal upheld after review"
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)

# Quantity at price 100: volumes 500, 400, 300, 200, 100 -> ranks 1..5 on a board by volume.
CROWD = [("ann", "5"), (SAMPLE_USER, "4"), ("cid", "3"), ("dan", "2"), ("eve", "1")]
FULL_BOARD = [(1, "ann", Decimal(500)), (2, SAMPLE_USER, Decimal(400)), (3, "cid", Decimal(300))]
FULL_BOARD += [(4, "dan", Decimal(200)), (5, "eve", Decimal(100))]
WITHOUT_SAMPLE_USER = [(1, "ann", Decimal(500)), (2, "cid", Decimal(300)), (3, "dan", Decimal(200))]
WITHOUT_SAMPLE_USER += [(4, "eve", Decimal(100))]

# Traders have public handles here (a trader's view names their neighbours by handle).
pytestmark = pytest.mark.usefixtures("named")


# ------------------------------------------------------------------------------------------- helpers


def _ranked_event(arena: Arena, creator: dict[str, Any] | None = None) -> str:
    """Given the sample event (by volume) with the CROWD joined, traded once each and on the board (drained)."""
    event_id = arena.new_event(creator)["id"]
    for user, _ in CROWD:
        arena.joined(event_id, user)
    trades = [trade(f"M-{user}", user, "2026-12-01T09:00:00Z", quantity=q) for user, q in CROWD]
    assert arena.ingest(trades).body["accepted"] == len(CROWD)
    arena.stream.drain()
    return event_id


def _moderate(
    arena: Arena,
    action: str,
    event_id: str,
    user_id: str = SAMPLE_USER,
    claims: dict[str, Any] | None = None,
    body: Any = None,
) -> Reply:
    """The sample request of events/participants/<action>_participant.json for this event and user."""
    return arena.call(
        f"participants/{action}_participant",
        api_event(
            f"participants/{action}_participant.json",
            path={"eventId": event_id, "userId": user_id},
            claims=claims,
            body=body,
        ),
    )


def disqualify(arena: Arena, event_id: str, **kwargs: Any) -> Reply:
    return _moderate(arena, "disqualify", event_id, **kwargs)


def reinstate(arena: Arena, event_id: str, **kwargs: Any) -> Reply:
    return _moderate(arena, "reinstate", event_id, **kwargs)


def _cold_cache() -> None:
    from arena.services import leaderboard

    leaderboard.cache.clear()


def board_now(arena: Arena, event_id: str) -> Reply:
    """GET the leaderboard as a new request of an admin (rows with user ids) sees it right now: no stream drain,
    cold in-Lambda cache."""
    _cold_cache()
    return arena.call(
        "leaderboard/get_leaderboard",
        api_event("leaderboard/get_leaderboard.json", path={"eventId": event_id}, query={"limit": "100"}, claims=ADMIN),
    )


def my_rank_now(arena: Arena, event_id: str, user_id: str, around: int = 1) -> Reply:
    """GET /leaderboard/me right now: no stream drain, cold in-Lambda cache."""
    _cold_cache()
    return arena.my_rank_now(event_id, user_id, around)


entries = board_rows


def assert_board(reply: Reply, expected: list[tuple[int, str, Decimal]]) -> None:
    """The board is exactly `expected`: same entries, ranks 1..n, each user once, total n."""
    got = entries(reply)
    assert got == expected
    assert reply.body["total"] == len(expected)
    users = [user for _, user, _ in got]
    assert len(users) == len(set(users)), f"a participant is on the board twice: {users}"


def generation(event_id: str) -> int:
    from arena.store import leaderboard

    return leaderboard.read_head(event_id).index.generation


def audit_trail(event_id: str, user_id: str = SAMPLE_USER) -> list[dict[str, Any]]:
    from arena.store import audit

    return audit.history(audit.participant_subject(event_id, user_id))


def stream_one_record_at_a_time(tables: dict[str, str], arena: Arena, refresh: Any) -> Any:
    """The participants stream delivered to the refresher one record per batch (a batch may end anywhere:
    the refresher's batching window closes when it closes). Independent of arena.stream; returns the poller."""
    from local.pollers import DynamoDBStreamPoller

    table = tables["ParticipantsTable"]
    arn = boto3.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    return DynamoDBStreamPoller(
        boto3.client("dynamodbstreams"),
        arn,
        lambda event: refresh.lambda_handler(event, arena.context),
        batch_size=1,
        starting_position="TRIM_HORIZON",
        report_batch_item_failures=True,
        retry_backoff=0,
    )


# ------------------------------------------------------------------------------------------- disqualify


def test_disqualify_sample_takes_the_participant_off_the_board_at_once(arena: Arena) -> None:
    """Given trader-2 ranked 2nd of 5
    When an admin sends events/participants/disqualify_participant.json
    Then 200 with disqualified true and the reason; without waiting for the stream the board drops trader-2 and
    the three below move up a rank; trader-2's /leaderboard/me says disqualified, not ranked; their totals stay
    in /participants/me; a neighbour's own rank has moved up too."""
    event_id = _ranked_event(arena)
    assert_board(board_now(arena, event_id), FULL_BOARD)

    reply = disqualify(arena, event_id)

    assert reply.status == 200, reply
    assert {k: reply.body[k] for k in ("event_id", "user_id", "disqualified", "disqualified_reason")} == {
        "event_id": event_id,
        "user_id": SAMPLE_USER,
        "disqualified": True,
        "disqualified_reason": DISQUALIFY_REASON,
    }
    assert (reply.body["volume"], reply.body["trade_count"]) == ("400", 1)

    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)

    me = my_rank_now(arena, event_id, SAMPLE_USER)
    assert me.status == 200, me
    assert (me.body["disqualified"], me.body["disqualified_reason"]) == (True, DISQUALIFY_REASON)
    assert (me.body["ranked"], me.body["rank"], me.body["prize_rank"]) == (False, None, None)
    assert (me.body["above"], me.body["below"]) == ([], [])
    assert (Decimal(me.body["score"]), me.body["trade_count"]) == (Decimal(400), 1)

    cid = my_rank_now(arena, event_id, "cid").body
    assert (cid["rank"], [trader_of(e) for e in cid["above"]], [trader_of(e) for e in cid["below"]]) == (
        2,
        ["ann"],
        ["dan"],
    )

    participation = arena.me(event_id, user_claims(SAMPLE_USER))
    assert participation.status == 200
    assert (participation.body["disqualified"], participation.body["disqualified_reason"]) == (True, DISQUALIFY_REASON)
    assert (participation.body["volume"], participation.body["trade_count"]) == ("400", 1)


def test_disqualified_participant_trades_still_count_but_never_reach_the_board(arena: Arena) -> None:
    """Given trader-2 disqualified
    When a trade that would make them first arrives, and then the stream (with the stream's copy of the
    disqualification and of the trade) reaches the snapshot
    Then /participants/me counts the trade; the board never shows trader-2 again and holds each of the other
    four exactly once."""
    event_id = _ranked_event(arena)
    assert disqualify(arena, event_id).status == 200

    arena.clock.set(NOON + timedelta(minutes=1))
    posted = arena.ingest([trade("M-late", SAMPLE_USER, "2026-12-01T12:00:30Z", quantity="10")])
    assert posted.body["accepted"] == 1, posted
    participation = arena.me(event_id, user_claims(SAMPLE_USER)).body
    assert (participation["volume"], participation["trade_count"], participation["disqualified"]) == ("1400", 2, True)
    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)

    assert arena.stream.drain() > 0

    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)
    me = my_rank_now(arena, event_id, SAMPLE_USER).body
    assert (me["ranked"], me["rank"], Decimal(me["score"])) == (False, None, Decimal(1400))


# ------------------------------------------------------------------------------------------- reinstate


def test_reinstate_sample_puts_the_participant_back_at_their_rank_at_once(arena: Arena) -> None:
    """Given trader-2 (2nd of 5) disqualified
    When an admin sends events/participants/reinstate_participant.json
    Then 200 with disqualified false and no reason; without waiting for the stream trader-2 is 2nd again and the
    others are back where they were; when the stream's copies of both changes arrive later, they are stale:
    no new generation, nobody twice."""
    event_id = _ranked_event(arena)
    assert disqualify(arena, event_id).status == 200

    reply = reinstate(arena, event_id)

    assert reply.status == 200, reply
    assert (reply.body["user_id"], reply.body["disqualified"], reply.body["disqualified_reason"]) == (
        SAMPLE_USER,
        False,
        None,
    )
    assert_board(board_now(arena, event_id), FULL_BOARD)
    me = my_rank_now(arena, event_id, SAMPLE_USER).body
    assert (me["ranked"], me["rank"], me["disqualified"], me["disqualified_reason"]) == (True, 2, False, None)
    assert [trader_of(e) for e in me["above"] + me["below"]] == ["ann", "cid"]

    settled = generation(event_id)
    assert arena.stream.drain() == 2  # the stream's copies of the disqualification and the reinstatement

    assert generation(event_id) == settled
    assert_board(board_now(arena, event_id), FULL_BOARD)


def test_reinstate_after_trading_while_disqualified_ranks_by_the_current_totals(arena: Arena) -> None:
    """Given trader-2 disqualified, then a trade of 700 for trader-2 that the stream has not delivered yet
    When trader-2 is reinstated
    Then the board shows trader-2 first with 1100 at once; after the stream catches up nothing changes."""
    event_id = _ranked_event(arena)
    assert disqualify(arena, event_id).status == 200
    assert arena.ingest([trade("M-more", SAMPLE_USER, "2026-12-01T11:00:00Z", quantity="7")]).body["accepted"] == 1

    assert reinstate(arena, event_id).status == 200

    reordered = [(1, SAMPLE_USER, Decimal(1100)), (2, "ann", Decimal(500)), (3, "cid", Decimal(300))]
    reordered += [(4, "dan", Decimal(200)), (5, "eve", Decimal(100))]
    assert_board(board_now(arena, event_id), reordered)
    settled = generation(event_id)

    arena.stream.drain()

    assert generation(event_id) == settled
    assert_board(board_now(arena, event_id), reordered)
    assert my_rank_now(arena, event_id, SAMPLE_USER).body["rank"] == 1


# ------------------------------------------------------------------------------------------- idempotence, audit


def test_repeats_change_nothing_and_the_audit_trail_has_one_record_per_change(arena: Arena) -> None:
    """Given trader-2 ranked
    When the sample disqualify is sent at 12:00 and again at 12:05 (another reason), then the sample reinstate
    at 12:10 and again at 12:15
    Then every call is 200; a repeat answers the current state (the first reason stays), makes no new snapshot
    generation and writes no audit record; the trail holds exactly the two real changes, oldest first, each with
    actor, action, reason and time."""
    event_id = _ranked_event(arena)

    first = disqualify(arena, event_id)
    after_first = generation(event_id)
    arena.clock.set(NOON + timedelta(minutes=5))
    again = disqualify(arena, event_id, body={"reason": "Same thing, reported twice"})

    assert (first.status, again.status) == (200, 200)
    assert again.body == first.body
    assert again.body["disqualified_reason"] == DISQUALIFY_REASON
    assert generation(event_id) == after_first

    arena.clock.set(NOON + timedelta(minutes=10))
    back = reinstate(arena, event_id)
    after_back = generation(event_id)
    arena.clock.set(NOON + timedelta(minutes=15))
    back_again = reinstate(arena, event_id)

    assert (back.status, back_again.status) == (200, 200)
    assert back_again.body == back.body
    assert generation(event_id) == after_back
    assert_board(board_now(arena, event_id), FULL_BOARD)

    trail = audit_trail(event_id)
    assert [{k: r[k] for k in ("actor", "action", "reason", "at")} for r in trail] == [
        {"actor": "admin-1", "action": "disqualify", "reason": DISQUALIFY_REASON, "at": "2026-12-01T12:00:00.000Z"},
        {"actor": "admin-1", "action": "reinstate", "reason": REINSTATE_REASON, "at": "2026-12-01T12:10:00.000Z"},
    ]
    assert all(r["subject"] == f"PARTICIPANT#{event_id}#{SAMPLE_USER}" for r in trail)


def test_reinstating_a_participant_in_good_standing_is_a_no_op(arena: Arena) -> None:
    """Given trader-2 ranked and never disqualified When the sample reinstate is sent
    Then 200 with disqualified false, no audit record, no new generation, the board unchanged."""
    event_id = _ranked_event(arena)
    before = generation(event_id)

    reply = reinstate(arena, event_id)

    assert (reply.status, reply.body["disqualified"]) == (200, False)
    assert audit_trail(event_id) == []
    assert generation(event_id) == before
    assert_board(board_now(arena, event_id), FULL_BOARD)


# ------------------------------------------------------------------------------------------- who may


def test_the_events_manager_may_moderate_and_is_recorded_as_the_actor(arena: Arena) -> None:
    """Given an event created by the event manager mgr-a
    When mgr-a disqualifies trader-2 Then 200, off the board, and the audit record names mgr-a."""
    event_id = _ranked_event(arena, manager_claims("mgr-a"))

    reply = disqualify(arena, event_id, claims=manager_claims("mgr-a"))

    assert (reply.status, reply.body["disqualified"]) == (200, True), reply
    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)
    assert [(r["actor"], r["action"]) for r in audit_trail(event_id)] == [("mgr-a", "disqualify")]


@pytest.mark.parametrize(
    ("claims", "code"),
    [(manager_claims("mgr-b"), "not_event_manager"), (user_claims("ann"), "forbidden_role")],
    ids=["manager-of-another-event", "plain-user"],
)
def test_callers_who_may_not_moderate_get_403_and_change_nothing(
    arena: Arena, claims: dict[str, Any], code: str
) -> None:
    """Given an event managed by mgr-a (trader-2 ranked, and another of trader-2's states: disqualified by mgr-a
    for the reinstate half)
    When mgr-b, who manages only another event, or a plain user (a participant herself) disqualifies or
    reinstates trader-2
    Then 403 (not_event_manager / forbidden_role), and the participant, the board and the audit trail are as
    they were."""
    event_id = _ranked_event(arena, manager_claims("mgr-a"))
    arena.new_event(manager_claims("mgr-b"))  # mgr-b does manage an event: just not this one

    refused = disqualify(arena, event_id, claims=claims)

    assert (refused.status, refused.code) == (403, code)
    assert arena.me(event_id, user_claims(SAMPLE_USER)).body["disqualified"] is False
    assert_board(board_now(arena, event_id), FULL_BOARD)
    assert audit_trail(event_id) == []

    assert disqualify(arena, event_id, claims=manager_claims("mgr-a")).status == 200
    refused = reinstate(arena, event_id, claims=claims)

    assert (refused.status, refused.code) == (403, code)
    assert arena.me(event_id, user_claims(SAMPLE_USER)).body["disqualified"] is True
    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)
    assert [r["action"] for r in audit_trail(event_id)] == ["disqualify"]


@pytest.mark.parametrize("action", ["disqualify", "reinstate"])
def test_unknown_participant_is_404(arena: Arena, action: str) -> None:
    """Given an event nobody called "ghost" joined When ghost is disqualified or reinstated
    Then 404 not_participant, and no audit record is written for ghost."""
    event_id = arena.new_event()["id"]
    arena.joined(event_id, "ann")

    reply = _moderate(arena, action, event_id, user_id="ghost")

    assert (reply.status, reply.code) == (404, "not_participant")
    assert audit_trail(event_id, "ghost") == []


@pytest.mark.parametrize("action", ["disqualify", "reinstate"])
def test_unknown_event_is_404(arena: Arena, action: str) -> None:
    """Given no event with the samples' event id When the sample is sent as is Then 404 event_not_found."""
    reply = arena.call(f"participants/{action}_participant", api_event(f"participants/{action}_participant.json"))
    assert (reply.status, reply.code) == (404, "event_not_found")


@pytest.mark.parametrize(
    "body",
    [{"reason": "no"}, {"reason": ""}, {}, {"reason": "x" * 501}],
    ids=["two-characters", "empty", "missing", "too-long"],
)
def test_reason_outside_3_to_500_characters_is_422(arena: Arena, body: dict[str, Any]) -> None:
    """Given trader-2 ranked When disqualified with a reason shorter than 3 characters, none, or over 500
    Then 422 validation_failed on body.reason; trader-2 stays on the board, no audit record."""
    event_id = _ranked_event(arena)

    reply = disqualify(arena, event_id, body=body)

    assert (reply.status, reply.code) == (422, "validation_failed"), reply
    assert [d["field"] for d in reply.body["error"]["details"]] == ["body.reason"]
    assert arena.me(event_id, user_claims(SAMPLE_USER)).body["disqualified"] is False
    assert audit_trail(event_id) == []
    assert_board(board_now(arena, event_id), FULL_BOARD)


# ------------------------------------------------------------------------------------------- the stream, later


def test_a_trade_in_flight_when_disqualified_does_not_bring_the_participant_back(
    arena: Arena, tables: dict[str, str], load_handler: Callable[..., ModuleType]
) -> None:
    """Given trader-2 ranked (the stream delivered one record per batch), then a trade of trader-2 that the
    stream has not delivered yet
    When trader-2 is disqualified, and then the stream delivers the trade's record in one batch and the
    disqualification's own copy in the next (a batch may end between any two records)
    Then trader-2 is off the board right after the disqualification, stays off it after each of the two later
    batches, and nobody is on it twice."""
    stream = stream_one_record_at_a_time(tables, arena, load_handler("leaderboard", "refresh_leaderboard"))
    event_id = arena.new_event()["id"]
    for user, _ in CROWD:
        arena.joined(event_id, user)
    assert arena.ingest([trade(f"M-{u}", u, "2026-12-01T09:00:00Z", quantity=q) for u, q in CROWD]).status == 200
    while stream.poll_once():
        pass
    assert_board(board_now(arena, event_id), FULL_BOARD)
    assert arena.ingest([trade("M-flight", SAMPLE_USER, "2026-12-01T11:00:00Z")]).body["accepted"] == 1

    assert disqualify(arena, event_id).status == 200
    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)

    assert stream.poll_once() == 1  # the in-flight trade's record alone (trader-2 at 500)
    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)
    assert stream.poll_once() == 1  # the stream's copy of the disqualification
    assert_board(board_now(arena, event_id), WITHOUT_SAMPLE_USER)
    assert stream.poll_once() == 0


# ------------------------------------------------------------------------------------------- a big board

CROWD_SIZE = 600  # more than a bucket holds (512): the snapshot has two buckets of 300


def _seed_crowd(event_id: str, size: int) -> None:
    """Given `size` participants who traded once at 09:00 (volumes 100 .. 100+size-1), written as trade ingest
    writes them (score, board key, version); the stream then carries them to the snapshot like any other."""
    from arena.config import settings
    from arena.domain.ranking import Totals
    from arena.services.events import load
    from arena.services.ingest import with_score
    from arena.store import dynamo
    from arena.store.participants import ParticipantRecord, record_values

    event = load(event_id)
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    items = []
    for i in range(size):
        totals = Totals(volume=Decimal(100 + i), trade_count=1, first_trade_at=at, last_trade_at=at)
        joined = datetime(2026, 12, 1, 8, tzinfo=UTC) + timedelta(seconds=i)
        record = ParticipantRecord(event_id, f"crowd-{i:04d}", joined, totals, Decimal(0), None, version=2)
        items.append(record_values(with_score(event, record)))
    dynamo.batch_write(settings().participants_table, items)


def _big_board_with_a_trade_in_flight(arena: Arena) -> str:
    """Given 600 participants (the snapshot holds them in two buckets) and trader-2 last with 50 (rank 601), then
    a trade that lifts trader-2 to the top (10050) which the stream has not delivered yet."""
    from arena.store import leaderboard

    event_id = arena.new_event()["id"]
    _seed_crowd(event_id, CROWD_SIZE)
    arena.joined(event_id, SAMPLE_USER)
    assert arena.ingest([trade("M-small", SAMPLE_USER, "2026-12-01T09:00:00Z", price="50")]).body["accepted"] == 1
    arena.stream.drain()
    assert len(leaderboard.read_head(event_id).index.buckets) >= 2
    assert my_rank_now(arena, event_id, SAMPLE_USER).body["rank"] == CROWD_SIZE + 1
    assert arena.ingest([trade("M-big", SAMPLE_USER, "2026-12-01T11:00:00Z", price="10000")]).body["accepted"] == 1
    return event_id


def test_disqualify_on_a_two_bucket_board_while_a_trade_is_in_flight(arena: Arena) -> None:
    """Given 600 participants in two snapshot buckets, trader-2 last (601st), and a trade lifting trader-2 to the
    top that the stream has not delivered yet
    When trader-2 is disqualified
    Then trader-2 is off the board at once: 600 entries, none of them trader-2, ranks 1..600."""
    event_id = _big_board_with_a_trade_in_flight(arena)

    assert disqualify(arena, event_id).status == 200

    walked = _walk(arena, event_id)
    assert SAMPLE_USER not in [e["user_id"] for e in walked]
    assert [e["rank"] for e in walked] == list(range(1, CROWD_SIZE + 1))


def test_disqualify_then_reinstate_on_a_two_bucket_board_leaves_one_entry_after_the_stream(arena: Arena) -> None:
    """Given 600 participants in two snapshot buckets, trader-2 last (601st), and a trade lifting trader-2 to the
    top that the stream has not delivered yet
    When trader-2 is disqualified and reinstated, another participant (crowd-0000, last of the crowd) trades, and
    the stream then delivers all of it
    Then the board holds trader-2 exactly once, first with 10050, crowd-0000 with the new trade counted, and 601
    entries ranked 1..601 (the stream's batch was applied, not refused)."""
    event_id = _big_board_with_a_trade_in_flight(arena)
    assert disqualify(arena, event_id).status == 200
    assert reinstate(arena, event_id).status == 200
    assert arena.ingest([trade("M-crowd", "crowd-0000", "2026-12-01T11:30:00Z", price="2000")]).body["accepted"] == 1

    arena.stream.drain()

    walked = _walk(arena, event_id)
    users = [e["user_id"] for e in walked]
    scores = {e["user_id"]: Decimal(e["score"]) for e in walked}
    observed = {
        "trader-2 entries": users.count(SAMPLE_USER),
        "first": (walked[0]["user_id"], Decimal(walked[0]["score"])),
        "crowd-0000": scores.get("crowd-0000"),
        "distinct users": len(set(users)),
        "ranks 1..n": [e["rank"] for e in walked] == list(range(1, len(walked) + 1)),
    }
    assert observed == {
        "trader-2 entries": 1,
        "first": (SAMPLE_USER, Decimal(10050)),
        "crowd-0000": Decimal(2100),
        "distinct users": CROWD_SIZE + 1,
        "ranks 1..n": True,
    }
    assert len(walked) == CROWD_SIZE + 1


def _walk(arena: Arena, event_id: str) -> list[dict[str, Any]]:
    """The whole board as a new request of an admin sees it now, 100 entries a page, following next_cursor."""
    _cold_cache()
    walked: list[dict[str, Any]] = []
    cursor = None
    for _ in range(CROWD_SIZE // 100 + 2):
        query = {"limit": "100", **({"cursor": cursor} if cursor else {})}
        page = arena.call(
            "leaderboard/get_leaderboard",
            api_event("leaderboard/get_leaderboard.json", path={"eventId": event_id}, query=query, claims=ADMIN),
        )
        assert page.status == 200, page
        walked.extend(page.body["entries"])
        cursor = page.body["next_cursor"]
        if cursor is None:
            return walked
    raise AssertionError("the walk did not end")


# ------------------------------------------------------------------------------------------- the event's trail


def participants_audit(
    arena: Arena, event_id: str, claims: dict[str, Any] | None = None, query: dict[str, str] | None = None
) -> Reply:
    """events/participants/get_participants_audit.json (served by the disqualify function) for this event."""
    return arena.call(
        "participants/disqualify_participant",
        api_event(
            "participants/get_participants_audit.json",
            path={"eventId": event_id},
            claims=claims,
            query=query or {"limit": "20"},
        ),
    )


def test_the_events_trail_lists_every_moderation_newest_first_and_pages_by_cursor(arena: Arena) -> None:
    """Given a ranked event where admin-1 disqualifies trader-2 at 12:00, reinstates them at 12:10 and disqualifies
    cid at 12:20 (and repeats one: no new record)
    When the sample audit request reads the event's trail, a page of 2 then the rest by its cursor
    Then the three changes, newest first, each with actor, action, whom, reason and time; the pages neither repeat
    nor skip one and the last says there is no more; a cursor of another event's trail is 400 invalid_cursor."""
    event_id = _ranked_event(arena)
    disqualify(arena, event_id)
    arena.clock.set(NOON + timedelta(minutes=10))
    reinstate(arena, event_id)
    reinstate(arena, event_id)  # a repeat: changes nothing, audits nothing
    arena.clock.set(NOON + timedelta(minutes=20))
    disqualify(arena, event_id, user_id="cid", body={"reason": "Spoofing <b>orders</b>"})

    whole = participants_audit(arena, event_id)
    first = participants_audit(arena, event_id, query={"limit": "2"})
    rest = participants_audit(arena, event_id, query={"limit": "2", "cursor": first.body["next_cursor"]})

    assert whole.status == 200, whole.body
    assert [{k: e[k] for k in ("actor", "action", "user_id", "reason", "at")} for e in whole.body["items"]] == [
        {"actor": "admin-1", "action": "disqualify", "user_id": "cid", "reason": "Spoofing <b>orders</b>",
         "at": "2026-12-01T12:20:00.000Z"},
        {"actor": "admin-1", "action": "reinstate", "user_id": SAMPLE_USER, "reason": REINSTATE_REASON,
         "at": "2026-12-01T12:10:00.000Z"},
        {"actor": "admin-1", "action": "disqualify", "user_id": SAMPLE_USER, "reason": DISQUALIFY_REASON,
         "at": "2026-12-01T12:00:00.000Z"},
    ]  # fmt: skip
    assert whole.body["next_cursor"] is None
    assert first.body["items"] + rest.body["items"] == whole.body["items"]
    assert rest.body["next_cursor"] is None
    other = _ranked_event(arena)
    foreign = participants_audit(arena, other, query={"limit": "2", "cursor": first.body["next_cursor"]})
    assert (foreign.status, foreign.code) == (400, "invalid_cursor")


@pytest.mark.parametrize(
    ("claims", "code"),
    [(manager_claims("mgr-b"), "not_event_manager"), (user_claims("ann"), "forbidden_role")],
    ids=["manager-of-another-event", "plain-user"],
)
def test_the_events_trail_is_for_its_moderators_only(arena: Arena, claims: dict[str, Any], code: str) -> None:
    """Given an event managed by mgr-a where mgr-a disqualified trader-2
    When mgr-a, mgr-b (who manages another event) or a plain user reads the event's trail
    Then mgr-a reads the record naming mgr-a; the others get 403 (not_event_manager / forbidden_role)."""
    event_id = _ranked_event(arena, manager_claims("mgr-a"))
    arena.new_event(manager_claims("mgr-b"))
    assert disqualify(arena, event_id, claims=manager_claims("mgr-a")).status == 200

    mine = participants_audit(arena, event_id, claims=manager_claims("mgr-a"))
    refused = participants_audit(arena, event_id, claims=claims)

    assert [(e["actor"], e["user_id"]) for e in mine.body["items"]] == [("mgr-a", SAMPLE_USER)]
    assert (refused.status, refused.code) == (403, code)
