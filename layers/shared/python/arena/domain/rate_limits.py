"""Rate limits, decided: which quota a request counts against, and the token bucket that admits or refuses it.

The bucket is GCRA (the generic cell rate algorithm), a token bucket kept as one number: the theoretical arrival
time (TAT) of the next request, in integer microseconds. A quota of `limit` requests per `window` seconds admits
one request per emission interval T = window / limit (rounded up to a whole microsecond) and bursts of up to
`limit` at once: a request at `now` is admitted when TAT <= now + (limit - 1) * T, and then moves the TAT to
max(TAT, now) + T. One number is what makes it fit one conditional DynamoDB write; `Step` names the two writes
(the max() has two branches, DynamoDB expressions have no max()). No I/O here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from enum import StrEnum

MICROS = 1_000_000


class RouteClass(StrEnum):
    """What a route does, for its default quota: reads, writes, prize claims, the exchange's trade feed."""

    READ = "read"
    WRITE = "write"
    CLAIM = "claim"
    TRADE_FEED = "trade_feed"


class ClientKind(StrEnum):
    """People (web tokens) and machine clients (client-credentials tokens, the `service` role) count apart."""

    PERSON = "person"
    MACHINE = "machine"


# The exchange's feeds: trades and equity snapshots, posted by machine clients in batches.
TRADE_FEED_ROUTES = frozenset({"POST /api/trades", "POST /api/equity"})
_READ_METHODS = frozenset({"GET", "HEAD"})


def route_class(route_key: str) -> RouteClass:
    """The class of an API Gateway route key ("POST /api/events/{eventId}/join")."""
    method, _, path = route_key.partition(" ")
    if route_key in TRADE_FEED_ROUTES:
        return RouteClass.TRADE_FEED
    if method.upper() in _READ_METHODS:
        return RouteClass.READ
    if path.endswith("/claim"):
        return RouteClass.CLAIM
    return RouteClass.WRITE


class QuotaName(StrEnum):
    """The configurable quotas: people's per class; machine clients' reads, writes and the trade feed."""

    READ = "read"
    WRITE = "write"
    CLAIM = "claim"
    TRADE_FEED = "trade_feed"
    MACHINE_READ = "machine_read"
    MACHINE_WRITE = "machine_write"
    # Event chat posts, per user across every event and both paths (HTTP and the WebSocket `chat` action).
    CHAT = "chat"


_QUOTA_OF: dict[tuple[ClientKind, RouteClass], QuotaName] = {
    (ClientKind.PERSON, RouteClass.READ): QuotaName.READ,
    (ClientKind.PERSON, RouteClass.WRITE): QuotaName.WRITE,
    (ClientKind.PERSON, RouteClass.CLAIM): QuotaName.CLAIM,
    # A person on a feed route is refused by its authorization; until then it counts as any write.
    (ClientKind.PERSON, RouteClass.TRADE_FEED): QuotaName.WRITE,
    (ClientKind.MACHINE, RouteClass.READ): QuotaName.MACHINE_READ,
    (ClientKind.MACHINE, RouteClass.WRITE): QuotaName.MACHINE_WRITE,
    (ClientKind.MACHINE, RouteClass.CLAIM): QuotaName.MACHINE_WRITE,
    (ClientKind.MACHINE, RouteClass.TRADE_FEED): QuotaName.TRADE_FEED,
}


def quota_name(kind: ClientKind, route: RouteClass) -> QuotaName:
    return _QUOTA_OF[(kind, route)]


@dataclass(frozen=True)
class Quota:
    """`limit` requests per `window_seconds`, in bursts of up to `limit`."""

    limit: int
    window_seconds: int

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= 1_000_000:
            raise ValueError("a quota's limit is 1 to 1000000 requests")
        if not 1 <= self.window_seconds <= 86_400:
            raise ValueError("a quota's window is 1 to 86400 seconds")

    @property
    def interval(self) -> int:
        """T: microseconds one request uses up (rounded up, so never more than `limit` per window)."""
        return -(-self.window_seconds * MICROS // self.limit)

    @property
    def tolerance(self) -> int:
        """How far ahead of now the TAT may be and still admit: room for `limit - 1` more after this one."""
        return (self.limit - 1) * self.interval

    def __str__(self) -> str:
        return f"{self.limit}/{self.window_seconds}"


DEFAULT_QUOTAS: dict[QuotaName, Quota] = {
    # 10 a second per route, sustained: a console polling a board every 100 ms stays inside it.
    QuotaName.READ: Quota(600, 60),
    QuotaName.WRITE: Quota(60, 60),
    # Above the claim service's own velocity rule (10 a minute), which answers first with its own details.
    QuotaName.CLAIM: Quota(30, 60),
    # Up to 500 trades a call: 1200 calls a minute is 10k trades a second from one client.
    QuotaName.TRADE_FEED: Quota(1200, 60),
    QuotaName.MACHINE_READ: Quota(1200, 60),
    QuotaName.MACHINE_WRITE: Quota(600, 60),
    # A burst of 20 lines, then one every 3 seconds: a person typing fast, not a script.
    QuotaName.CHAT: Quota(20, 60),
}

_QUOTA_ITEM = re.compile(r"^([a-z_]+)=(\d{1,7})/(\d{1,5})$")


def parse_quotas(text: str) -> dict[QuotaName, Quota]:
    """ "read=300/60 write=60/60" (spaces or commas between) over the defaults; anything else raises ValueError."""
    quotas = dict(DEFAULT_QUOTAS)
    for item in text.replace(",", " ").split():
        match = _QUOTA_ITEM.match(item)
        if not match:
            raise ValueError(f"not a quota: {item!r} (expected name=limit/seconds, e.g. read=300/60)")
        name, limit, window = match.groups()
        if name not in QuotaName._value2member_map_:
            known = ", ".join(q.value for q in QuotaName)
            raise ValueError(f"no quota named {name!r} (known: {known})")
        quotas[QuotaName(name)] = Quota(int(limit), int(window))
    return quotas


def format_quotas(quotas: dict[QuotaName, Quota]) -> str:
    return " ".join(f"{name.value}={quota}" for name, quota in sorted(quotas.items()))


# ---------------------------------------------------------------------------------------------- the bucket


class Step(StrEnum):
    """The two conditional writes that admit a request (the two branches of max(TAT, now) + T)."""

    # The bucket is full (no TAT, or TAT at or before now): TAT := now + T, if TAT <= now still holds.
    FROM_NOW = "from_now"
    # The bucket is partly used (now < TAT <= now + tolerance): TAT := TAT + T, if that range still holds.
    FROM_TAT = "from_tat"


@dataclass(frozen=True)
class Decision:
    """The verdict on one request and what its response tells the client (IETF RateLimit header fields)."""

    allowed: bool
    limit: int
    remaining: int
    # Seconds until the bucket is full again.
    reset_seconds: int
    # Refused only: seconds until one request is admitted again.
    retry_after_seconds: int | None = None

    def headers(self) -> dict[str, str]:
        fields = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }
        if self.retry_after_seconds is not None:
            fields["Retry-After"] = str(self.retry_after_seconds)
        return fields


def _seconds_up(micros: int) -> int:
    return max(0, math.ceil(micros / MICROS))


def step_for(quota: Quota, tat: int | None, now: int) -> Step | None:
    """The write that admits a request at `now` against stored `tat`; None when the bucket refuses it."""
    if tat is None or tat <= now:
        return Step.FROM_NOW
    if tat <= now + quota.tolerance:
        return Step.FROM_TAT
    return None


def next_tat(quota: Quota, step: Step, tat: int | None, now: int) -> int:
    if step is Step.FROM_NOW or tat is None:
        return now + quota.interval
    return tat + quota.interval


def admitted(quota: Quota, new_tat: int, now: int) -> Decision:
    """The decision for a request admitted at `now` that moved the TAT to `new_tat`."""
    room = now + quota.tolerance - new_tat
    remaining = max(0, min(quota.limit - 1, room // quota.interval + 1))
    return Decision(True, quota.limit, remaining, _seconds_up(new_tat - now))


def refused(quota: Quota, tat: int, now: int) -> Decision:
    """The decision for a request refused at `now` by stored `tat` (which it leaves as it was)."""
    wait = tat - quota.tolerance - now
    return Decision(False, quota.limit, 0, _seconds_up(tat - now), max(1, _seconds_up(wait)))


def decide(quota: Quota, tat: int | None, now: int) -> tuple[Decision, int | None]:
    """The whole algorithm on a known state: the decision and the TAT to store (None: refused, store nothing)."""
    step = step_for(quota, tat, now)
    if step is None:
        assert tat is not None
        return refused(quota, tat, now), None
    new_tat = next_tat(quota, step, tat, now)
    return admitted(quota, new_tat, now), new_tat


def expires_at(quota: Quota, now: int) -> int:
    """Epoch seconds after which a bucket written at `now` is full again, whatever it held: the item's TTL (past
    it, an item not yet swept reads as a full bucket anyway)."""
    return _seconds_up(now + quota.limit * quota.interval) + 1


def chat_bucket_key(user_id: str) -> str:
    """A user's chat bucket: one for every event and both paths, apart from their HTTP route buckets."""
    return f"{user_id}#chat"


def bucket_key(user_id: str, route_key: str) -> str:
    """One bucket per caller and route (the route's pattern, not the concrete path: per route, not per event)."""
    return f"{user_id}#{route_key}"
