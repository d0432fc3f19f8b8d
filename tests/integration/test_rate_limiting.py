"""Rate limiting against the rate-limits table of template.yaml (moto): the handlers answer 429 with Retry-After
and the RateLimit-* fields once a caller's quota for a route is spent, the limit holds across Lambda instances
hitting the same caller and route at once, admins bypass it, and the template lets every HTTP function (and only
the UpdateItem it needs) at the table."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import boto3
import pytest
from arena.auth import principal_from_event
from arena.domain.rate_limits import MICROS, Quota, QuotaName, bucket_key
from arena.flags import Flag
from arena.services import rate_limiting
from arena.store import rate_limits as store

from local.template import load_template, resources_of_type
from tests.conftest import api_event
from tests.integration.conftest import ADMIN, Reply, user_claims

LIST_EVENTS = "GET /api/events"
HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture
def quotas(tables: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Given the rate-limits table: `quotas("read=3/3600")` sets this stage's quotas (as RATE_LIMITS does)."""
    from arena import factories

    def set_quotas(text: str, table: str | None = None) -> None:
        value = {"table": table or tables["RateLimitsTable"], "quotas": text}
        monkeypatch.setenv("RATE_LIMITS", json.dumps(value))
        factories.reset()

    rate_limiting._last_tat.clear()
    return set_quotas


def list_events(handler: ModuleType, context: Any, claims: dict[str, Any] | None = None) -> Reply:
    event = api_event("events/list_events.json", query={"status": "ACTIVE"}, claims=claims)
    return Reply(handler.lambda_handler(event, context))


def assert_refused(reply: Reply, limit: int) -> None:
    assert reply.status == 429, reply
    assert reply.code == "rate_limited"
    assert reply.body["error"]["details"]["limit"] == limit
    headers = reply.raw["headers"]
    assert int(headers["Retry-After"]) >= 1
    assert headers["RateLimit-Limit"] == str(limit)
    assert headers["RateLimit-Remaining"] == "0"
    assert int(headers["RateLimit-Reset"]) >= 1


# ---------------------------------------------------------------------------------------------- one instance


def test_a_spent_quota_answers_429_with_retry_after(
    quotas: Callable[..., None], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given a read quota of 3 an hour When a trader lists events 4 times Then 3 answers count down the
    RateLimit-* fields and the 4th is a 429 in the one error shape with Retry-After."""
    quotas("read=3/3600")
    handler = load_handler("events", "list_events")
    replies = [list_events(handler, lambda_context) for _ in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert [r.raw["headers"]["RateLimit-Remaining"] for r in replies[:3]] == ["2", "1", "0"]
    assert all(r.raw["headers"]["RateLimit-Limit"] == "3" for r in replies[:3])
    assert_refused(replies[3], 3)
    # An hour / 3 = 1200 s until the next request is admitted.
    assert 1190 <= int(replies[3].raw["headers"]["Retry-After"]) <= 1200


def test_the_bucket_is_per_caller_and_per_route(
    quotas: Callable[..., None], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given a read quota of one per hour
    When a trader reads twice, another trader reads, and the first trader calls another route
    Then only the trader's second read on that route is 429."""
    quotas("read=1/3600")
    events = load_handler("events", "list_events")
    assert list_events(events, lambda_context).status == 200
    assert list_events(events, lambda_context).status == 429
    # Another trader, same route: a bucket of its own.
    assert list_events(events, lambda_context, user_claims("trader-2")).status == 200
    # The same trader, another route (its event is not there: a 404, counted in that route's bucket).
    get_event = load_handler("events", "get_event")
    other = Reply(
        get_event.lambda_handler(api_event("events/get_event.json", path={"eventId": "evt-none"}), lambda_context)
    )
    assert other.status == 404 and other.raw["headers"]["RateLimit-Limit"] == "1"


def test_machine_clients_count_against_their_own_quota(
    quotas: Callable[..., None], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given people's reads at 1 an hour and machine clients' at 5 When the trade feed's client lists events
    Then it has 5."""
    quotas("read=1/3600 machine_read=5/3600")
    feed_claims = api_event("trades/ingest_trades.json")["requestContext"]["authorizer"]["jwt"]["claims"]
    reply = list_events(load_handler("events", "list_events"), lambda_context, feed_claims)
    assert reply.raw["headers"]["RateLimit-Limit"] == "5"


def test_admins_bypass_and_the_exempt_flag_is_never_refused(
    quotas: Callable[..., None],
    load_handler: Callable[..., ModuleType],
    lambda_context: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Given a read quota of one per hour, and the exempt flag on for one partner
    When an admin, the partner and a trader read repeatedly
    Then the admin and partner are never refused (the flag asked only when a bucket refuses); the trader is."""
    quotas("read=1/3600")
    handler = load_handler("events", "list_events")
    admin = [list_events(handler, lambda_context, ADMIN) for _ in range(5)]
    assert [r.status for r in admin] == [200] * 5
    assert not any(name in admin[0].raw["headers"] for name in HEADERS)

    # The flag on for one partner: never refused; everyone else still is. It is asked only when a bucket refuses
    # (AppConfig stays off the path of an admitted request).
    asked: list[str] = []

    def flag_on_for_partner(flag: str, principal: Any) -> bool:
        asked.append(principal.user_id)
        return flag == Flag.RATE_LIMIT_EXEMPT and principal.user_id == "partner"

    monkeypatch.setattr(rate_limiting, "is_enabled", flag_on_for_partner)
    assert [list_events(handler, lambda_context, user_claims("partner")).status for _ in range(3)] == [200] * 3
    assert [list_events(handler, lambda_context).status for _ in range(2)] == [200, 429]
    assert asked == ["partner", "partner", "trader-1"]


def test_requests_without_a_caller_are_not_counted(
    quotas: Callable[..., None], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given no verified caller (the authorizer refuses these in AWS) When it lists events twice on a quota of 1
    Then both are refused as unauthenticated (401, never 429) and no bucket is written."""
    quotas("read=1/3600")
    event = api_event("events/list_events.json", query={"status": "ACTIVE"})
    event["requestContext"]["authorizer"] = {"jwt": {"claims": {}, "scopes": None}}
    handler = load_handler("events", "list_events")
    replies = [Reply(handler.lambda_handler(event, lambda_context)) for _ in range(2)]
    assert [r.status for r in replies] == [401, 401]
    assert "RateLimit-Limit" not in replies[0].raw["headers"]
    assert boto3.client("dynamodb").scan(TableName=_table())["Count"] == 0


def test_an_unreachable_table_lets_requests_through(
    quotas: Callable[..., None], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given the limiter's table gone
    When a trader reads repeatedly
    Then requests are answered as if unlimited (the outer throttling holds)."""
    quotas("read=1/3600", table="no-such-table")
    handler = load_handler("events", "list_events")
    replies = [list_events(handler, lambda_context) for _ in range(3)]
    assert [r.status for r in replies] == [200] * 3
    assert "RateLimit-Limit" not in replies[0].raw["headers"]


def test_the_table_holds_one_number_per_bucket_and_its_ttl(quotas: Callable[..., None]) -> None:
    """Given the table of template.yaml When a bucket admits twice at one instant Then it holds the TAT two
    intervals ahead (the second write advanced it from the stored TAT) and a TTL past the refill."""
    quotas("write=4/60")
    caller = principal_from_event(api_event("events/list_events.json"))
    now = 1_800_000_000 * MICROS
    first = rate_limiting.check(caller, "POST /api/events", now=now)
    second = rate_limiting.check(caller, "POST /api/events", now=now)
    assert first and second and (first.remaining, second.remaining) == (3, 2)
    interval = Quota(4, 60).interval
    bucket = bucket_key(caller.user_id, "POST /api/events")
    assert store.stored_tat(bucket) == now + 2 * interval
    item = boto3.client("dynamodb").get_item(TableName=_table(), Key={"bucket": {"S": bucket}})["Item"]
    assert int(item["expires_at"]["N"]) > (now + 4 * interval) // MICROS
    ttl = boto3.client("dynamodb").describe_time_to_live(TableName=_table())["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at"


def _table() -> str:
    from arena.config import settings

    return settings().rate_limits.table


# ---------------------------------------------------------------------------------------------- many instances


def test_the_limit_holds_across_instances(quotas: Callable[..., None]) -> None:
    """Given a write quota of 20 When 8 Lambda instances (each its own boto3 client) send 6 requests each for the
    same caller and route at the same instant Then exactly 20 are admitted across them, the rest refused."""
    quotas("write=20/60")
    caller = principal_from_event(api_event("events/list_events.json"))
    now = 1_800_000_000 * MICROS
    start = threading.Barrier(8)
    decisions: list[Any] = []
    lock = threading.Lock()

    def instance() -> None:
        client = boto3.client("dynamodb")
        start.wait()
        for _ in range(6):
            decision = rate_limiting.check(caller, "POST /api/events", now=now, client=client)
            with lock:
                decisions.append(decision)

    threads = [threading.Thread(target=instance) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(decisions) == 48
    assert sum(d.allowed for d in decisions) == 20
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(20))
    assert all(d.retry_after_seconds == 3 for d in decisions if not d.allowed)  # 60 s / 20


def test_handlers_on_many_instances_admit_exactly_the_limit_and_admins_pass(
    quotas: Callable[..., None], load_handler: Callable[..., ModuleType], lambda_context: Any
) -> None:
    """Given 6 warm instances of the list-events function and a read quota of 10 an hour When a trader and an
    admin each send 5 requests through every instance at once Then the trader gets exactly 10 answers and 20
    429s carrying the headers, and the admin all 30."""
    quotas(f"{QuotaName.READ.value}=10/3600")
    instances = [load_handler("events", "list_events", fresh=True) for _ in range(6)]
    start = threading.Barrier(len(instances))
    replies: dict[str, list[Reply]] = {"trader": [], "admin": []}
    lock = threading.Lock()

    def run(handler: ModuleType) -> None:
        start.wait()
        for _ in range(5):
            for who, claims in (("trader", None), ("admin", ADMIN)):
                reply = list_events(handler, lambda_context, claims)
                with lock:
                    replies[who].append(reply)

    threads = [threading.Thread(target=run, args=(handler,)) for handler in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    trader = replies["trader"]
    assert sorted(r.status for r in trader) == [200] * 10 + [429] * 20
    for reply in trader:
        if reply.status == 429:
            assert_refused(reply, 10)
    assert [r.status for r in replies["admin"]] == [200] * 30


# ---------------------------------------------------------------------------------------------- the template


def test_every_http_function_may_update_the_table_and_nothing_more() -> None:
    """Given the template's HTTP functions and the rate limits write policy
    When the policy is read
    Then it lists exactly their roles, grants only UpdateItem on the rate limits table, and the globals pass
    RATE_LIMITS."""
    template = load_template()
    http_functions = {
        logical_id
        for logical_id, props in resources_of_type(template, "AWS::Serverless::Function").items()
        if any(e.get("Type") == "HttpApi" for e in (props.get("Events") or {}).values())
    }
    policy = template["Resources"]["RateLimitsWritePolicy"]["Properties"]
    listed = {ref["Ref"] for ref in policy["Roles"]}
    assert listed == {f"{name}Role" for name in http_functions}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "dynamodb:UpdateItem"
    assert statement["Resource"] == {"Fn::GetAtt": ["RateLimitsTable", "Arn"]}
    assert "RATE_LIMITS" in template["Globals"]["Function"]["Environment"]["Variables"]
