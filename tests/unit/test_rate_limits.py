"""arena.domain.rate_limits: route classes, quotas and their configuration, and the GCRA token bucket.

Worked examples first, then property tests: over any arrival times, the bucket never admits more than its burst
plus its rate allows in any interval, admits a full burst from rest, and its headers tell the truth (the
`remaining` it announces are exactly what it then admits; after `Retry-After` a request is admitted).
"""

from __future__ import annotations

import pytest
from arena.auth import Principal, Role
from arena.config import RateLimitSettings
from arena.domain.rate_limits import (
    DEFAULT_QUOTAS,
    MICROS,
    ClientKind,
    Quota,
    QuotaName,
    RouteClass,
    Step,
    decide,
    expires_at,
    format_quotas,
    parse_quotas,
    quota_name,
    route_class,
    step_for,
)
from arena.services.rate_limiting import client_kind
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

# ---------------------------------------------------------------------------------------------- classes and quotas


@pytest.mark.parametrize(
    ("route_key", "expected"),
    [
        ("GET /api/events", RouteClass.READ),
        ("GET /api/events/{eventId}/leaderboard", RouteClass.READ),
        ("POST /api/events", RouteClass.WRITE),
        ("PATCH /api/events/{eventId}", RouteClass.WRITE),
        ("POST /api/events/{eventId}/join", RouteClass.WRITE),
        ("POST /api/events/prizes/{prizeId}/claim", RouteClass.CLAIM),
        ("POST /api/trades", RouteClass.TRADE_FEED),
        ("POST /api/equity", RouteClass.TRADE_FEED),
    ],
)
def test_routes_fall_into_their_class(route_key: str, expected: RouteClass) -> None:
    """Given a route key
    When its class is asked
    Then it is the expected route class."""
    assert route_class(route_key) is expected


def test_machine_clients_have_quotas_of_their_own() -> None:
    """Given a person and a machine client on the same route classes
    When their quota names are asked
    Then they never share a quota, and the machine's trade feed has its own."""
    for route in RouteClass:
        assert quota_name(ClientKind.PERSON, route) != quota_name(ClientKind.MACHINE, route)
    assert quota_name(ClientKind.MACHINE, RouteClass.TRADE_FEED) is QuotaName.TRADE_FEED


def test_a_client_credentials_token_or_the_service_role_is_a_machine() -> None:
    """Given a person, a client-credentials feed and a principal with the service role
    When their client kind is asked
    Then the person is a person and the other two are machines."""
    person = Principal("alice", frozenset({Role.USER}), claims={"scope": "openid email"})
    feed = Principal("feed-client", frozenset(), claims={"scope": "arena/trades.write"})
    service = Principal("svc", frozenset({Role.SERVICE}))
    assert client_kind(person) is ClientKind.PERSON
    assert client_kind(feed) is ClientKind.MACHINE
    assert client_kind(service) is ClientKind.MACHINE


def test_quotas_parse_over_the_defaults() -> None:
    """Given a quota text naming two quotas, and an empty one
    When they are parsed
    Then the named quotas override the defaults, the rest keep them, and formatting reads back."""
    quotas = parse_quotas("read=600/60, claim=5/10")
    assert quotas[QuotaName.READ] == Quota(600, 60)
    assert quotas[QuotaName.CLAIM] == Quota(5, 10)
    assert quotas[QuotaName.WRITE] == DEFAULT_QUOTAS[QuotaName.WRITE]
    assert parse_quotas("") == DEFAULT_QUOTAS
    assert parse_quotas(format_quotas(quotas)) == quotas


@pytest.mark.parametrize("text", ["read=600", "reads=1/1", "read=0/60", "read=10/0", "read=10/90000", "read=-1/5"])
def test_a_bad_quota_is_refused_when_the_settings_load(text: str) -> None:
    """Given a malformed quota text
    When the rate limit settings load it
    Then a ValidationError is raised."""
    with pytest.raises(ValidationError):
        RateLimitSettings(quotas=text)


def test_the_settings_read_one_json_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the RATE_LIMITS variable as JSON with a table and one quota
    When the settings are read
    Then the table and quota are taken, the other quotas keep their defaults, and limiting is enabled."""
    from arena.config import settings

    for name in ("EVENTS", "PARTICIPANTS", "TRADES", "LEADERBOARD", "AUDIT", "LEDGER"):
        monkeypatch.setenv(f"{name}_TABLE", f"arena-{name.lower()}")
    monkeypatch.setenv("RATE_LIMITS", '{"table": "limits-dev", "quotas": "read=7/1"}')
    settings.cache_clear()
    try:
        limits = settings().rate_limits
        assert limits.table == "limits-dev"
        assert limits.quota(QuotaName.READ) == Quota(7, 1)
        assert limits.quota(QuotaName.WRITE) == DEFAULT_QUOTAS[QuotaName.WRITE]
        assert limits.enabled
    finally:
        settings.cache_clear()


# ---------------------------------------------------------------------------------------------- worked examples

SECOND = MICROS
T0 = 1_800_000_000 * MICROS


def test_a_burst_from_rest_admits_exactly_the_limit_then_refuses() -> None:
    """Given 5 a second from rest When 7 arrive at once Then 5 admitted, remaining counting down, 2 refused."""
    quota = Quota(5, 1)
    tat, decisions = None, []
    for _ in range(7):
        decision, stored = decide(quota, tat, T0)
        tat = stored if stored is not None else tat
        decisions.append(decision)
    assert [d.allowed for d in decisions] == [True] * 5 + [False] * 2
    assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0]
    refused = decisions[-1]
    assert refused.headers() == {
        "RateLimit-Limit": "5",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "1",
        "Retry-After": "1",
    }
    assert "Retry-After" not in decisions[0].headers()


def test_the_bucket_refills_at_its_rate() -> None:
    """Given an emptied bucket of 60 a minute When a second passes Then exactly one more is admitted."""
    quota = Quota(60, 60)
    tat = T0 + 60 * SECOND  # 60 requests at T0
    assert not decide(quota, tat, T0)[0].allowed
    assert step_for(quota, tat, T0 + SECOND) is Step.FROM_TAT
    decision, tat_after = decide(quota, tat, T0 + SECOND)
    assert decision.allowed and decision.remaining == 0
    assert not decide(quota, tat_after, T0 + SECOND)[0].allowed


def test_an_idle_bucket_is_full_again() -> None:
    """Given a bucket idle since before now
    When a request arrives
    Then it steps from now, is admitted, and leaves limit - 1 remaining."""
    quota = Quota(10, 60)
    assert step_for(quota, T0 - 1, T0) is Step.FROM_NOW
    decision, tat = decide(quota, T0 - 1, T0)
    assert decision.allowed and decision.remaining == 9 and tat == T0 + quota.interval


def test_the_ttl_comes_after_the_bucket_is_full_again() -> None:
    """Given a quota and a bucket's time
    When its record's expiry is computed
    Then it falls after the bucket would be full again."""
    quota = Quota(10, 60)
    assert expires_at(quota, T0) * MICROS > T0 + quota.limit * quota.interval


# ---------------------------------------------------------------------------------------------- properties

quotas = st.builds(Quota, st.integers(1, 50), st.integers(1, 120))
# Arrival gaps in microseconds: bursts (0), jitter and pauses longer than any window.
gaps = st.lists(st.one_of(st.just(0), st.integers(0, 2 * SECOND), st.integers(0, 200 * SECOND)), max_size=120)


def run(quota: Quota, arrival_gaps: list[int]) -> list[tuple[int, object]]:
    """The decisions for requests arriving after these gaps, applied as the store would apply them."""
    tat: int | None = None
    now = T0
    out = []
    for gap in arrival_gaps:
        now += gap
        decision, stored = decide(quota, tat, now)
        if stored is not None:
            tat = stored
        out.append((now, decision))
    return out


@settings(max_examples=300, deadline=None)
@given(quotas, gaps)
def test_never_more_than_the_burst_plus_the_rate_in_any_interval(quota: Quota, arrival_gaps: list[int]) -> None:
    """Given any quota and arrival history
    When the bucket decides each request
    Then for admitted requests at a <= b, those admitted in [a, b] are at most limit + (b - a) / T.
    (A token bucket, not a fixed window: a full burst may follow a full refill, so one window can see up to
    2 * limit - 1, never more.)"""
    admitted_at = [now for now, d in run(quota, arrival_gaps) if d.allowed]  # type: ignore[attr-defined]
    for i, a in enumerate(admitted_at):
        for j in range(i, len(admitted_at)):
            b = admitted_at[j]
            assert j - i + 1 <= quota.limit + (b - a) // quota.interval


@settings(max_examples=300, deadline=None)
@given(quotas, gaps)
def test_remaining_is_what_the_bucket_then_admits(quota: Quota, arrival_gaps: list[int]) -> None:
    """Given any quota and arrival history
    When the bucket decides each request
    Then an admitted request's `remaining` is exactly how many more are admitted at once, and a refused request's
    Retry-After is long enough: at now + Retry-After one is admitted."""
    tat: int | None = None
    now = T0
    for gap in arrival_gaps:
        now += gap
        decision, stored = decide(quota, tat, now)
        if stored is None:
            assert tat is not None and decision.retry_after_seconds is not None
            assert decide(quota, tat, now + decision.retry_after_seconds * MICROS)[0].allowed
            continue
        tat = stored
        burst_tat, more = tat, 0
        while True:
            _, burst_tat_next = decide(quota, burst_tat, now)
            if burst_tat_next is None:
                break
            more, burst_tat = more + 1, burst_tat_next
        assert decision.remaining == more
        assert 0 <= decision.remaining < quota.limit
        assert decision.reset_seconds <= quota.window_seconds + 1


@settings(max_examples=200, deadline=None)
@given(quotas, st.integers(0, 300 * SECOND))
def test_a_rested_bucket_admits_a_full_burst(quota: Quota, rest: int) -> None:
    """Given a drained bucket that then rests a full window
    When `limit` requests arrive at once
    Then all are admitted, and the next one is not."""
    tat: int | None = T0 + quota.limit * quota.interval  # drained at T0
    now = T0 + quota.limit * quota.interval + rest
    for _ in range(quota.limit):
        decision, tat = decide(quota, tat, now)
        assert decision.allowed
    assert not decide(quota, tat, now)[0].allowed
