"""Rate limits over HTTP on the local stack: the whole template, its RateLimitQuotas parameter set for the stage,
the local gateway in front; a caller's spent quota answers 429 with Retry-After and the RateLimit-* fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import ArenaClient, in_process_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with in_process_stack(parameters={"RateLimitQuotas": "write=3/3600"}, POWERTOOLS_LOG_LEVEL="WARNING") as local:
        yield local


def header(reply: Any, name: str) -> str | None:
    return {key.lower(): value for key, value in reply.headers.items()}.get(name.lower())


def test_a_spent_quota_is_429_over_http_and_admins_pass(stack: Any) -> None:
    """Given this stage's writes at 3 an hour When a trader joins a missing event 4 times Then 3 answers (404)
    count the quota down and the 4th is 429 `rate_limited` with Retry-After; an admin is not counted."""
    client = ArenaClient(stack.base_url)
    trader = client.token("limited-trader", ["user"])
    replies = [client.call("POST", "/api/events/evt-missing/join", trader, {}) for _ in range(4)]
    assert [r.status for r in replies] == [404, 404, 404, 429], [r.body for r in replies]
    assert [header(r, "RateLimit-Remaining") for r in replies] == ["2", "1", "0", "0"]
    refused = replies[3]
    assert refused.body["error"]["code"] == "rate_limited"
    assert header(refused, "RateLimit-Limit") == "3"
    assert 1190 <= int(header(refused, "Retry-After") or 0) <= 1200

    admin = client.token("limits-admin", ["admin"])
    answers = [client.call("POST", "/api/events/evt-missing/cancel", admin, {"reason": "x"}) for _ in range(5)]
    assert all(a.status != 429 for a in answers), [a.body for a in answers]
    assert header(answers[0], "RateLimit-Limit") is None
