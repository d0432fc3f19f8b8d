"""Leaderboard snapshots: the refresher (participants stream -> snapshot), conditional and cursor-paged reads,
qualification, snapshot lag, the in-Lambda cache and the DynamoDB requests a read costs. On moto.

Reads here call the get_leaderboard / get_my_rank handlers directly (arena.call), so the stream reaches the
snapshot only where a test drains it. "Cold" means the in-Lambda cache is empty (a new container).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import StreamPump, api_event, sample_event
from tests.integration.conftest import Arena, Reply, board_rows, trade, trader_of, user_claims

SAMPLE_EVENT_ID = "01jbsampleevent0000000000"  # the event the refresher sample's record belongs to
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)

# Traders have public handles here (the rows name them by handle for a trader's view).
pytestmark = pytest.mark.usefixtures("named")


# ------------------------------------------------------------------------------------------- helpers


def cold() -> None:
    """A new container: the leaderboard's cache and the public names' cache empty."""
    from arena.services import leaderboard, trader_names

    leaderboard.cache.clear()
    trader_names.cache.clear()


def get_board(
    arena: Arena, event_id: str, query: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> Reply:
    """GET /leaderboard (the sample request) for this event; no stream drain, the cache as it is."""
    event = api_event("leaderboard/get_leaderboard.json", path={"eventId": event_id}, query=query)
    event["headers"].update(headers or {})
    return arena.call("leaderboard/get_leaderboard", event)


def get_me(arena: Arena, event_id: str, user_id: str, around: int = 1) -> Reply:
    """GET /leaderboard/me (the sample request) as this user; no stream drain, the cache as it is."""
    return arena.my_rank_now(event_id, user_id, around)


rows = board_rows


def head(event_id: str) -> Any:
    from arena.store import leaderboard

    return leaderboard.read_head(event_id)


def snapshot_entries(event_id: str) -> list[Any]:
    """Every entry of the current snapshot, best first, read from the leaderboard table."""
    from arena.store import leaderboard

    index = head(event_id).index
    buckets = leaderboard.read_buckets(event_id, {ref.bucket_id for ref in index.buckets})
    return [entry for ref in index.buckets for entry in buckets[ref.bucket_id]]


def _board(arena: Arena, volumes: dict[str, str], event_id: str | None = None) -> str:
    """Given an event by volume (the sample, unless given) where each trader joined and traded once at 09:00
    (quantity 1 at the given price), drained to the snapshot."""
    event_id = event_id or arena.new_event()["id"]
    for user in volumes:
        arena.joined(event_id, user)
    trades = [trade(f"T-{u}", u, "2026-12-01T09:00:00Z", price=v) for u, v in volumes.items()]
    assert arena.ingest(trades).body["accepted"] == len(trades)
    arena.stream.drain()
    return event_id


@contextmanager
def dynamodb_requests() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every request the product's DynamoDB client makes inside the block: (operation, parameters), but the rate
    limiter's one UpdateItem per HTTP request (its cost is counted in tests/integration/test_rate_limiting.py)."""
    from arena.config import settings
    from arena.store import dynamo

    client = dynamo.client()
    asked: list[dict[str, Any]] = []
    made: list[tuple[str, dict[str, Any]]] = []

    def before(params: dict[str, Any], **_: Any) -> None:
        asked.append(copy.deepcopy(params))

    def after(model: Any, **_: Any) -> None:
        params = asked[-1] if asked else {}
        if params.get("TableName") != settings().rate_limits.table:
            made.append((model.name, params))

    client.meta.events.register("provide-client-params.dynamodb.*", before)
    client.meta.events.register("after-call.dynamodb.*", after)
    try:
        yield made
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", before)
        client.meta.events.unregister("after-call.dynamodb.*", after)


def head_reads(requests: list[tuple[str, dict[str, Any]]]) -> int:
    """Requests that read a leaderboard HEAD item (BatchGetItem or GetItem)."""
    count = 0
    for _, params in requests:
        keys = [k for v in params.get("RequestItems", {}).values() for k in v.get("Keys", [])]
        keys += [params["Key"]] if "Key" in params else []
        count += any(k.get("item", {}).get("S") == "HEAD" for k in keys)
    return count


# ------------------------------------------------------------------------------------------- (a) the sample


def test_sample_refresh_builds_the_snapshot_and_a_repeat_changes_nothing(
    tables: dict[str, str], frozen_clock: Any, lambda_context: Any, load_handler: Callable[..., ModuleType]
) -> None:
    """Given an empty leaderboard table
    When the refresher gets events/leaderboard/refresh_leaderboard.json (trader-1 from 24000.125 to 48125.125,
    version 3), then the same event again, then an older copy of the record (version 2)
    Then the first builds generation 1 holding trader-1 exactly as the NewImage says (key, score, 2 trades,
    not qualified, version 3) with no failures reported; the repeat and the older copy change nothing: same
    generation, same time, same entries."""
    refresh = load_handler("leaderboard", "refresh_leaderboard")

    first = refresh.lambda_handler(sample_event("leaderboard/refresh_leaderboard.json"), lambda_context)

    assert first == {"batchItemFailures": []}
    built = head(SAMPLE_EVENT_ID)
    assert (built.index.generation, built.index.total, built.updated_at) == (1, 1, NOON)
    new_image = sample_event("leaderboard/refresh_leaderboard.json")["Records"][0]["dynamodb"]["NewImage"]
    (entry,) = snapshot_entries(SAMPLE_EVENT_ID)
    assert (entry.user_id, entry.key, entry.score, entry.trade_count, entry.qualified, entry.version) == (
        "trader-1",
        new_image["board_key"]["S"],
        Decimal("48125.125"),
        2,
        False,
        3,
    )

    frozen_clock.set(datetime(2026, 12, 1, 12, 5, tzinfo=UTC))
    again = refresh.lambda_handler(sample_event("leaderboard/refresh_leaderboard.json"), lambda_context)
    older = sample_event("leaderboard/refresh_leaderboard.json")
    record = older["Records"][0]["dynamodb"]
    record["NewImage"], record["SequenceNumber"] = record["OldImage"], "111100000000000000000002"
    del record["OldImage"]
    stale = refresh.lambda_handler(older, lambda_context)

    assert again == stale == {"batchItemFailures": []}
    after = head(SAMPLE_EVENT_ID)
    assert (after.index, after.updated_at) == (built.index, NOON)
    assert snapshot_entries(SAMPLE_EVENT_ID) == [entry]


# ------------------------------------------------------------------------------------------- (b) redelivery


def test_redelivered_stream_batches_change_nothing(
    arena: Arena, tables: dict[str, str], lambda_context: Any, load_handler: Callable[..., ModuleType]
) -> None:
    """Given a board of 8 traders built by two trade posts (the second moves some of them), and the stream's
    batches as the refresher received them (recorded)
    When every batch is delivered again, in order
    Then no failures are reported and nothing changes: the same generation, the same page, the same ranks."""
    refresh = load_handler("leaderboard", "refresh_leaderboard")
    delivered: list[dict[str, Any]] = []

    def recording(event: dict[str, Any], context: Any) -> Any:
        delivered.append(copy.deepcopy(event))
        return refresh.lambda_handler(event, context)

    stream = StreamPump(tables["ParticipantsTable"], recording, lambda_context)
    event_id = arena.new_event()["id"]
    users = [f"r{i}" for i in range(8)]
    for user in users:
        arena.joined(event_id, user)
    first = [trade(f"R1-{u}", u, "2026-12-01T09:00:00Z", price=str(10 * (i + 1))) for i, u in enumerate(users)]
    assert arena.ingest(first).body["accepted"] == 8
    stream.drain()
    assert arena.ingest([trade(f"R2-{u}", u, "2026-12-01T10:00:00Z", price="45") for u in users[:4]]).status == 200
    stream.drain()
    assert len(delivered) >= 2  # one batch per drain: the first post's records, then the second's
    cold()
    before, generation = rows(get_board(arena, event_id)), head(event_id).index.generation

    for event in delivered:
        assert refresh.lambda_handler(copy.deepcopy(event), lambda_context) == {"batchItemFailures": []}
    everything = {"Records": [r for event in delivered for r in event["Records"]]}
    assert refresh.lambda_handler(everything, lambda_context) == {"batchItemFailures": []}

    cold()
    assert head(event_id).index.generation == generation
    assert rows(get_board(arena, event_id)) == before
    assert [user for _, user, _ in before] == ["r3", "r7", "r2", "r6", "r1", "r5", "r0", "r4"]
    assert get_me(arena, event_id, "r7").body["rank"] == 2


# ------------------------------------------------------------------------------------------- (c) ETag


def test_etag_answers_304_until_the_snapshot_changes(arena: Arena) -> None:
    """Given a drained board of 3 traders
    When the sample leaderboard request is sent, then again with If-None-Match = its ETag
    Then 200 with an ETag and Cache-Control, then 304 with the same ETag and no body.
    When a trade reorders the board and the stream delivers it, and the old ETag is sent again
    Then 200 with the new order and a different ETag; that new ETag in turn gets 304."""
    event_id = _board(arena, {"ann": "300", "ben": "200", "cid": "100"})
    cold()

    first = get_board(arena, event_id)

    assert first.status == 200
    etag = first.raw["headers"]["ETag"]
    assert etag.startswith('W/"') and etag.endswith('"')
    assert first.raw["headers"]["Cache-Control"] == "private, max-age=1"

    again = get_board(arena, event_id, headers={"if-none-match": etag})

    assert again.status == 304
    assert not again.raw.get("body")
    assert again.raw["headers"]["ETag"] == etag

    assert arena.ingest([trade("E-1", "cid", "2026-12-01T11:00:00Z", price="500")]).body["accepted"] == 1
    arena.stream.drain()
    cold()

    changed = get_board(arena, event_id, headers={"if-none-match": etag})

    assert changed.status == 200
    assert [user for _, user, _ in rows(changed)] == ["cid", "ann", "ben"]
    new_etag = changed.raw["headers"]["ETag"]
    assert new_etag != etag
    assert get_board(arena, event_id, headers={"if-none-match": new_etag}).status == 304


# ------------------------------------------------------------------------------------------- (d) cursors


def test_a_cursor_keeps_paging_the_generation_it_started_on(arena: Arena) -> None:
    """Given 12 traders with volumes 1200, 1100, .. 100 (t01 first), drained
    When page 1 (limit 5) is read; then t12 (last) trades to the top, t01 trades a little more and a newcomer
    reaches the board, and the stream delivers it all; then next_cursor is followed to the end
    Then the walk is the old board exactly: 12 entries, each once, ranks 1..12, the old scores, total 12 on
    every page; while a fresh first page shows the new order (t12 first) and 13 entries."""
    volumes = {f"t{i:02d}": str(100 * (13 - i)) for i in range(1, 13)}
    event_id = _board(arena, volumes)
    arena.joined(event_id, "newcomer")
    old_board = [(i, f"t{i:02d}", Decimal(100 * (13 - i))) for i in range(1, 13)]
    cold()

    first = get_board(arena, event_id, {"limit": "5"})
    walked = rows(first)
    cursor = first.body["next_cursor"]
    assert walked == old_board[:5] and cursor

    posted = arena.ingest(
        [
            trade("D-up", "t12", "2026-12-01T11:00:00Z", price="5000"),
            trade("D-new", "newcomer", "2026-12-01T11:00:00Z", price="650"),
            trade("D-t01", "t01", "2026-12-01T11:00:00Z", price="1"),
        ]
    )
    assert posted.body["accepted"] == 3
    arena.stream.drain()
    cold()

    totals = [first.body["total"]]
    for _ in range(5):
        page = get_board(arena, event_id, {"limit": "5", "cursor": cursor})
        walked += rows(page)
        totals.append(page.body["total"])
        cursor = page.body["next_cursor"]
        if cursor is None:
            break

    assert cursor is None
    assert walked == old_board
    assert totals == [12, 12, 12]
    fresh = get_board(arena, event_id, {"limit": "5"})
    assert rows(fresh) == [
        (1, "t12", Decimal(5100)),
        (2, "t01", Decimal(1201)),
        (3, "t02", Decimal(1100)),
        (4, "t03", Decimal(1000)),
        (5, "t04", Decimal(900)),
    ]
    assert fresh.body["total"] == 13


def test_a_page_of_an_older_generation_is_dated_by_that_generation(arena: Arena) -> None:
    """Given a drained board whose first page (limit 2, 12:00) was read, then a trade at 12:30 delivered by the
    stream (a new snapshot)
    When the old page's cursor is followed
    Then that page (of the 12:00 snapshot: old entries, old total) says updated_at 12:00, like the page it
    continues, not the time of the newer snapshot it does not show."""
    event_id = _board(arena, {"ann": "300", "ben": "200", "cid": "100"})
    cold()
    first = get_board(arena, event_id, {"limit": "2"})
    assert first.body["updated_at"] == "2026-12-01T12:00:00.000Z"

    arena.clock.set(datetime(2026, 12, 1, 12, 30, tzinfo=UTC))
    assert arena.ingest([trade("G-1", "cid", "2026-12-01T12:29:00Z", price="500")]).body["accepted"] == 1
    arena.stream.drain()
    cold()

    second = get_board(arena, event_id, {"limit": "2", "cursor": first.body["next_cursor"]})

    assert rows(second) == [(3, "cid", Decimal(100))]
    assert second.body["updated_at"] == "2026-12-01T12:00:00.000Z"


# ------------------------------------------------------------------------------------------- (e) qualification

QUALIFICATION = {"min_volume": "1000", "min_trades": 5}


def _trades(user: str, prices: list[str]) -> list[dict[str, Any]]:
    return [trade(f"Q-{user}-{i}", user, f"2026-12-01T09:{i:02d}:00Z", price=p) for i, p in enumerate(prices)]


def test_qualification_sets_qualified_and_prize_rank(arena: Arena) -> None:
    """Given an event asking for 1000 volume and 5 trades, and six traders:
    whale 5000 in 1 trade (not qualified: trades), q-big 2000 in 5, q-mid 1200 in 6, short 1100 in 4 (not: trades),
    q-edge exactly 1000 in 5, low 10.25 in 1 (not: both)
    When the board and each trader's /leaderboard/me are read
    Then ranks follow volume; prize_rank counts only the qualified (whale null, q-big 1, q-mid 2, short null,
    q-edge 3, low null); /me agrees and names what is missing as decimal strings.
    When short makes a 5th trade and the stream delivers it
    Then short qualifies with prize_rank 3 and q-edge moves to 4."""
    event_id = arena.new_event(qualification=QUALIFICATION)["id"]
    plan = {
        "whale": ["5000"],
        "q-big": ["400"] * 5,
        "q-mid": ["200"] * 6,
        "short": ["275"] * 4,
        "q-edge": ["100", "200", "300", "150", "250"],
        "low": ["10.25"],
    }
    for user in plan:
        arena.joined(event_id, user)
    assert arena.ingest([t for user, prices in plan.items() for t in _trades(user, prices)]).status == 200
    arena.stream.drain()
    cold()

    page = get_board(arena, event_id)

    assert [
        (e["rank"], trader_of(e), e["qualified"], e["prize_rank"], e["trade_count"]) for e in page.body["entries"]
    ] == [
        (1, "whale", False, None, 1),
        (2, "q-big", True, 1, 5),
        (3, "q-mid", True, 2, 6),
        (4, "short", False, None, 4),
        (5, "q-edge", True, 3, 5),
        (6, "low", False, None, 1),
    ]
    missing = {
        "whale": {"trades": "4"},
        "q-big": {},
        "q-mid": {},
        "short": {"trades": "1"},
        "q-edge": {},
        "low": {"volume": "989.75", "trades": "4"},
    }
    for entry in page.body["entries"]:
        me = get_me(arena, event_id, trader_of(entry)).body
        assert (me["rank"], me["prize_rank"], me["qualified"]) == (
            entry["rank"],
            entry["prize_rank"],
            entry["qualified"],
        ), trader_of(entry)
        assert me["missing"] == missing[trader_of(entry)], trader_of(entry)
    neighbours = get_me(arena, event_id, "short").body
    assert [(trader_of(e), e["prize_rank"]) for e in neighbours["above"] + neighbours["below"]] == [
        ("q-mid", 2),
        ("q-edge", 3),
    ]

    assert arena.ingest([trade("Q-short-5", "short", "2026-12-01T10:00:00Z", price="1")]).body["accepted"] == 1
    arena.stream.drain()
    cold()

    after = {
        trader_of(e): (e["rank"], e["qualified"], e["prize_rank"]) for e in get_board(arena, event_id).body["entries"]
    }
    assert (after["short"], after["q-edge"], after["low"]) == ((4, True, 3), (5, True, 4), (6, False, None))
    me = get_me(arena, event_id, "short").body
    assert (me["qualified"], me["missing"], me["prize_rank"]) == (True, {}, 3)


# ------------------------------------------------------------------------------------------- (f) lag


def test_the_snapshot_shows_a_trade_only_after_the_stream_delivers_it(arena: Arena) -> None:
    """Given a drained board ann 300, ben 200
    When ben trades 500 more, and the board is read by a new container before the stream delivers it
    Then the old scores and order (the snapshot lags the participant), while /participants/me is already live;
    after the stream delivers it, a new read shows ben first with 700."""
    event_id = _board(arena, {"ann": "300", "ben": "200"})
    assert arena.ingest([trade("L-1", "ben", "2026-12-01T11:00:00Z", price="500")]).body["accepted"] == 1
    cold()

    assert rows(get_board(arena, event_id)) == [(1, "ann", Decimal(300)), (2, "ben", Decimal(200))]
    assert arena.me(event_id, user_claims("ben")).body["volume"] == "700"

    arena.stream.drain()
    cold()

    assert rows(get_board(arena, event_id)) == [(1, "ben", Decimal(700)), (2, "ann", Decimal(300))]


# ------------------------------------------------------------------------------------------- (g) cache


def test_reads_within_the_cache_time_share_one_head_read(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a drained board, leaderboard_cache_seconds = 30 and a cold cache
    When the board is read twice in a row
    Then the head is read from DynamoDB once (the second read makes no request at all: the traders' public names
    are cached too), the cache counts hits, and both reads answer the same."""
    from arena.config import settings
    from arena.services import leaderboard

    monkeypatch.setenv("LEADERBOARD_CACHE_SECONDS", "30")
    settings.cache_clear()
    event_id = _board(arena, {"ann": "300", "ben": "200"})
    cold()

    with dynamodb_requests() as requests:
        first = get_board(arena, event_id)
        after_first = len(requests)
        hits = leaderboard.cache.hits
        second = get_board(arena, event_id)

    assert first.body == second.body
    assert (head_reads(requests), after_first, len(requests)) == (1, 3, 3)
    assert leaderboard.cache.hits > hits


# ------------------------------------------------------------------------------------------- (h) cost


def test_requests_per_read(arena: Arena, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given a drained board of 6 traders
    When read cold: the top page; /leaderboard/me with around=3
    Then 3 requests each: one BatchGetItem for the event and the head (and, for "me", the participant and its
    locator), one for the buckets, one for the public names' profiles (cold: a new container).
    When read warm: the top page again (cache time 30 s), and with a cache time of 0 (the head re-read)
    Then no request, then exactly 1 (buckets are immutable and stay cached, names for 30 s)."""
    from arena.config import settings

    monkeypatch.setenv("LEADERBOARD_CACHE_SECONDS", "30")
    settings.cache_clear()
    event_id = _board(arena, {f"c{i}": str(100 * (i + 1)) for i in range(6)})

    cold()
    with dynamodb_requests() as top:
        assert get_board(arena, event_id).status == 200
    cold()
    with dynamodb_requests() as mine:
        me = get_me(arena, event_id, "c2", around=3)
    with dynamodb_requests() as warm:
        assert get_board(arena, event_id).status == 200
    monkeypatch.setenv("LEADERBOARD_CACHE_SECONDS", "0")
    settings.cache_clear()
    cold()
    get_board(arena, event_id)  # caches the buckets; the head and the event now expire at once
    with dynamodb_requests() as no_ttl:
        assert get_board(arena, event_id).status == 200

    assert [name for name, _ in top] == ["BatchGetItem", "BatchGetItem", "BatchGetItem"]
    assert [name for name, _ in mine] == ["BatchGetItem", "BatchGetItem", "BatchGetItem"]
    assert [list(spec["RequestItems"]) for _, spec in (top[2], mine[2])] == [[os.environ["COMMUNITY_TABLE"]]] * 2
    assert (me.body["rank"], len(me.body["above"]), len(me.body["below"])) == (4, 3, 2)
    first_tables = {table: len(spec["Keys"]) for table, spec in mine[0][1]["RequestItems"].items()}
    assert sorted(first_tables.values()) == [1, 1, 2]  # the event; the participant; the head and the locator
    assert warm == []
    assert [name for name, _ in no_ttl] == ["BatchGetItem"]
    assert head_reads(no_ttl) == 1


# ------------------------------------------------------------------------------------------- (i) locator


def test_my_rank_is_the_snapshots_while_my_latest_trade_is_in_flight(arena: Arena) -> None:
    """Given a drained board of 6 (v1..v6 by volume 600..100) and a newcomer who joined
    When v4 (4th, 300) trades 1000 more and the newcomer makes a first trade, neither delivered by the stream yet,
    and both ask for their rank (a new container)
    Then v4 is still ranked 4th as on the board page, with the page's neighbours (the snapshot holds v4 by its
    locator, not by v4's newest key), and v4's live score; the newcomer is not ranked yet.
    After the stream delivers both: v4 first, the newcomer ranked too, and page and /me agree again."""
    event_id = _board(arena, {f"v{i}": str(100 * (7 - i)) for i in range(1, 7)})
    arena.joined(event_id, "newcomer")
    posted = arena.ingest(
        [
            trade("I-v4", "v4", "2026-12-01T11:00:00Z", price="1000"),
            trade("I-new", "newcomer", "2026-12-01T11:00:00Z", price="250"),
        ]
    )
    assert posted.body["accepted"] == 2
    cold()

    page = rows(get_board(arena, event_id))
    me = get_me(arena, event_id, "v4").body
    newcomer = get_me(arena, event_id, "newcomer").body

    assert page[3] == (4, "v4", Decimal(300))
    assert (me["ranked"], me["rank"], Decimal(me["score"])) == (True, 4, Decimal(1300))
    assert [(e["rank"], trader_of(e), Decimal(e["score"])) for e in me["above"] + me["below"]] == [page[2], page[4]]
    assert (newcomer["ranked"], newcomer["rank"]) == (False, None)

    arena.stream.drain()
    cold()

    page = rows(get_board(arena, event_id))
    assert page[0] == (1, "v4", Decimal(1300))
    assert get_me(arena, event_id, "v4").body["rank"] == 1
    assert page[4] == (5, "newcomer", Decimal(250))
    assert get_me(arena, event_id, "newcomer").body["rank"] == 5
