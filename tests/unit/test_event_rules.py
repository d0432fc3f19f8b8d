"""arena.domain.events: status from the clock, schedules, capacity, what may change, who may join, trade windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from arena.domain.events import (
    MAX_EVENT_DAYS,
    SCORING_FIELDS,
    EventStatus,
    check_can_cancel,
    check_can_join,
    check_changes_allowed,
    counts_market,
    effective_status,
    in_window,
    validate_capacity,
    validate_schedule,
)
from arena.errors import Conflict, Forbidden, InvalidInput
from hypothesis import given
from hypothesis import strategies as st

START = datetime(2026, 12, 1, tzinfo=UTC)
END = datetime(2026, 12, 15, tzinfo=UTC)
GRACE = timedelta(minutes=5)
MS = timedelta(milliseconds=1)

# ------------------------------------------------------------------------------------------- effective_status


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (START - timedelta(days=30), EventStatus.UPCOMING),
        (START - MS, EventStatus.UPCOMING),
        (START, EventStatus.ACTIVE),
        (END - MS, EventStatus.ACTIVE),
        (END, EventStatus.FINALIZING),
        (END + GRACE - MS, EventStatus.FINALIZING),
        (END + GRACE, EventStatus.COMPLETED),
        (END + timedelta(days=400), EventStatus.COMPLETED),
    ],
    ids=[
        "long-before",
        "just-before-start",
        "at-start",
        "just-before-end",
        "at-end",
        "end-of-grace",
        "grace-over",
        "long-after",
    ],
)
@pytest.mark.parametrize("stored", [EventStatus.UPCOMING, EventStatus.ACTIVE])
def test_effective_status_follows_the_clock_for_live_events(
    stored: EventStatus, now: datetime, expected: EventStatus
) -> None:
    """Given an event stored UPCOMING or ACTIVE (the sweeper may lag)
    When its status is read at a moment of its timeline
    Then the clock decides: UPCOMING, ACTIVE from start_at, FINALIZING from end_at for the grace, then COMPLETED."""
    assert effective_status(stored, START, END, now, GRACE) is expected


def test_effective_status_without_grace_goes_straight_to_completed() -> None:
    """Given no grace period When the clock reaches end_at Then the event is COMPLETED at once."""
    assert effective_status(EventStatus.ACTIVE, START, END, END, timedelta(0)) is EventStatus.COMPLETED


@pytest.mark.parametrize(
    "stored", [EventStatus.CANCELLED, EventStatus.COMPLETED, EventStatus.FINALIZING, EventStatus.DRAFT]
)
@pytest.mark.parametrize("now", [START - timedelta(days=1), START + timedelta(days=1), END + timedelta(days=1)])
def test_effective_status_keeps_terminal_and_admin_set_statuses(stored: EventStatus, now: datetime) -> None:
    """Given an event stored CANCELLED (or COMPLETED, FINALIZING, DRAFT)
    When read before, during or after its window
    Then the stored status wins over the clock: a cancelled event never becomes ACTIVE again."""
    assert effective_status(stored, START, END, now, GRACE) is stored


# ------------------------------------------------------------------------------------------- validate_schedule

NOW = datetime(2026, 11, 20, tzinfo=UTC)


def test_validate_schedule_accepts_a_future_window() -> None:
    """Given a start before an end, both in the future When validated Then nothing is raised."""
    assert validate_schedule(START, END, NOW) is None


def test_validate_schedule_accepts_a_window_already_running() -> None:
    """Given a start in the past and an end in the future When validated Then it is fine (created late)."""
    assert validate_schedule(NOW - timedelta(days=1), END, NOW) is None


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (END, START, "after start_at"),
        (START, START, "after start_at"),
        (NOW - timedelta(days=3), NOW - timedelta(days=1), "in the future"),
        (NOW - timedelta(days=3), NOW, "in the future"),
        (START, START + timedelta(days=MAX_EVENT_DAYS, milliseconds=1), f"at most {MAX_EVENT_DAYS} days"),
    ],
    ids=["end-before-start", "end-equals-start", "already-over", "ends-now", "too-long"],
)
def test_validate_schedule_refuses_bad_windows(start: datetime, end: datetime, message: str) -> None:
    """Given a window that ends before it starts, is over already or is too long
    When validated
    Then InvalidInput with code invalid_schedule says which."""
    with pytest.raises(InvalidInput, match=message) as raised:
        validate_schedule(start, end, NOW)
    assert raised.value.code == "invalid_schedule"


def test_validate_schedule_accepts_exactly_the_longest_event() -> None:
    """Given a window of exactly MAX_EVENT_DAYS When validated Then it is allowed (the limit is inclusive)."""
    assert validate_schedule(START, START + timedelta(days=MAX_EVENT_DAYS), NOW) is None


# ------------------------------------------------------------------------------------------- validate_capacity


@pytest.mark.parametrize(("join_required", "max_participants"), [(True, None), (True, 3), (False, None)])
def test_validate_capacity_accepts(join_required: bool, max_participants: int | None) -> None:
    """Given a limit with joining, or no limit at all When validated Then nothing is raised."""
    assert validate_capacity(join_required, max_participants) is None


def test_validate_capacity_refuses_a_limit_without_joining() -> None:
    """Given max_participants on an event nobody joins explicitly
    When validated
    Then InvalidInput invalid_capacity: there is no moment to refuse the n+1st participant."""
    with pytest.raises(InvalidInput) as raised:
        validate_capacity(False, 100)
    assert raised.value.code == "invalid_capacity"


# ------------------------------------------------------------------------------------------- check_changes_allowed

ALL_FIELDS = sorted(
    SCORING_FIELDS | {"name", "description", "max_participants", "eligibility", "claim", "join_required", "managers"}
)


@pytest.mark.parametrize("status", [EventStatus.UPCOMING, EventStatus.DRAFT])
def test_changes_before_the_start_are_all_allowed(status: EventStatus) -> None:
    """Given an event that has not started When any field changes Then it is allowed."""
    assert check_changes_allowed(status, ALL_FIELDS) is None


def test_active_event_allows_fields_that_do_not_decide_the_winner() -> None:
    """Given an ACTIVE event When name, description, capacity or eligibility change Then it is allowed."""
    assert check_changes_allowed(EventStatus.ACTIVE, ["name", "description", "max_participants", "eligibility"]) is None
    assert check_changes_allowed(EventStatus.ACTIVE, []) is None


def test_active_event_locks_scoring_fields_and_lists_them() -> None:
    """Given an ACTIVE event
    When the name and three scoring fields change at once
    Then Conflict event_started, with exactly the locked fields, sorted, in details."""
    with pytest.raises(Conflict) as raised:
        check_changes_allowed(EventStatus.ACTIVE, ["name", "prizes", "end_at", "markets"])
    assert raised.value.code == "event_started"
    assert raised.value.details == {"fields": ["end_at", "markets", "prizes"]}


@pytest.mark.parametrize("field", sorted(SCORING_FIELDS))
def test_active_event_locks_each_scoring_field(field: str) -> None:
    """Given an ACTIVE event When one scoring field changes Then it is refused, naming that field."""
    with pytest.raises(Conflict) as raised:
        check_changes_allowed(EventStatus.ACTIVE, {field})
    assert raised.value.details == {"fields": [field]}


def test_scoring_fields_are_the_ones_that_decide_the_winner() -> None:
    """Given the rules When asked which fields freeze at the start Then timing, metric, markets, qualification
    and prizes do."""
    assert {
        "start_at",
        "end_at",
        "ranking_metric",
        "prizes",
        "prize_settings",
        "markets",
        "qualification",
    } == SCORING_FIELDS


@pytest.mark.parametrize("status", [EventStatus.FINALIZING, EventStatus.COMPLETED, EventStatus.CANCELLED])
@pytest.mark.parametrize("changed", [[], ["name"], ["end_at"]])
def test_closed_event_refuses_every_change(status: EventStatus, changed: list[str]) -> None:
    """Given a FINALIZING, COMPLETED or CANCELLED event When anything (even nothing) is changed
    Then Conflict event_closed."""
    with pytest.raises(Conflict) as raised:
        check_changes_allowed(status, changed)
    assert raised.value.code == "event_closed"
    assert status.value in raised.value.message


@pytest.mark.parametrize("status", [EventStatus.FINALIZING, EventStatus.COMPLETED, EventStatus.CANCELLED])
def test_closed_event_cannot_be_cancelled(status: EventStatus) -> None:
    """Given a closed event When cancelled Then Conflict event_closed."""
    with pytest.raises(Conflict) as raised:
        check_can_cancel(status)
    assert raised.value.code == "event_closed"


@pytest.mark.parametrize("status", [EventStatus.UPCOMING, EventStatus.ACTIVE])
def test_live_event_can_be_cancelled(status: EventStatus) -> None:
    """Given an UPCOMING or ACTIVE event When cancelled Then allowed."""
    assert check_can_cancel(status) is None


# ------------------------------------------------------------------------------------------- check_can_join


def _join(status: EventStatus = EventStatus.ACTIVE, **overrides: object) -> None:
    values: dict[str, object] = {
        "participant_count": 0,
        "max_participants": None,
        "min_kyc_level": 0,
        "excluded_account_types": [],
        "kyc_level": 0,
        "account_type": None,
    }
    values.update(overrides)
    check_can_join(status, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [EventStatus.UPCOMING, EventStatus.ACTIVE])
def test_open_event_can_be_joined(status: EventStatus) -> None:
    """Given an UPCOMING or ACTIVE event with room, and an eligible user When joining Then allowed."""
    assert (
        _join(
            status,
            participant_count=2,
            max_participants=3,
            min_kyc_level=1,
            kyc_level=1,
            excluded_account_types=["market_maker"],
            account_type="retail",
        )
        is None
    )


@pytest.mark.parametrize(
    "status", [EventStatus.FINALIZING, EventStatus.COMPLETED, EventStatus.CANCELLED, EventStatus.DRAFT]
)
def test_closed_event_cannot_be_joined(status: EventStatus) -> None:
    """Given an event that is not open When joining Then Conflict event_not_open."""
    with pytest.raises(Conflict) as raised:
        _join(status)
    assert raised.value.code == "event_not_open"


@pytest.mark.parametrize("count", [3, 4])
def test_full_event_cannot_be_joined(count: int) -> None:
    """Given an event at (or over) its limit of 3 When a user joins Then Conflict event_full."""
    with pytest.raises(Conflict) as raised:
        _join(participant_count=count, max_participants=3)
    assert raised.value.code == "event_full"


def test_event_without_a_limit_is_never_full() -> None:
    """Given no max_participants When the millionth user joins Then allowed."""
    assert _join(participant_count=1_000_000, max_participants=None) is None


def test_kyc_too_low_is_not_eligible() -> None:
    """Given an event needing KYC level 2 When a level-1 user joins
    Then Forbidden not_eligible, with the rule, the level required and the user's level."""
    with pytest.raises(Forbidden) as raised:
        _join(min_kyc_level=2, kyc_level=1)
    assert raised.value.code == "not_eligible"
    assert raised.value.details == {"rule": "min_kyc_level", "required": 2, "actual": 1}


def test_kyc_exactly_the_minimum_is_eligible() -> None:
    """Given an event needing KYC level 2 When a level-2 user joins Then allowed."""
    assert _join(min_kyc_level=2, kyc_level=2) is None


def test_excluded_account_type_is_not_eligible() -> None:
    """Given an event excluding market makers When a market maker joins Then Forbidden not_eligible, naming it."""
    with pytest.raises(Forbidden) as raised:
        _join(excluded_account_types=("market_maker", "institution"), account_type="market_maker")
    assert raised.value.code == "not_eligible"
    assert raised.value.details == {"rule": "excluded_account_types", "account_type": "market_maker"}


@pytest.mark.parametrize("account_type", [None, "", "retail"])
def test_other_or_unknown_account_types_are_eligible(account_type: str | None) -> None:
    """Given an event excluding market makers When a retail user (or one without a type) joins Then allowed."""
    assert _join(excluded_account_types=["market_maker"], account_type=account_type) is None


def test_closed_is_reported_before_full_and_full_before_eligibility() -> None:
    """Given an event that is both closed and full, and an ineligible user
    When joining Then the closure is what is reported; on an open full event, fullness is."""
    with pytest.raises(Conflict) as closed:
        _join(EventStatus.CANCELLED, participant_count=3, max_participants=3, min_kyc_level=5)
    assert closed.value.code == "event_not_open"
    with pytest.raises(Conflict) as full:
        _join(participant_count=3, max_participants=3, min_kyc_level=5)
    assert full.value.code == "event_full"


# ------------------------------------------------------------------------------------------- counts_market


@pytest.mark.parametrize(
    ("markets", "market", "expected"),
    [
        ([], "BTC-USDT", True),
        ((), "ANYTHING", True),
        (["BTC-USDT", "ETH-USDT"], "ETH-USDT", True),
        (["BTC-USDT", "ETH-USDT"], "SOL-USDT", False),
        (["BTC-USDT"], "BTC-USD", False),
    ],
)
def test_counts_market(markets: list[str], market: str, expected: bool) -> None:
    """Given an event's market list (empty = every market) When a trade's market is checked Then it counts or not."""
    assert counts_market(markets, market) is expected


def test_counts_market_reads_a_generator_once() -> None:
    """Given markets as a one-shot iterable When checked Then the answer is the same as for a list."""
    assert counts_market((m for m in ["BTC-USDT"]), "BTC-USDT") is True
    assert counts_market((m for m in []), "BTC-USDT") is True


# ------------------------------------------------------------------------------------------- in_window


@pytest.mark.parametrize(
    ("executed_at", "expected"),
    [
        (START - MS, False),
        (START, True),
        (START + timedelta(days=7), True),
        (END - MS, True),
        (END, False),
        (END + MS, False),
    ],
    ids=["before-start", "at-start", "middle", "last-ms", "at-end", "after-end"],
)
def test_in_window_start_inclusive_end_exclusive(executed_at: datetime, expected: bool) -> None:
    """Given the window [start_at, end_at) When a trade's execution time is checked
    Then the start counts and the end does not."""
    assert in_window(START, END, executed_at) is expected


@given(st.integers(-(10**9), 10**9))
def test_in_window_matches_the_half_open_interval(offset_ms: int) -> None:
    """Given any execution time around the window When checked Then it is inside exactly when start <= t < end."""
    executed_at = START + timedelta(milliseconds=offset_ms)
    assert in_window(START, END, executed_at) is (START <= executed_at < END)
