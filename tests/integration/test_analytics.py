"""Event analytics on moto (functions/analytics/analytics_api.py): trades go in through ingest, the rollups follow
the trades stream, the lifecycle completes the event and freezes its analytics snapshot once; every route is
called from its sample in events/analytics/ as each kind of caller.

The traded event (11:00 to 13:00 on 1 December, BTC-USDT and ETH-USDT, price 100, fee 0.1% of the volume):
ann trades 200 at 11:10 and 200 at 12:40 (and 700 on 28 November, before the event), bob 300 at 11:15, cid 200
and dan 100 at noon; eve, who never joins, trades 100 of BTC-USDT at noon; idle joins and never trades.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import StreamPump, api_event, sample_event
from tests.integration.conftest import Arena, Reply, manager_claims, trade, user_claims
from tests.integration.test_realtime import Realtime, realtime  # noqa: F401 - the fixture, for the live push

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
START, END = NOON - timedelta(hours=1), NOON + timedelta(hours=1)
GRACE = timedelta(seconds=300)  # config default ingest_grace_seconds
OPEN = {"qualification": {"min_volume": "0", "min_trades": 0}, "eligibility": {"min_kyc_level": 0}}
PRICES = {"prices": [{"type": "points", "price": "0.01"}, {"type": "token", "token": "USDT", "price": "1"}]}
MIA = manager_claims("mia")  # manages the events she creates
OMAR = manager_claims("omar")  # manages none of them


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def call(arena: Arena, name: str, claims: dict[str, Any] | None = None, **parts: Any) -> Reply:
    """One analytics route from its sample (the admin of the sample unless `claims`)."""
    event = api_event(
        f"analytics/{name}.json",
        path=parts.get("path"),
        body=parts.get("body"),
        query=parts.get("query"),
        claims=claims,
    )
    return arena.call("analytics/analytics_api", event)


def performance(arena: Arena, event_id: str, claims: dict[str, Any] | None = None, **query: str) -> Reply:
    return call(arena, "get_performance", claims, path={"eventId": event_id}, query=query or {"resolution": "hour"})


def set_prices(arena: Arena, version: int = 0) -> Reply:
    return call(arena, "put_prices", body={**PRICES, "version": version, "reason": "Season prices"})


class Rollups:
    """The rollup consumer fed by the trades stream and the participants stream (joins), as Lambda would."""

    def __init__(self, tables: dict[str, str], handler: Any, context: Any) -> None:
        self.pumps = [StreamPump(tables[name], handler, context) for name in ("TradesTable", "ParticipantsTable")]

    def drain(self) -> None:
        """Deliver everything pending. Standing in for the time that passes, it lets the consumer's short-lived
        cache of live events expire first (an event created a moment ago is in it then)."""
        from arena.services import rollups

        rollups.clear_cache()
        for pump in self.pumps:
            pump.drain()


@pytest.fixture
def rollups(
    tables: dict[str, str], archive_names: dict[str, str], lambda_context: Any, load_handler: Callable[..., ModuleType]
) -> Rollups:
    return Rollups(tables, load_handler("analytics", "rollup_trades").lambda_handler, lambda_context)


def sweep(arena: Arena) -> dict[str, Any]:
    handler = arena._load("lifecycle", "check_event_status_transitions").lambda_handler
    return handler(sample_event("lifecycle/check_event_status_transitions.json"), arena.context)


def traded_event(arena: Arena, rollups: Rollups, claims: dict[str, Any] | None = None, name: str = "Cup") -> str:
    event_id = arena.new_event(claims, name=name, start_at=iso(START), end_at=iso(END), **OPEN)["id"]
    for user in ("ann", "bob", "cid", "dan", "idle"):
        arena.joined(event_id, user)
    trades = [
        trade(f"{event_id}-a0", "ann", "2026-11-28T09:00:00Z", quantity="7", fee="0.7"),
        trade(f"{event_id}-a1", "ann", "2026-12-01T11:10:00Z", quantity="2", fee="0.2"),
        trade(f"{event_id}-a2", "ann", "2026-12-01T12:40:00Z", quantity="2", fee="0.2", side="sell"),
        trade(f"{event_id}-b1", "bob", "2026-12-01T11:15:00Z", quantity="3", fee="0.3", market="ETH-USDT"),
        trade(f"{event_id}-c1", "cid", "2026-12-01T12:00:00Z", quantity="2", fee="0.2"),
        trade(f"{event_id}-d1", "dan", "2026-12-01T12:00:00Z", quantity="1", fee="0.1"),
        trade(f"{event_id}-e1", "eve", "2026-12-01T12:00:00Z", quantity="1", fee="0.1"),
    ]
    arena.clock.set(datetime(2026, 12, 1, 12, 45, tzinfo=UTC))
    assert arena.ingest(trades).status == 200
    arena.stream.drain()
    rollups.drain()
    return event_id


def complete(arena: Arena, rollups: Rollups) -> None:
    """The clock past the end and the grace period, the streams delivered, the minute sweep run."""
    arena.clock.set(END + GRACE)
    arena.stream.drain()
    rollups.drain()
    sweep(arena)


def snapshot_item(event_id: str) -> dict[str, Any] | None:
    import boto3
    from arena.config import settings

    answer = boto3.client("dynamodb").get_item(
        TableName=settings().analytics_table,
        Key={"scope": {"S": f"SNAPSHOT#{event_id}"}, "bucket": {"S": "final"}},
        ConsistentRead=True,
    )
    return answer.get("Item")


# ------------------------------------------------------------------------------------------------ price table


def test_an_admin_sets_the_price_table_and_a_stale_version_is_refused(arena: Arena) -> None:
    """Given no price table yet
    When the admin sets one from the sample
    Then it is stored at version 1, audited, and read back"""
    assert call(arena, "get_prices").body == {"prices": [], "version": 0, "updated_by": None, "updated_at": None}
    # When
    first = call(arena, "put_prices")
    # Then
    assert first.status == 200, first
    assert first.body["prices"] == [
        {"currency": "points", "price": "0.01"},
        {"currency": "token:USDT", "price": "1"},
    ]
    assert first.body["version"] == 1
    assert call(arena, "get_prices").body == first.body
    from arena.store import audit

    (entry,) = audit.history("ANALYTICS#PRICES")
    assert (entry["actor"], entry["reason"], entry["version"]) == ("admin-1", "Prices for the winter season", 1)
    # And a second write from the version read before is refused
    stale = call(arena, "put_prices")
    assert (stale.status, stale.code) == (409, "version_conflict")
    assert set_prices(arena, version=1).body["version"] == 2


@pytest.mark.parametrize(
    ("prices", "field"),
    [
        ([{"type": "points", "price": 0.01}], "price"),  # a JSON number
        ([{"type": "points", "price": "-1"}], "price"),
        ([{"type": "points", "price": "1"}, {"type": "points", "price": "2"}], "appears twice"),
        ([{"type": "token", "price": "1"}], "name a token"),  # a token price without its token
        ([{"type": "custom", "description": "Trip\u202e", "price": "1"}], "description"),
    ],
)
def test_a_price_table_that_says_nothing_clear_is_422(arena: Arena, prices: list[Any], field: str) -> None:
    """Given a price table with a numeric price, a negative one, a type twice or a token price without its token
    When an admin sets it
    Then it is refused with 422 naming the field or the rule broken, and the table is unchanged."""
    # Given / When
    reply = call(arena, "put_prices", body={"prices": prices, "version": 0, "reason": "Season prices"})
    # Then
    assert reply.status == 422, reply
    assert field in json.dumps(reply.body["error"]["details"])
    assert call(arena, "get_prices").body["version"] == 0


def test_only_admins_read_or_set_prices(arena: Arena) -> None:
    """Given an event manager
    When they read or set the price table
    Then both are 403."""
    # Given / When / Then
    assert call(arena, "get_prices", MIA).status == 403
    assert call(arena, "put_prices", MIA).status == 403


# ------------------------------------------------------------------------------------------------ performance


def test_a_running_events_performance_is_live_with_projected_prizes(arena: Arena, rollups: Rollups) -> None:
    """Given a running event with trades, and prices set
    When the admin asks for its performance
    Then every metric is computed now"""
    event_id = traded_event(arena, rollups)
    assert set_prices(arena).status == 200
    # When
    reply = performance(arena, event_id)
    # Then
    assert reply.status == 200, reply
    body = reply.body
    m = body["source"], body["metrics"]
    assert m[0] == "live"
    metrics = m[1]
    assert metrics["totals"]["volume"] == "1000"
    assert metrics["totals"]["trades"] == 5
    assert metrics["totals"]["fees"] == "1"
    assert metrics["totals"]["sell_volume"] == "200"
    assert (metrics["participants"], metrics["traders"], metrics["market_traders"]) == (5, 4, 5)
    assert metrics["participation_rate"] == "0.8"
    assert metrics["top_pairs"][0] == {
        "key": "BTC-USDT",
        "volume": "700",
        "trades": 4,
        "fees": "0.7",
        "share": "0.7",
    }
    assert [(h["key"], h["volume"]) for h in metrics["hour_of_day"] if h["volume"] != "0"] == [
        ("11", "500"),
        ("12", "500"),
    ]
    assert metrics["prize_cost"]["projected"] is True
    assert metrics["prize_cost"]["amounts"] == {"token:USDT": "8000", "points": "25000"}
    assert metrics["prize_cost"]["cost"] == "8250"
    # And the series has one point per hour of the window
    assert [(p["start"], p["volume"]) for p in body["series"]["points"]] == [
        ("2026-12-01T11:00:00.000Z", "500"),
        ("2026-12-01T12:00:00.000Z", "500"),
    ]
    assert body["retention_after"] == []


def test_completion_writes_the_snapshot_once_and_performance_serves_it(arena: Arena, rollups: Rollups) -> None:
    """Given a traded event, prices set, completed by the lifecycle
    When the completion runs again: the sweep, the hourly check, the snapshot service itself
    Then one snapshot, the same bytes"""
    event_id = traded_event(arena, rollups)
    assert set_prices(arena).status == 200
    complete(arena, rollups)
    written = snapshot_item(event_id)
    assert written is not None
    # When
    from arena.services.analytics import snapshot
    from arena.store import events as event_store

    sweep(arena)
    arena._load("lifecycle", "process_completed_events").lambda_handler({}, arena.context)
    event = event_store.get(event_id)
    assert event is not None
    assert snapshot.write_for(event) is False
    # Then
    assert snapshot_item(event_id) == written
    # And performance serves it, with every metric as defined
    reply = performance(arena, event_id)
    assert reply.status == 200, reply
    assert reply.body["source"] == "snapshot"
    metrics = reply.body["metrics"]
    assert metrics == json.loads(written["document"]["S"])
    assert metrics["rollups_consistent"] is True
    assert metrics["retention_during"] == {"active_first_quarter": 2, "retained": 1, "rate": "0.5"}
    assert metrics["lift"] == {
        "event_days": 1,
        "during_daily_volume": "1000",
        "before_daily_volume": "100",
        "lift": "9",
        "incremental_volume": "900",
    }
    assert metrics["new_traders"] == 3  # ann traded in the 30 days before
    assert metrics["prize_cost"] == {
        "amounts": {"token:USDT": "8000", "points": "25000"},
        "values": {"token:USDT": "8000", "points": "250"},
        "cost": "8250",
        "unpriced": [],
        "complete": True,
        "projected": False,
    }
    assert metrics["effectiveness"] == {
        "per_incremental_volume": "9.16666667",
        "per_retained_trader": "8250",
        "per_new_trader": "2750",
    }
    assert metrics["roi"] == {"fee_rate": "0.001", "incremental_fees": "0.9", "roi": "-0.999891"}
    assert [w["user_id"] for w in metrics["winners"]] == ["ann", "bob", "cid", "dan"]
    deciles = metrics["volume_deciles"]
    assert sum(d["traders"] for d in deciles) == 4
    assert deciles[-1] == {
        "decile": 10,
        "traders": 1,
        "min_volume": "400",
        "max_volume": "400",
        "volume": "400",
        "share": "0.4",
    }


def test_a_snapshot_waits_for_lagging_rollups(arena: Arena, rollups: Rollups) -> None:
    """Given a traded event completed while the rollups have not seen its last trade
    Then no snapshot yet, and performance is computed live
    When the rollups catch up and the hourly check runs
    Then the snapshot is written, consistent"""
    event_id = traded_event(arena, rollups)
    arena.clock.set(datetime(2026, 12, 1, 12, 50, tzinfo=UTC))
    assert arena.ingest([trade(f"{event_id}-late", "dan", "2026-12-01T12:50:00Z", quantity="1")]).status == 200
    arena.clock.set(END + GRACE)
    arena.stream.drain()
    sweep(arena)
    # Then
    assert snapshot_item(event_id) is None
    assert performance(arena, event_id).body["source"] == "live"
    # When
    rollups.drain()
    arena._load("lifecycle", "process_completed_events").lambda_handler({}, arena.context)
    # Then
    reply = performance(arena, event_id)
    assert reply.body["source"] == "snapshot"
    assert reply.body["metrics"]["rollups_consistent"] is True
    assert reply.body["metrics"]["totals"]["trades"] == 6


def test_retention_after_the_end_compares_participants_with_the_markets_other_traders(
    arena: Arena, rollups: Rollups
) -> None:
    """Given a completed event; ann trades the next day, eve (never joined) four days after
    When its performance is read
    Then 1 of 4 participants who traded came back within a day, eve within 7 days, and unfinished windows say so."""
    event_id = traded_event(arena, rollups)
    complete(arena, rollups)
    arena.clock.set(datetime(2026, 12, 5, 18, tzinfo=UTC))
    later = [
        trade("after-ann", "ann", "2026-12-02T10:00:00Z"),
        trade("after-eve", "eve", "2026-12-05T10:00:00Z"),
    ]
    assert arena.ingest(later).status == 200
    rollups.drain()
    # When
    reply = performance(arena, event_id)
    # Then: 1 of 4 participants who traded came back within a day; eve within 7 days
    retention = {r["days"]: r for r in reply.body["retention_after"]}
    assert retention[1] == {
        "days": 1,
        "participants": 4,
        "participants_retained": 1,
        "participants_rate": "0.25",
        "non_participants": 1,
        "non_participants_retained": 0,
        "non_participants_rate": "0",
        "complete": True,
    }
    assert (retention[7]["non_participants_rate"], retention[7]["complete"]) == ("1", False)
    assert retention[30]["participants_rate"] == "0.25"


def test_the_series_is_bounded_and_pages_with_a_cursor(arena: Arena, rollups: Rollups) -> None:
    """Given a traded event
    When two days of minutes are asked
    Then a day of minutes comes first, the rest behind the cursor"""
    event_id = traded_event(arena, rollups)
    # When
    query = {"resolution": "minute", "from": "2026-11-30T00:00:00Z", "to": "2026-12-02T00:00:00Z"}
    first = performance(arena, event_id, **query)
    # Then
    assert first.status == 200, first
    assert len(first.body["series"]["points"]) == 1440
    second = performance(arena, event_id, resolution="minute", cursor=first.body["series"]["next_cursor"])
    points = second.body["series"]["points"]
    assert (len(points), second.body["series"]["next_cursor"]) == (1440, None)
    assert points[0]["start"] == "2026-12-01T00:00:00.000Z"
    traded = {p["start"]: p["volume"] for p in points if p["volume"] != "0"}
    assert traded == {
        "2026-12-01T11:10:00.000Z": "200",
        "2026-12-01T11:15:00.000Z": "300",
        "2026-12-01T12:00:00.000Z": "300",
        "2026-12-01T12:40:00.000Z": "200",
    }
    # And a cursor of another resolution, an empty range, a forged cursor are 400
    other = performance(arena, event_id, resolution="hour", cursor=first.body["series"]["next_cursor"])
    assert (other.status, other.code) == (400, "invalid_cursor")
    backwards = performance(arena, event_id, resolution="hour", **{"from": iso(END), "to": iso(START)})
    assert (backwards.status, backwards.code) == (400, "invalid_range")
    forged = performance(arena, event_id, resolution="hour", cursor="eyJlIjoxfQ")
    assert (forged.status, forged.code) == (400, "invalid_cursor")
    bad = performance(arena, event_id, resolution="second")
    assert bad.status == 422
    edge = performance(arena, event_id, resolution="minute", **{"from": "9999-12-31T23:00:00Z"})
    assert (edge.status, edge.code) == (400, "invalid_range")
    ancient = call(arena, "get_volume_analysis", query={"from": "0001-01-01T00:00:00Z", "to": "0001-01-02T00:00:00Z"})
    assert (ancient.status, ancient.code) == (400, "invalid_range")


def test_an_event_nobody_traded_has_zero_figures_and_null_rates(arena: Arena) -> None:
    """Given an event just created, then cancelled
    When its performance is asked, before and after the cancellation
    Then zeros where something is counted, null where a rate has no denominator"""
    event_id = arena.new_event(
        name="Quiet", start_at=iso(NOON + timedelta(days=1)), end_at=iso(END + timedelta(days=2))
    )["id"]
    # When
    before = performance(arena, event_id)
    assert arena.cancel_event(event_id, "No sponsor").status == 200
    after = performance(arena, event_id, resolution="day")
    # Then
    for reply in (before, after):
        assert reply.status == 200, reply
        metrics = reply.body["metrics"]
        assert (metrics["totals"]["volume"], metrics["participants"], metrics["participation_rate"]) == ("0", 0, None)
        assert (metrics["lift"]["lift"], metrics["roi"]["roi"], metrics["winners"]) == (None, None, [])
        assert {p["volume"] for p in reply.body["series"]["points"]} == {"0"}
    assert after.body["metrics"]["status"] == "CANCELLED"


def test_performance_is_for_admins_and_the_events_managers(arena: Arena, rollups: Rollups) -> None:
    """Given mia's event
    When mia, another manager, a user, and an admin asking for an unknown event read performance
    Then mia gets it, the others are 403, and the unknown event is 404."""
    event_id = traded_event(arena, rollups, MIA)
    # When / Then
    assert performance(arena, event_id, MIA).status == 200
    refused = performance(arena, event_id, OMAR)
    assert (refused.status, refused.code) == (403, "not_event_manager")
    assert performance(arena, event_id, user_claims("ann")).status == 403
    missing = performance(arena, "no-such-event")
    assert (missing.status, missing.code) == (404, "event_not_found")


# ------------------------------------------------------------------------------------------------ across events


def test_the_dashboard_shows_live_and_recent_events_to_whoever_manages_them(arena: Arena, rollups: Rollups) -> None:
    """Given mia's completed event and the admin's running one
    When the admin and mia look
    Then the admin sees both, mia her own only"""
    done = traded_event(arena, rollups, MIA, name="Done")
    complete(arena, rollups)
    running = arena.new_event(
        name="Running", start_at=iso(END + timedelta(minutes=30)), end_at=iso(END + timedelta(days=2)), **OPEN
    )["id"]
    arena.clock.set(END + timedelta(hours=1))
    sweep(arena)
    # When
    admin = call(arena, "get_dashboard", query={"days": "7"})
    mine = call(arena, "get_dashboard", MIA, query={"days": "7"})
    # Then
    assert admin.status == 200, admin
    assert [e["event_id"] for e in admin.body["live"]] == [running]
    assert [e["event_id"] for e in admin.body["recent"]] == [done]
    assert admin.body["recent"][0]["volume"] == "1000"
    assert admin.body["recent"][0]["participation_rate"] == "0.8"
    assert admin.body["totals"]["volume"] == "1000"
    assert [p["volume"] for p in admin.body["daily"] if p["volume"] != "0"] == ["1000"]
    assert (mine.body["live"], [e["event_id"] for e in mine.body["recent"]]) == ([], [done])
    assert call(arena, "get_dashboard", OMAR, query={"days": "7"}).body["recent"] == []


def test_the_dashboard_pages_recent_events(arena: Arena, rollups: Rollups) -> None:
    """Given two completed events
    When paged one at a time
    Then each comes once"""
    first = traded_event(arena, rollups, name="One")
    second = traded_event(arena, rollups, name="Two")
    complete(arena, rollups)
    # When
    page = call(arena, "get_dashboard", query={"days": "7", "limit": "1"})
    rest = call(arena, "get_dashboard", query={"days": "7", "limit": "1", "cursor": page.body["next_cursor"]})
    # Then
    seen = [e["event_id"] for e in page.body["recent"] + rest.body["recent"]]
    assert sorted(seen) == sorted([first, second])
    assert rest.body["next_cursor"] is None
    # And a cursor of other days is refused
    other = call(arena, "get_dashboard", query={"days": "8", "limit": "1", "cursor": page.body["next_cursor"]})
    assert (other.status, other.code) == (400, "invalid_cursor")


def test_participation_trends_over_a_bounded_range(arena: Arena, rollups: Rollups) -> None:
    """Given a completed event
    When the participation trends are asked over the default range, over a year, and backwards
    Then the first gives the event's rates against the target, and the others are refused."""
    event_id = traded_event(arena, rollups)
    complete(arena, rollups)
    # When
    reply = call(arena, "get_participation_trends", query={})  # the default range: the 90 days to now
    # Then
    assert reply.status == 200, reply
    (point,) = reply.body["events"]
    assert (point["event_id"], point["participation_rate"], point["retention_during"]) == (event_id, "0.8", "0.5")
    assert (reply.body["participation_rate"], reply.body["meets_target"]) == ("0.8", True)
    # And a range over a year, or backwards, is refused
    long = call(arena, "get_participation_trends", query={"from": "2025-01-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"})
    assert (long.status, long.code) == (400, "range_too_long")
    backwards = call(
        arena, "get_participation_trends", query={"from": "2026-12-01T00:00:00Z", "to": "2026-11-01T00:00:00Z"}
    )
    assert (backwards.status, backwards.code) == (400, "invalid_range")


def test_participation_trends_pages_hold_still_while_the_clock_moves(arena: Arena, rollups: Rollups) -> None:
    """Given two completed events
    When the default range (the 90 days to now) is paged one event at a time, an hour apart
    Then the second page continues the first one's range"""
    first = traded_event(arena, rollups, name="First")
    second = traded_event(arena, rollups, name="Second")
    complete(arena, rollups)
    # When
    arena.clock.set(END + timedelta(hours=2))
    first_page = call(arena, "get_participation_trends", query={"limit": "1"})
    arena.clock.set(END + timedelta(hours=3))
    cursor = first_page.body["next_cursor"]
    second_page = call(arena, "get_participation_trends", query={"limit": "1", "cursor": cursor})
    # Then
    assert second_page.status == 200, second_page
    seen = [e["event_id"] for e in first_page.body["events"] + second_page.body["events"]]
    assert sorted(seen) == sorted([first, second])
    assert second_page.body["next_cursor"] is None
    # And a cursor of another list is refused
    other = call(
        arena, "get_participation_trends", query={"cursor": call(arena, "get_dashboard").body["next_cursor"] or "e30"}
    )
    assert (other.status, other.code) == (400, "invalid_cursor")


def test_volume_analysis_sums_the_events_of_the_range(arena: Arena, rollups: Rollups) -> None:
    """Given a traded event
    When the hours and days of the event's day, and too many minutes, are analysed
    Then the totals, series, top pairs and hour profile are the event's, the same by day, and too many buckets is
    refused."""
    event_id = traded_event(arena, rollups)
    # When hours of the event's day are analysed
    query = {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z", "resolution": "hour"}
    reply = call(arena, "get_volume_analysis", query=query)
    # Then
    assert reply.status == 200, reply
    body = reply.body
    assert (body["events"], body["totals"]["volume"], body["truncated"]) == ([event_id], "1000", False)
    assert len(body["series"]) == 24
    assert [(p["key"], p["share"]) for p in body["top_pairs"]] == [("BTC-USDT", "0.7"), ("ETH-USDT", "0.3")]
    assert body["hour_of_day"][11]["volume"] == "500"
    # And by day, the hour profile is the same
    by_day = call(arena, "get_volume_analysis", query={**query, "resolution": "day"})
    assert by_day.body["hour_of_day"] == body["hour_of_day"]
    # And too many buckets is refused
    minutes = {"from": "2026-11-25T00:00:00Z", "to": "2026-12-01T00:00:00Z", "resolution": "minute"}
    refused = call(arena, "get_volume_analysis", query=minutes)
    assert (refused.status, refused.code) == (400, "range_too_long")


def test_compare_puts_events_side_by_side(arena: Arena, rollups: Rollups) -> None:
    """Given a traded event and an untraded one, both mia's
    When mia, another manager, and bad id lists compare them
    Then mia gets them side by side with the best named; the others are refused."""
    traded = traded_event(arena, rollups, MIA)
    quiet = arena.new_event(MIA, name="Quiet", start_at=iso(START), end_at=iso(END), **OPEN)["id"]
    # When mia compares them
    reply = call(arena, "get_comparison", MIA, query={"ids": f"{traded},{quiet}"})
    # Then
    assert reply.status == 200, reply
    assert [e["event_id"] for e in reply.body["events"]] == [traded, quiet]
    assert reply.body["best"]["volume"] == traded
    assert reply.body["events"][1]["participation_rate"] is None
    # And omar may not compare mia's events; one id, eleven, or an unknown one are refused
    assert call(arena, "get_comparison", OMAR, query={"ids": f"{traded},{quiet}"}).status == 403
    assert call(arena, "get_comparison", query={"ids": traded}).code == "invalid_ids"
    assert call(arena, "get_comparison", query={"ids": ",".join(f"e{i}" for i in range(11))}).code == "invalid_ids"
    assert call(arena, "get_comparison", query={"ids": f"{traded},nope"}).code == "event_not_found"


# ------------------------------------------------------------------------------------------------ live


def test_the_minute_sweep_pushes_live_metrics_to_admins(
    arena: Arena,
    rollups: Rollups,
    realtime: Realtime,  # noqa: F811 - the fixture imported above
) -> None:
    """Given an admin on the admin topic, a running event with trades at noon and one trader's page watching its
    leaderboard and event topics (one connection)
    When the sweep runs in the minute after noon
    Then the admin gets that minute's figures, with one connected client"""
    realtime.user("c-root", "root", "admin", groups=("admin",))
    event_id = traded_event(arena, rollups)
    realtime.user("c-page", "page-watcher", f"leaderboard:{event_id}", f"event:{event_id}")
    # When
    arena.clock.set(NOON + timedelta(minutes=1, seconds=5))
    sweep(arena)
    # Then
    (message,) = realtime.api.to("c-root", "analytics")
    (figures,) = message["data"]["events"]
    assert figures == {
        "event_id": event_id,
        "minute": "2026-12-01T12:00:00.000Z",
        "volume_per_minute": "300",
        "trades_per_minute": 2,
        "active_traders": 2,
        "participation_rate": "0.8",
        "volume": "1000",
        "connected_clients": 1,
    }
