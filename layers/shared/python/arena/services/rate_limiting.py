"""Rate limiting of the HTTP API: every authenticated request counts against its caller's bucket for its route,
shared by every Lambda instance through the rate-limits table (arena/store/rate_limits.py).

Who counts: every caller with a principal, except admins (bypass); callers the `rate_limit_exempt` feature flag
is on for are counted but never refused. Requests without a principal are not counted: API Gateway's authorizer
refuses them in AWS, and its stage throttling (template.yaml `ApiThrottleRate`/`ApiThrottleBurst`, per route
across all callers) stays the coarse outer limit that no request gets past; this one is the fair share of one
caller inside it.

A limiter that cannot reach its table lets the request through (logged, counted as `RateLimitUnavailable`):
the outer throttling still holds, and an outage of a guard should not become an outage of the API.
"""

from __future__ import annotations

import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from arena.auth import Principal, Role, parse_list_claim
from arena.config import settings
from arena.domain.rate_limits import (
    ClientKind,
    Decision,
    Quota,
    QuotaName,
    Step,
    admitted,
    bucket_key,
    chat_bucket_key,
    expires_at,
    quota_name,
    refused,
    route_class,
    step_for,
)
from arena.flags import Flag, is_enabled
from arena.observability import count, logger
from arena.store import rate_limits as store

# Scopes of Arena's resource server: a token carrying one is a machine client's (client credentials).
MACHINE_SCOPE_PREFIX = "arena/"

# Per instance, the TAT each bucket had when this instance last wrote it: which of the two writes to try first,
# so a caller's burst into one instance costs one write per request, not two. Only a hint: a wrong one costs a
# second write, never a wrong decision.
_last_tat: dict[str, int] = {}
_HINTS_KEPT = 10_000
# TAT only grows (until its TTL), so the write settles within three attempts; the fourth is a safety margin.
_ATTEMPTS = 4


def client_kind(principal: Principal) -> ClientKind:
    scopes = parse_list_claim(principal.claims.get("scope"))
    machine = Role.SERVICE in principal.roles or any(s.startswith(MACHINE_SCOPE_PREFIX) for s in scopes)
    return ClientKind.MACHINE if machine else ClientKind.PERSON


def now_micros() -> int:
    # Wall time, not arena.clock: limits are about real request rates, and tests pin arena.clock for days.
    return time.time_ns() // 1_000


def check(principal: Principal, route_key: str, *, now: int | None = None, client: Any = None) -> Decision | None:
    """Count one request of `principal` on `route_key`. The decision, or None when the caller is not limited:
    admins, and callers the `rate_limit_exempt` flag is on for. The flag is asked only when the bucket refuses,
    so AppConfig is never on the path of an admitted request.

    Raises what the store raises (ClientError, BotoCoreError); `check_request` is the fail-open wrapper."""
    if not settings().rate_limits.enabled or principal.is_admin:
        return None
    quota = settings().rate_limits.quota(quota_name(client_kind(principal), route_class(route_key)))
    return _count(principal, quota, bucket_key(principal.user_id, route_key), now, client)


def check_chat(principal: Principal, *, now: int | None = None, client: Any = None) -> Decision | None:
    """Count one chat post of `principal` against the chat quota (one bucket per user for every event and both
    the HTTP and WebSocket paths); None when not limited (admins, the exempt flag, the limiter unreachable:
    fails open like the HTTP limiter)."""
    if not settings().rate_limits.enabled or principal.is_admin:
        return None
    quota = settings().rate_limits.quota(QuotaName.CHAT)
    try:
        return _count(principal, quota, chat_bucket_key(principal.user_id), now, client)
    except (ClientError, BotoCoreError):
        logger.warning("chat rate limit unavailable; post let through", exc_info=True)
        count("RateLimitUnavailable")
        return None


def _count(principal: Principal, quota: Quota, bucket: str, now: int | None, client: Any) -> Decision | None:
    at = now_micros() if now is None else now
    hint = _last_tat.get(bucket)
    step: Step | None = Step.FROM_TAT if hint is not None and hint > at else Step.FROM_NOW
    for _ in range(_ATTEMPTS):
        assert step is not None
        attempt = store.advance(
            bucket,
            step,
            now=at,
            interval=quota.interval,
            tolerance=quota.tolerance,
            expires_at=expires_at(quota, at),
            client=client,
        )
        if attempt.written and attempt.tat is not None:
            _remember(bucket, attempt.tat)
            return admitted(quota, attempt.tat, at)
        step = step_for(quota, attempt.tat, at)
        if step is None:
            assert attempt.tat is not None
            _remember(bucket, attempt.tat)
            if is_enabled(Flag.RATE_LIMIT_EXEMPT, principal):
                return None
            count("RateLimited")
            return refused(quota, attempt.tat, at)
    logger.warning("rate limit did not settle; request let through", bucket=bucket)
    return None


def check_request(event: dict[str, Any], principal: Principal | None) -> Decision | None:
    """`check` for an HTTP API event; None (not counted) without a principal or a route, or when the table cannot
    answer."""
    route_key = event.get("routeKey")
    if principal is None or not route_key or route_key == "$default":
        return None
    try:
        return check(principal, str(route_key))
    except (ClientError, BotoCoreError):
        logger.warning("rate limits unavailable; request let through", exc_info=True)
        count("RateLimitUnavailable")
        return None


def _remember(bucket: str, tat: int) -> None:
    if len(_last_tat) >= _HINTS_KEPT:
        _last_tat.clear()
    _last_tat[bucket] = tat
