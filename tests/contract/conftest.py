"""The contract fuzz's stack: the whole template in this process (DynamoDB Local, the real gateway and JWT
authorizer), seeded with a competition in every interesting state, and one caller per role.

The seed gives the fuzz real ids to put in paths: a live event with participants and trades, an upcoming one, and a
completed one whose prizes were distributed, some claimed (a token payout waiting for the wallet's callback, a
custom prize waiting to be fulfilled, a claim held for review). The fuzz uses them some of the time and generated
ids the rest (tests/contract/test_openapi_contract.py).
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.simulator import TradeSimulator
from tests.e2e.conftest import ArenaClient, completed_event, in_process_stack, iso

# The fuzz must see the API's answers, not the limits protecting it: the per-caller rate limits stay on (every
# request still passes through them) with quotas out of reach, and the claim velocity limit is raised out of reach.
# The hourly safety net stays out of the way of the seeded distribution.
STACK_PARAMETERS = {
    "RateLimitQuotas": " ".join(
        f"{quota}=1000000/60" for quota in ("read", "write", "claim", "trade_feed", "machine_read", "machine_write")
    )
}
STACK_ENVIRONMENT = {
    "CLAIM_VELOCITY_LIMIT": "100000",
    "ARENA_LOCAL_SAFETY_NET_SECONDS": "3600",
    "POWERTOOLS_LOG_LEVEL": "CRITICAL",  # a 5xx is reported by the fuzz with its request; tracebacks stay quiet
}

ADMIN = "contract-admin"
MANAGER = "contract-manager"
# ann is the fuzzing user: she has joined the live event, traded in it, and has a prize to claim.
TRADERS = ["contract-ann", "contract-bob", "contract-cy", "contract-dee"]
USER = "contract-ann"
PODIUM = ("contract-dee", "contract-ann", "contract-cy", "contract-bob")  # the completed event's results, in order
MARKETS = ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
PRIZES = [
    {"rank_from": 1, "rank_to": 1, "type": "token", "token": "USDT", "amount": "500"},
    {"rank_from": 2, "rank_to": 2, "type": "points", "amount": "250.5"},
    {"rank_from": 3, "rank_to": 3, "type": "custom", "description": "Trophy", "amount": "1"},
    {"rank_from": 4, "rank_to": 4, "type": "points", "amount": "100"},
]


@dataclass
class Seed:
    """What the fuzz may put in path parameters, by the parameter's name in docs/openapi.json."""

    ids: dict[str, list[str]]


@dataclass
class Caller:
    """One role the fuzz calls as: its name in the summary and its bearer token (None: no token at all)."""

    role: str
    token: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"} if self.token else {}


@dataclass
class FuzzLedger:
    """Requests sent and statuses seen per operation and role, for the summary the run prints."""

    statuses: dict[tuple[str, str], Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    seconds: float = 0.0
    waited: float = 0.0  # of which waiting for answers (the rest: generating and checking)

    # failure class -> the (operation, role) pairs it showed on, and how many answers
    failures: dict[str, Counter[tuple[str, str]]] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, operation: str, role: str, status: int) -> None:
        self.statuses[(operation, role)][status] += 1

    def failed(self, kind: str, operation: str, role: str) -> None:
        self.failures[kind][(operation, role)] += 1

    @property
    def requests(self) -> int:
        return sum(sum(counter.values()) for counter in self.statuses.values())


LEDGER = FuzzLedger()


@pytest.fixture(scope="module")
def contract_stack() -> Iterator[Any]:
    with in_process_stack(parameters=STACK_PARAMETERS, **STACK_ENVIRONMENT) as local:
        yield local


@pytest.fixture(scope="module")
def callers(contract_stack: Any) -> list[Caller]:
    """No token, a user, each of the exchange's machine clients (client-credentials tokens with their own scopes:
    the trade feed, the accounts client, the wallet), an event manager and an admin: the least privileged first, so
    the admin's changes to the seeded state (a cancelled event, a rollback) come last for each route."""
    from local.jwt_issuer import MACHINE_CLIENTS

    issuer = contract_stack.issuer
    machines = [
        Caller(machine_role(client.logical_id), issuer.issue_client_credentials(client.client_id))
        for client in MACHINE_CLIENTS.values()
    ]
    return [
        Caller("anonymous", None),
        Caller("user", issuer.issue(USER, groups=["user"])),
        *machines,
        Caller("event-manager", issuer.issue(MANAGER, groups=["event-manager"])),
        Caller("admin", issuer.issue(ADMIN, groups=["admin"])),
    ]


def _ok(reply: Any, *statuses: int) -> Any:
    assert reply.status in (statuses or (200,)), (reply.status, reply.body)
    return reply.body


def _wait_distributed(client: ArenaClient, admin: str, event_id: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while True:
        run = _ok(client.call("GET", f"/api/events/{event_id}/prizes/distribution", admin)).get("run") or {}
        if run.get("status") == "COMPLETED":
            return
        assert time.monotonic() < deadline, f"the seeded distribution did not complete: {run}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def seed(contract_stack: Any) -> Seed:
    """Given a live event with four traders and their trades, an upcoming event, and a completed event whose
    prizes were distributed and partly claimed (a payout pending, a custom prize pending, a claim in review)."""
    client = ArenaClient(contract_stack.base_url)
    issuer = contract_stack.issuer
    admin = issuer.issue(ADMIN, groups=["admin"])
    feed = issuer.issue("contract-feed", groups=["service"])  # the service group holds every machine scope
    traders = {user: issuer.issue(user, groups=["user"]) for user in TRADERS}
    now = datetime.now(UTC)
    common = {"managers": [MANAGER], "markets": MARKETS, "claim": {"mode": "manual"}}

    live = _ok(
        client.call(
            "POST",
            "/api/events",
            admin,
            {
                "name": "Contract live cup",
                "start_at": iso(now - timedelta(minutes=1)),
                "end_at": iso(now + timedelta(days=2)),
                "ranking_metric": "volume",
                "qualification": {"min_volume": "100", "min_trades": 1},
                "prizes": PRIZES,
                **common,
            },
        ),
        201,
    )["id"]
    for token in traders.values():
        _ok(client.call("POST", f"/api/events/{live}/join", token), 201)
    trades = TradeSimulator(TRADERS, seed=12, prefix="CONTRACT").trades(40, now - timedelta(seconds=50), now)
    _ok(client.call("POST", "/api/trades", feed, {"trades": trades}))

    upcoming = _ok(
        client.call(
            "POST",
            "/api/events",
            admin,
            {
                "name": "Contract upcoming cup",
                "start_at": iso(now + timedelta(days=1)),
                "end_at": iso(now + timedelta(days=3)),
                "prizes": PRIZES,
                **common,
            },
        ),
        201,
    )["id"]

    # The podium: dee's token prize is claimed and its payout waits for the wallet's callback; ann's points stay
    # claimable, for the fuzzing user; cy's trophy waits for an admin to fulfil it; bob, flagged by the exchange,
    # has a claim waiting for a review.
    dee, ann, cy, bob = PODIUM
    completed = completed_event(client, admin, PRIZES, list(PODIUM), name="Contract completed cup", **common)
    _ok(client.call("POST", f"/api/events/{completed}/prizes/distribute", admin), 201)
    _wait_distributed(client, admin, completed)
    prizes = {
        user: [p["prize_id"] for p in _ok(client.call("GET", "/api/events/prizes/me", token))["prizes"]]
        for user, token in traders.items()
    }
    assert all(prizes.values()), prizes
    payouts = [_ok(client.call("POST", f"/api/events/prizes/{prizes[dee][0]}/claim", traders[dee], {}))["claim_id"]]
    _ok(client.call("POST", f"/api/events/prizes/{prizes[cy][0]}/claim", traders[cy], {}))
    _ok(client.call("POST", f"/api/users/{bob}/flag", feed, {"flagged": True, "reason": "contract seed"}))
    _ok(client.call("POST", f"/api/events/prizes/{prizes[bob][0]}/claim", traders[bob], {}))
    assert ann == USER

    return Seed(
        ids={
            "eventId": [live, upcoming, completed],
            "userId": [*TRADERS, MANAGER],
            "prizeId": [prize for owned in prizes.values() for prize in owned],
            "payoutId": payouts,
        }
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The counts the issue's note quotes: requests sent, and the statuses seen per operation and role."""
    if not LEDGER.statuses:
        return
    write = terminalreporter.write_line
    terminalreporter.section("contract fuzz: statuses per operation and role")
    roles = sorted({role for _, role in LEDGER.statuses}, key=ROLE_ORDER.index)
    width = max(len(operation) for operation, _ in LEDGER.statuses)
    write(f"{'operation':<{width}}  " + "  ".join(f"{role:<22}" for role in roles))
    for operation in sorted({operation for operation, _ in LEDGER.statuses}):
        cells = []
        for role in roles:
            counter = LEDGER.statuses.get((operation, role), Counter())
            cells.append(f"{' '.join(f'{s}:{n}' for s, n in sorted(counter.items())):<22}")
        write(f"{operation:<{width}}  " + "  ".join(cells))
    overall: Counter[int] = Counter()
    for counter in LEDGER.statuses.values():
        overall.update(counter)
    write(
        f"requests sent: {LEDGER.requests} in {LEDGER.seconds:.0f} s ({LEDGER.waited:.0f} s waiting for answers) over"
        f" {len({o for o, _ in LEDGER.statuses})} operations; statuses:"
        f" {' '.join(f'{s}:{n}' for s, n in sorted(overall.items()))}"
    )
    if LEDGER.failures:
        terminalreporter.section("contract fuzz: failures by class (answers; operations x roles)")
        for kind, where in sorted(LEDGER.failures.items(), key=lambda item: -sum(item[1].values())):
            operations = sorted({operation for operation, _ in where})
            roles = ",".join(sorted({role for _, role in where}, key=ROLE_ORDER.index))
            named = ", ".join(operations) if len(operations) <= 3 else f"{len(operations)} operations"
            write(f"{sum(where.values()):>5}  {kind}  ({named}; {roles})")
    budget = os.environ.get("ARENA_CONTRACT_EXAMPLES")
    if budget:
        write(f"budget: ARENA_CONTRACT_EXAMPLES={budget}")


def machine_role(logical_id: str) -> str:
    """The fuzz's name for a machine client: TradeFeedClient -> trade-feed."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", logical_id.removesuffix("Client")).lower()


def _role_order() -> tuple[str, ...]:
    from local.jwt_issuer import MACHINE_CLIENTS

    machines = tuple(machine_role(client.logical_id) for client in MACHINE_CLIENTS.values())
    return ("anonymous", "user", *machines, "event-manager", "admin")


ROLE_ORDER = _role_order()
