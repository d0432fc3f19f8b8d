"""The events handlers (create, get, list, update, cancel) with their events/ payloads, on moto.

The clock is pinned at 2026-12-01T12:00:00Z; the sample event runs 2026-12-01 .. 2026-12-15, so it is ACTIVE.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import api_event, sample_event
from tests.integration.conftest import ADMIN, DROP, Arena, manager_claims, user_claims

NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------- create


def test_create_sample_event_is_201_active_version_1_with_decimal_strings(arena: Arena) -> None:
    """Given an admin and events/events/create_event.json (starts 2026-12-01T00:00Z)
    When it is posted at 12:00 that day
    Then 201 with the event: ACTIVE by the clock, version 1, no participants, decimals as exact strings."""
    reply = arena.call("events/create_event", sample_event("events/create_event.json"))

    assert reply.status == 201, reply
    event = reply.body
    assert event["status"] == "ACTIVE"
    assert event["version"] == 1
    assert event["participant_count"] == 0
    assert (event["start_at"], event["end_at"]) == ("2026-12-01T00:00:00.000Z", "2026-12-15T00:00:00.000Z")
    assert event["markets"] == ["BTC-USDT", "ETH-USDT"]
    assert event["qualification"] == {"min_volume": "1000", "min_trades": 5}
    assert [tier.get("amount") for tier in event["prizes"]] == ["5000", "1500", "25000", None]
    assert event["created_by"] == "admin-1"
    assert event["managers"] == []  # an admin manages everything without being listed
    assert event["created_at"] == event["updated_at"] == "2026-12-01T12:00:00.000Z"
    assert event["cancel_reason"] is None


def test_created_event_reads_back_the_same(arena: Arena) -> None:
    """Given a created event When it is read with GET /api/events/{id} Then it is the same event."""
    created = arena.new_event()
    reply = arena.get_event(created["id"])
    assert reply.status == 200
    assert reply.body == created


def test_create_before_the_start_is_upcoming(arena: Arena) -> None:
    """Given the clock at 2026-11-20 When the sample event is created Then its status is UPCOMING."""
    arena.clock.set(datetime(2026, 11, 20, tzinfo=UTC))
    assert arena.new_event()["status"] == "UPCOMING"


def test_event_manager_who_creates_becomes_a_manager(arena: Arena) -> None:
    """Given an event manager When they create an event Then they are its creator and listed as its manager."""
    event = arena.new_event(manager_claims("manager-7"))
    assert (event["created_by"], event["managers"]) == ("manager-7", ["manager-7"])


def test_admin_assigns_managers(arena: Arena) -> None:
    """Given an admin When they create an event with managers Then exactly those managers (deduplicated)."""
    event = arena.new_event(managers=["manager-1", "manager-2", "manager-1"])
    assert event["managers"] == ["manager-1", "manager-2"]


def test_managers_set_by_a_non_admin_is_403(arena: Arena) -> None:
    """Given an event manager When they create an event naming managers Then 403 forbidden_field."""
    reply = arena.create_event(manager_claims("manager-7"), managers=["manager-8"])
    assert (reply.status, reply.code) == (403, "forbidden_field")
    assert reply.body["error"]["details"] == {"field": "managers"}


def test_user_cannot_create_an_event(arena: Arena) -> None:
    """Given a trader (role user) When they post an event Then 403 forbidden_role, and nothing is stored."""
    reply = arena.create_event(user_claims("trader-1"))
    assert (reply.status, reply.code) == (403, "forbidden_role")
    assert arena.list_events({}).body["items"] == []


def test_create_without_a_token_is_401(arena: Arena) -> None:
    """Given no subject claim When an event is posted Then 401 unauthenticated."""
    reply = arena.create_event({})
    assert (reply.status, reply.code) == (401, "unauthenticated")


def test_end_before_start_is_422(arena: Arena) -> None:
    """Given an end before the start When the event is posted Then 422 invalid_schedule."""
    reply = arena.create_event(start_at="2026-12-15T00:00:00Z", end_at="2026-12-10T00:00:00Z")
    assert (reply.status, reply.code) == (422, "invalid_schedule")


def test_event_already_over_is_422(arena: Arena) -> None:
    """Given an event that ended an hour ago When it is posted Then 422 invalid_schedule."""
    reply = arena.create_event(start_at="2026-11-01T00:00:00Z", end_at="2026-12-01T11:00:00Z")
    assert (reply.status, reply.code) == (422, "invalid_schedule")


def test_capacity_without_joining_is_422(arena: Arena) -> None:
    """Given max_participants with join_required false When posted Then 422 invalid_capacity."""
    reply = arena.create_event(join_required=False, max_participants=10)
    assert (reply.status, reply.code) == (422, "invalid_capacity")


def test_unknown_field_is_422_naming_it(arena: Arena) -> None:
    """Given a body with a misspelt field (ranking_metrik) When posted Then 422 validation_failed naming it."""
    reply = arena.create_event(ranking_metrik="pnl")
    assert (reply.status, reply.code) == (422, "validation_failed")
    assert [(d["field"], d["type"]) for d in reply.body["error"]["details"]] == [
        ("body.ranking_metrik", "extra_forbidden")
    ]


def test_float_amount_is_422_naming_it(arena: Arena) -> None:
    """Given a prize amount sent as a JSON number (5000.5) When posted
    Then 422 validation_failed at body.prizes.0.amount: floats are never taken as money."""
    body = Arena.event_body()
    body["prizes"][0]["amount"] = 5000.5
    reply = arena.call("events/create_event", api_event("events/create_event.json", body=body))
    assert (reply.status, reply.code) == (422, "validation_failed")
    assert [d["field"] for d in reply.body["error"]["details"]] == ["body.prizes.0.amount"]


def test_zone_less_start_is_422(arena: Arena) -> None:
    """Given start_at without a time zone When posted Then 422 at body.start_at."""
    reply = arena.create_event(start_at="2026-12-01T00:00:00")
    assert reply.status == 422
    assert [d["field"] for d in reply.body["error"]["details"]] == ["body.start_at"]


@pytest.mark.parametrize("raw", ['{"name": "December Volume Cup",', "name=December", "{'name': 'x'}"])
def test_malformed_json_is_400(arena: Arena, raw: str) -> None:
    """Given a body that is not JSON When posted Then 400 invalid_json."""
    reply = arena.call("events/create_event", api_event("events/create_event.json", body=raw))
    assert (reply.status, reply.code) == (400, "invalid_json")


def test_empty_body_is_422_naming_the_body(arena: Arena) -> None:
    """Given no body at all When an event is posted Then 422 validation_failed for the field "body"."""
    reply = arena.call("events/create_event", api_event("events/create_event.json", body=""))
    assert (reply.status, reply.code) == (422, "validation_failed")
    assert [d["field"] for d in reply.body["error"]["details"]] == ["body"]


def test_event_without_a_participant_limit_is_created_and_read_back(arena: Arena) -> None:
    """Given an event without max_participants (no limit, the default)
    When it is created and read back
    Then both answers say max_participants null, and GET works (the stored item lacks the attribute)."""
    created = arena.create_event(max_participants=DROP)
    assert created.status == 201, created
    assert created.body["max_participants"] is None
    reply = arena.get_event(created.body["id"])
    assert reply.status == 200, reply
    assert reply.body["max_participants"] is None


# ------------------------------------------------------------------------------------------- get


def test_get_unknown_event_is_404(arena: Arena) -> None:
    """Given no such event When GET /api/events/{id} (the sample's id) Then 404 event_not_found."""
    reply = arena.call("events/get_event", sample_event("events/get_event.json"))
    assert (reply.status, reply.code) == (404, "event_not_found")


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        (datetime(2026, 11, 30, tzinfo=UTC), "UPCOMING"),
        (datetime(2026, 12, 14, 23, 59, tzinfo=UTC), "ACTIVE"),
        (datetime(2026, 12, 15, 0, 4, 59, tzinfo=UTC), "FINALIZING"),
        (datetime(2026, 12, 15, 0, 5, tzinfo=UTC), "COMPLETED"),
    ],
)
def test_get_reports_the_clocks_status(arena: Arena, moment: datetime, status: str) -> None:
    """Given the sample event (stored UPCOMING, no sweeper) When read at a moment of its timeline
    Then its status is the clock's (5 minutes of FINALIZING grace after the end)."""
    event_id = arena.new_event()["id"]
    arena.clock.set(moment)
    assert arena.get_event(event_id).body["status"] == status


# ------------------------------------------------------------------------------------------- list


def _ids(reply: object) -> list[str]:
    return [item["id"] for item in reply.body["items"]]  # type: ignore[attr-defined]


def test_list_filters_by_the_clocks_status(arena: Arena) -> None:
    """Given events that are ACTIVE, UPCOMING, CANCELLED, FINALIZING and COMPLETED by the clock at 13:02
    When listed with each status filter (the sample's query is status=ACTIVE&limit=20)
    Then each filter returns exactly the events in that status, latest start first."""
    active = [arena.new_event(start_at=f"2026-12-01T0{h}:00:00Z")["id"] for h in (1, 2, 3)]
    upcoming = [arena.new_event(start_at=f"2026-12-0{d}T00:00:00Z")["id"] for d in (5, 6)]
    cancelled = arena.new_event()["id"]
    assert arena.cancel_event(cancelled, "halted").status == 200
    finalizing = arena.new_event(end_at="2026-12-01T13:00:00Z")["id"]
    completed = arena.new_event(end_at="2026-12-01T12:30:00Z")["id"]
    arena.clock.set(datetime(2026, 12, 1, 13, 2, tzinfo=UTC))

    sample = arena.call("events/list_events", sample_event("events/list_events.json"))
    assert sample.status == 200
    assert _ids(sample) == active[::-1]
    assert sample.body["next_cursor"] is None
    assert {item["status"] for item in sample.body["items"]} == {"ACTIVE"}
    assert _ids(arena.list_events({"status": "UPCOMING"})) == upcoming[::-1]
    assert _ids(arena.list_events({"status": "CANCELLED"})) == [cancelled]
    assert _ids(arena.list_events({"status": "FINALIZING"})) == [finalizing]
    assert _ids(arena.list_events({"status": "COMPLETED"})) == [completed]
    assert len(_ids(arena.list_events({}))) == 8


def _walk(arena: Arena, query: dict[str, str]) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        reply = arena.list_events({**query, **({"cursor": cursor} if cursor else {})})
        assert reply.status == 200, reply
        pages.append(_ids(reply))
        cursor = reply.body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "the cursor never ends"


def test_cursor_pagination_returns_every_event_exactly_once(arena: Arena) -> None:
    """Given 45 events, two by two sharing a start time
    When listed with limit 20, following next_cursor to the end
    Then pages of 20, 20 and 5 hold every event exactly once, latest start first."""
    created = []
    for i in range(45):
        start = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(hours=i // 2)
        created.append((start, arena.new_event(start_at=iso(start), end_at="2026-12-20T00:00:00Z")["id"]))

    pages = _walk(arena, {"limit": "20"})

    assert [len(page) for page in pages] == [20, 20, 5]
    listed = [event_id for page in pages for event_id in page]
    assert sorted(listed) == sorted(event_id for _, event_id in created)
    assert listed == [event_id for _, event_id in sorted(created, reverse=True)]


def test_filtered_pagination_reads_ahead_without_skipping(arena: Arena) -> None:
    """Given 5 ACTIVE events behind 30 UPCOMING ones in the catalogue (which is ordered by start)
    When listed with status=ACTIVE and limit 2
    Then pages of 2, 2 and 1 return the five ACTIVE events, each once."""
    active = [arena.new_event(start_at=f"2026-12-01T0{h}:00:00Z")["id"] for h in range(5)]
    for i in range(30):
        arena.new_event(start_at=iso(datetime(2026, 12, 2, tzinfo=UTC) + timedelta(hours=i)))

    pages = _walk(arena, {"status": "ACTIVE", "limit": "2"})

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [event_id for page in pages for event_id in page] == active[::-1]


def _cursor(state: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    ["not-a-cursor!", "%%%", _cursor([1, 2]), _cursor("k"), _cursor({"k": "garbage"}), _cursor({"k": 7})],
    ids=["garbage", "percent", "json-list", "json-string", "k-is-text", "k-is-number"],
)
def test_bad_cursor_is_400(arena: Arena, cursor: str) -> None:
    """Given a cursor the API did not issue (garbage, or well-formed base64 JSON of the wrong shape)
    When passed to the list
    Then 400 invalid_cursor, never a 500."""
    arena.new_event()
    reply = arena.list_events({"limit": "20", "cursor": cursor})
    assert (reply.status, reply.code) == (400, "invalid_cursor")


@pytest.mark.parametrize("query", [{"status": "RUNNING"}, {"limit": "0"}, {"limit": "101"}, {"limit": "lots"}])
def test_bad_list_parameters_are_422(arena: Arena, query: dict[str, str]) -> None:
    """Given an unknown status or a limit out of 1..100 When listed Then 422 validation_failed."""
    reply = arena.list_events(query)
    assert (reply.status, reply.code) == (422, "validation_failed")


# ------------------------------------------------------------------------------------------- update


def _patch(arena: Arena, event_id: str, body: dict[str, object], claims: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    return arena.update_event(event_id, body, claims)


def test_update_sample_changes_name_and_limit_and_bumps_the_version(arena: Arena) -> None:
    """Given the sample event at version 1 When events/events/update_event.json is applied
    Then 200 with the new name and limit, version 2, updated_at the clock's time."""
    event = arena.new_event()
    arena.clock.set(NOON + timedelta(minutes=10))
    event_json = api_event("events/update_event.json", path={"eventId": event["id"]})

    reply = arena.call("events/update_event", event_json)

    assert reply.status == 200, reply
    assert reply.body["name"] == "December Volume Cup (extended prizes)"
    assert reply.body["max_participants"] == 20000
    assert reply.body["version"] == 2
    assert reply.body["updated_at"] == "2026-12-01T12:10:00.000Z"
    assert reply.body["created_at"] == event["created_at"]
    assert arena.get_event(event["id"]).body == reply.body


def test_update_with_a_version_from_the_future_is_409(arena: Arena) -> None:
    """Given an event at version 1 When patched claiming version 2 Then 409 version_conflict, unchanged."""
    event = arena.new_event()
    reply = _patch(arena, event["id"], {"version": 2, "name": "Renamed"})
    assert (reply.status, reply.code) == (409, "version_conflict")
    assert arena.get_event(event["id"]).body["name"] == event["name"]


def test_stale_version_after_a_successful_update_is_409(arena: Arena) -> None:
    """Given two admins who both read version 1, and the first one's update succeeded
    When the second one patches with version 1
    Then 409 version_conflict, and the first one's change stands."""
    event = arena.new_event()
    first = _patch(arena, event["id"], {"version": 1, "description": "first"})
    assert (first.status, first.body["version"]) == (200, 2)

    second = _patch(arena, event["id"], {"version": 1, "description": "second"})

    assert (second.status, second.code) == (409, "version_conflict")
    stored = arena.get_event(event["id"]).body
    assert (stored["description"], stored["version"]) == ("first", 2)


def test_event_manager_may_edit_only_their_own_events(arena: Arena) -> None:
    """Given an event created by manager-1
    When manager-2 edits it Then 403 not_event_manager; when manager-1 does Then 200."""
    event = arena.new_event(manager_claims("manager-1"))
    other = _patch(arena, event["id"], {"version": 1, "name": "Mine now"}, manager_claims("manager-2"))
    assert (other.status, other.code) == (403, "not_event_manager")
    own = _patch(arena, event["id"], {"version": 1, "name": "Still mine"}, manager_claims("manager-1"))
    assert (own.status, own.body["name"]) == (200, "Still mine")


def test_assigned_manager_may_edit(arena: Arena) -> None:
    """Given an admin's event with manager-3 assigned When manager-3 edits it Then 200."""
    event = arena.new_event(managers=["manager-3"])
    reply = _patch(arena, event["id"], {"version": 1, "description": "by manager-3"}, manager_claims("manager-3"))
    assert (reply.status, reply.body["description"]) == (200, "by manager-3")


def test_user_cannot_edit(arena: Arena) -> None:
    """Given a trader When they patch an event Then 403 forbidden_role."""
    event = arena.new_event()
    reply = _patch(arena, event["id"], {"version": 1, "name": "x"}, user_claims("trader-1"))
    assert (reply.status, reply.code) == (403, "forbidden_role")


def test_scoring_fields_after_the_start_are_409_event_started(arena: Arena) -> None:
    """Given an ACTIVE event When its end, markets and ranking metric are changed
    Then 409 event_started listing the frozen fields, and the event is unchanged."""
    event = arena.new_event()
    reply = _patch(
        arena,
        event["id"],
        {
            "version": 1,
            "end_at": "2026-12-20T00:00:00Z",
            "markets": ["SOL-USDT"],
            "ranking_metric": "pnl",
            "name": "ok",
        },
    )
    assert (reply.status, reply.code) == (409, "event_started")
    assert reply.body["error"]["details"] == {"fields": ["end_at", "markets", "ranking_metric"]}
    assert arena.get_event(event["id"]).body == event


def test_resending_unchanged_scoring_fields_after_the_start_is_fine(arena: Arena) -> None:
    """Given an ACTIVE event When the client sends its scoring fields back unchanged (with a new name)
    Then 200: an unchanged value is not a change."""
    event = arena.new_event()
    reply = _patch(
        arena,
        event["id"],
        {
            "version": 1,
            "name": "Renamed",
            "end_at": "2026-12-15T00:00:00.000+00:00",
            "markets": ["btc-usdt", "ETH-USDT"],
            "prizes": event["prizes"],
        },
    )
    assert (reply.status, reply.body["name"]) == (200, "Renamed")


def test_name_after_the_start_is_fine(arena: Arena) -> None:
    """Given an ACTIVE event When only its name changes Then 200, version 2."""
    event = arena.new_event()
    reply = _patch(arena, event["id"], {"version": 1, "name": "December Volume Cup II"})
    assert (reply.status, reply.body["name"], reply.body["version"], reply.body["status"]) == (
        200,
        "December Volume Cup II",
        2,
        "ACTIVE",
    )


def test_schedule_may_change_before_the_start(arena: Arena) -> None:
    """Given an UPCOMING event When its end moves Then 200; When the end moves before the start Then 422."""
    arena.clock.set(datetime(2026, 11, 20, tzinfo=UTC))
    event = arena.new_event()
    moved = _patch(arena, event["id"], {"version": 1, "end_at": "2026-12-20T00:00:00Z"})
    assert (moved.status, moved.body["end_at"]) == (200, "2026-12-20T00:00:00.000Z")
    broken = _patch(arena, event["id"], {"version": 2, "end_at": "2026-11-30T00:00:00Z"})
    assert (broken.status, broken.code) == (422, "invalid_schedule")


def test_explicit_null_name_is_422(arena: Arena) -> None:
    """Given an event When patched with "name": null Then 422 invalid_field: a name cannot be removed."""
    event = arena.new_event()
    reply = _patch(arena, event["id"], {"version": 1, "name": None})
    assert (reply.status, reply.code) == (422, "invalid_field")
    assert reply.body["error"]["details"] == {"field": "name"}


def test_null_max_participants_removes_the_limit(arena: Arena) -> None:
    """Given an event limited to 10000 participants
    When patched with "max_participants": null
    Then 200 with no limit, and reading it back says the same."""
    event = arena.new_event()
    reply = _patch(arena, event["id"], {"version": 1, "max_participants": None})
    assert reply.status == 200, reply
    assert (reply.body["max_participants"], reply.body["version"]) == (None, 2)
    stored = arena.get_event(event["id"])
    assert (stored.status, stored.body.get("max_participants", "missing")) == (200, None)


def test_update_unknown_event_is_404(arena: Arena) -> None:
    """Given no such event When the sample update is sent Then 404 event_not_found."""
    reply = arena.call("events/update_event", sample_event("events/update_event.json"))
    assert (reply.status, reply.code) == (404, "event_not_found")


def test_update_without_version_is_422(arena: Arena) -> None:
    """Given an event When patched without a version Then 422 naming body.version."""
    event = arena.new_event()
    reply = _patch(arena, event["id"], {"name": "x"})
    assert reply.status == 422
    assert [d["field"] for d in reply.body["error"]["details"]] == ["body.version"]


# ------------------------------------------------------------------------------------------- cancel


def test_cancel_with_the_sample_payload(arena: Arena) -> None:
    """Given an ACTIVE event When events/events/cancel_event.json is posted for it
    Then 200, CANCELLED with the reason, version 2; reading it back says the same."""
    event = arena.new_event()
    reply = arena.call("events/cancel_event", api_event("events/cancel_event.json", path={"eventId": event["id"]}))
    assert reply.status == 200, reply
    assert (reply.body["status"], reply.body["cancel_reason"], reply.body["version"]) == (
        "CANCELLED",
        "Market halted by the exchange",
        2,
    )
    assert arena.get_event(event["id"]).body["status"] == "CANCELLED"


def test_cancel_twice_is_409(arena: Arena) -> None:
    """Given a cancelled event When cancelled again Then 409 event_closed, the first reason kept."""
    event = arena.new_event()
    assert arena.cancel_event(event["id"], "first").status == 200
    again = arena.cancel_event(event["id"], "second")
    assert (again.status, again.code) == (409, "event_closed")
    assert arena.get_event(event["id"]).body["cancel_reason"] == "first"


def test_cancelled_event_can_no_longer_be_changed(arena: Arena) -> None:
    """Given a cancelled event When renamed Then 409 event_closed."""
    event = arena.new_event()
    assert arena.cancel_event(event["id"], "halted").status == 200
    reply = _patch(arena, event["id"], {"version": 2, "name": "Back"})
    assert (reply.status, reply.code) == (409, "event_closed")


def test_completed_event_cannot_be_cancelled(arena: Arena) -> None:
    """Given an event whose end and grace have passed When cancelled Then 409 event_closed."""
    event = arena.new_event()
    arena.clock.set(datetime(2026, 12, 16, tzinfo=UTC))
    reply = arena.cancel_event(event["id"], "too late")
    assert (reply.status, reply.code) == (409, "event_closed")


def test_cancel_needs_a_reason_and_a_manager(arena: Arena) -> None:
    """Given an event When cancelled without a reason Then 422; by a trader Then 403; unknown id Then 404."""
    event = arena.new_event()
    assert arena.cancel_event(event["id"], None).status == 422
    assert arena.cancel_event(event["id"], "").status == 422
    by_user = arena.cancel_event(event["id"], "mine", user_claims("trader-1"))
    assert (by_user.status, by_user.code) == (403, "forbidden_role")
    unknown = arena.call("events/cancel_event", sample_event("events/cancel_event.json"))
    assert (unknown.status, unknown.code) == (404, "event_not_found")
    assert arena.get_event(event["id"]).body["status"] == "ACTIVE"


def test_admin_claims_fixture_matches_the_samples() -> None:
    """Given the driver's ADMIN claims When compared with the samples' caller Then they are the same admin."""
    assert sample_event("events/create_event.json")["requestContext"]["authorizer"]["jwt"]["claims"] == ADMIN
