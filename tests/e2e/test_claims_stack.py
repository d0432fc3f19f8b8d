"""End to end on an in-process local stack over DynamoDB Local (AWS's own engine, real conditional writes and
transactions): 100 simultaneous claims of one prize over HTTP succeed exactly once, and the claim routes are
served with their JWT checks."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import ArenaClient, completed_event, in_process_stack

pytestmark = pytest.mark.e2e

PARALLEL = 100


@pytest.fixture
def stack() -> Iterator[Any]:
    # The status machine is under test, not the per-user velocity limit nor the claim route's rate limit (their
    # own tests are on moto).
    quotas = {"RateLimitQuotas": "claim=100000/60"}
    with in_process_stack("local", quotas, CLAIM_VELOCITY_LIMIT="100000", POWERTOOLS_LOG_LEVEL="WARNING") as local:
        yield local


def _completed_manual_event(client: ArenaClient, admin: str) -> str:
    """A manual-claim event with one points prize, completed with ann first."""
    prizes = [{"rank_from": 1, "rank_to": 1, "type": "points", "amount": "500.25"}]
    return completed_event(
        client, admin, prizes, ["ann"], name="Claim rush", claim={"mode": "manual", "window_days": 14}
    )


def test_100_parallel_claims_of_one_prize_succeed_once(stack: Any) -> None:
    """Given ann's 500.25 points waiting to be claimed on the local stack
    When 100 requests claim it at the same moment over HTTP (a third with Idempotency-Keys of their own, a third
    with one shared key)
    Then exactly one claim is accepted (the shared key's repeats answer that same claim, or are refused while
    it runs), every other request is 409, the points moved once, bob may not claim it, and the ledger sums to zero."""
    from arena.domain.claims import PrizeRef
    from arena.services import ledger

    client = ArenaClient(stack.base_url)
    admin = client.token("claims-admin", ["admin"])
    ann = client.token("ann", ["user"])
    event_id = _completed_manual_event(client, admin)
    distributed = client.call("POST", f"/api/events/{event_id}/prizes/distribute", admin)
    assert distributed.status == 201, distributed.body
    deadline = time.monotonic() + 60  # the distribution workflow runs on the stack's Step Functions
    while client.call("GET", f"/api/events/{event_id}/prizes/distribution", admin).body["run"]["status"] != "COMPLETED":
        assert time.monotonic() < deadline, "the distribution workflow did not complete"
        time.sleep(0.2)

    listed = client.call("GET", "/api/events/prizes/me", ann)
    assert listed.status == 200 and [p["amount"] for p in listed.body["prizes"]] == ["500.25"], listed.body
    prize = listed.body["prizes"][0]["prize_id"]
    assert prize == PrizeRef(event_id, "ann", 0).prize_id
    bob = client.call("POST", f"/api/events/prizes/{prize}/claim", client.token("bob", ["user"]), {})
    assert (bob.status, bob.body["error"]["code"]) == (404, "prize_not_found")

    start = threading.Barrier(PARALLEL, timeout=60)
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        import json
        import urllib.error
        import urllib.request

        request = urllib.request.Request(f"{stack.base_url}/api/events/prizes/{prize}/claim", data=b"{}", method="POST")
        request.add_header("content-type", "application/json")
        request.add_header("authorization", f"Bearer {ann}")
        if index % 3 == 1:
            request.add_header("idempotency-key", f"own-{index}")
        elif index % 3 == 2:
            request.add_header("idempotency-key", "shared")
        start.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as answer:
                reply = (answer.status, json.loads(answer.read()))
        except urllib.error.HTTPError as error:
            reply = (error.code, json.loads(error.read()))
        with lock:
            answers.append(reply)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    accepted = {body["claim_id"] for status, body in answers if status == 200}
    assert accepted == {PrizeRef(event_id, "ann", 0).claim_id}
    codes = Counter(body["error"]["code"] for status, body in answers if status != 200)
    assert set(codes) <= {"already_claimed", "claim_in_progress"}, codes
    assert all(status in (200, 409) for status, _ in answers)
    # More than one 200 can only be the shared key's replays of the first answer.
    ok = sum(1 for status, _ in answers if status == 200)
    assert 1 <= ok <= 1 + PARALLEL // 3
    assert ledger.balance("user:ann") == Decimal("500.25")
    assert ledger.balance(f"event-claims:{event_id}") == 0
    assert ledger.out_of_balance() == 0

    history = client.call("GET", "/api/events/prizes/history?limit=100", ann)
    assert history.status == 200
    outcomes = Counter(e["outcome"] for e in history.body["entries"])
    # Every request that was not answered 200 is in the history as a refusal; replays are not new attempts.
    assert outcomes == {"CLAIMED": 1, "REFUSED": PARALLEL - ok}
