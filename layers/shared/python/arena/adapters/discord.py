"""Discord webhooks: execute a webhook (POST <webhook URL>?wait=true, JSON {content, allowed_mentions}).

A webhook URL is `<DISCORD_API_BASE>/webhooks/<id>/<token>` (the local stack points DISCORD_API_BASE at its fake);
any other URL is refused before a request is made, so a stored link cannot aim Arena at another host. Mentions are
never parsed (`allowed_mentions: {parse: []}`): a notification cannot ping @everyone.

Rate limits: each answer's X-RateLimit-Remaining / X-RateLimit-Reset-After describe the webhook's bucket; an
exhausted bucket is waited for (up to `MAX_INLINE_WAIT` seconds, else the caller is told to retry later) instead
of earning a 429. A 429 is honoured: `retry_after` of the body (seconds, a float) or the Retry-After /
X-RateLimit-Reset-After headers, whichever is longest.
"""

from __future__ import annotations

import re
import threading
import time

from arena.adapters.chat_http import (
    HttpAnswer,
    Outcome,
    PermanentFailure,
    RetryAfter,
    Sent,
    TransientFailure,
    number,
    post_json,
)
from arena.config import settings
from arena.domain.pacing import Buckets

# Discord's limit on a message's content.
MAX_CONTENT = 2_000
# Waiting longer than this inside an invocation holds the whole batch: the queue waits instead.
MAX_INLINE_WAIT = 2.0
_WEBHOOK_PATH = re.compile(r"^/webhooks/[0-9]{1,20}/[A-Za-z0-9_\-]{1,100}$")

_buckets = Buckets()
_lock = threading.Lock()
# The time the pacing reads and how it waits (a test moves a fake clock instead).
clock = time.monotonic
sleep = time.sleep


def is_webhook_url(url: str) -> bool:
    """Whether `url` is a Discord webhook of the configured API (`<base>/webhooks/<id>/<token>`, no query)."""
    base = settings().discord_api_base.rstrip("/")
    return isinstance(url, str) and url.startswith(base + "/") and bool(_WEBHOOK_PATH.match(url[len(base) :]))


def _webhook_key(url: str) -> str:
    return url.rsplit("/", 1)[0]  # .../webhooks/<id>: the bucket is the webhook's, the token is a secret


def send(webhook_url: str, content: str) -> Outcome:
    """Post `content` (Discord markdown, at most 2,000 characters) through the webhook."""
    if not is_webhook_url(webhook_url):
        return PermanentFailure("not a Discord webhook URL of the configured API", link_broken=True)
    if not content or len(content) > MAX_CONTENT:
        return PermanentFailure("content is empty or longer than Discord takes")
    key = _webhook_key(webhook_url)
    with _lock:
        wait = _buckets.wait(key, clock())
    if wait > MAX_INLINE_WAIT:
        return RetryAfter(wait, "webhook bucket exhausted")
    if wait > 0:
        sleep(wait)
    answer = post_json(f"{webhook_url}?wait=true", {"content": content, "allowed_mentions": {"parse": []}})
    if isinstance(answer, TransientFailure):
        return answer
    return _outcome(key, answer)


def _outcome(key: str, answer: HttpAnswer) -> Outcome:
    now = clock()
    headers = answer.headers
    remaining = number(headers.get("x-ratelimit-remaining"))
    reset_after = number(headers.get("x-ratelimit-reset-after"))
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 429:
        delays = [number(body.get("retry_after")), number(headers.get("retry-after")), reset_after]
        seconds = max([d for d in delays if d is not None] or [1.0])
        with _lock:
            _buckets.blocked(key, seconds, now)
        scope = "global" if body.get("global") else headers.get("x-ratelimit-scope", "webhook")
        return RetryAfter(seconds, f"429 ({scope})")
    with _lock:
        _buckets.observe(key, None if remaining is None else int(remaining), reset_after, now)
    if answer.status in (200, 204):
        return Sent(str(body["id"]) if "id" in body else None)
    message = str(body.get("message") or f"HTTP {answer.status}")
    if answer.status in (401, 403, 404):  # Unknown Webhook (10015), Invalid Webhook Token (50027): deleted
        return PermanentFailure(f"{answer.status} {message}", link_broken=True)
    if 400 <= answer.status < 500:
        return PermanentFailure(f"{answer.status} {message}")
    return TransientFailure(f"{answer.status} {message}")
