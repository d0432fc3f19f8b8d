"""What a provider call ends as, and the JSON-over-HTTPS request the chat adapters (discord.py, telegram.py) share.

Every adapter returns one of four outcomes, never raises for a provider's answer:
`Sent` (with the provider's message id), `RetryAfter` (the provider asked us to wait: the dispatcher makes the
queue message visible again after that long, so nothing is lost), `PermanentFailure` (sending again cannot help;
`link_broken` when the user's address is gone: a deleted webhook, a bot the user blocked, a disabled device) and
`TransientFailure` (a timeout, a 5xx: retried with backoff by the queue, then its DLQ).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3

from arena.config import settings
from arena.factories import cached


@dataclass(frozen=True)
class Sent:
    message_id: str | None = None


@dataclass(frozen=True)
class RetryAfter:
    seconds: float
    reason: str = "rate_limited"


@dataclass(frozen=True)
class PermanentFailure:
    reason: str
    link_broken: bool = False


@dataclass(frozen=True)
class TransientFailure:
    reason: str


Outcome = Sent | RetryAfter | PermanentFailure | TransientFailure


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: Any  # the JSON answer, or None when the body was empty or not JSON


@cached
def _pool() -> urllib3.PoolManager:
    timeout = settings().provider_timeout_seconds
    # No retries here: a retry is the queue's decision (it knows the attempt count and the provider's retry_after).
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=timeout, read=timeout), retries=False, maxsize=8, block=False
    )


def post_json(url: str, payload: dict[str, Any]) -> HttpAnswer | TransientFailure:
    """POST `payload` as JSON; the answer (any status), or a TransientFailure when no answer came."""
    try:
        response = _pool().request(
            "POST",
            url,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "Arena notifications"},
            redirect=False,
        )
    except urllib3.exceptions.HTTPError as error:
        return TransientFailure(f"no answer: {type(error).__name__}")
    try:
        body = json.loads(response.data) if response.data else None
    except ValueError:
        body = None
    headers = {name.lower(): value for name, value in response.headers.items()}
    return HttpAnswer(response.status, headers, body)


def number(value: Any) -> float | None:
    """A header's or field's number, or None."""
    try:
        parsed = float(value)
    except (TypeError, ValueError):
        return None
    return parsed if parsed == parsed and parsed >= 0 else None  # not NaN, not negative
