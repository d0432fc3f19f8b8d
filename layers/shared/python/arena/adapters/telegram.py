"""Telegram's Bot API: sendMessage (POST <TELEGRAM_API_BASE>/bot<token>/sendMessage, JSON), HTML parse mode.

The bot's token is TELEGRAM_BOT_TOKEN; the local stack points TELEGRAM_API_BASE at its fake. Every answer is
`{"ok": bool, ...}`: `result` when ok, else `error_code`, `description` and, on a 429, `parameters.retry_after`
(seconds), which is honoured.

Pacing (Telegram: about 30 messages a second per bot, one a second per chat): each execution environment sends at
most TELEGRAM_MESSAGES_PER_SECOND overall and one message per chat every TELEGRAM_CHAT_INTERVAL_SECONDS; the
dispatcher's MaximumConcurrency keeps the invocations together under the bot's limit, and a 429 that still comes is
honoured through the queue.
"""

from __future__ import annotations

import threading
import time
from typing import Any

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
from arena.domain.pacing import Pacer
from arena.factories import cached

MAX_TEXT = 4_096
MAX_INLINE_WAIT = 2.0
_lock = threading.Lock()
# The time the pacing reads and how it waits (a test moves a fake clock instead).
clock = time.monotonic
sleep = time.sleep


@cached
def _pacer() -> Pacer:
    config = settings()
    return Pacer(rate=config.telegram_messages_per_second, key_interval=config.telegram_chat_interval_seconds)


def configured() -> bool:
    return bool(settings().telegram_bot_token)


def send(chat_id: str, text: str) -> Outcome:
    """Send `text` (Telegram HTML: already escaped, at most 4,096 characters) to `chat_id`."""
    token = settings().telegram_bot_token
    if not token:
        return TransientFailure("TELEGRAM_BOT_TOKEN is not set")
    if not text or len(text) > MAX_TEXT:
        return PermanentFailure("text is empty or longer than Telegram takes")
    with _lock:
        wait = _pacer().reserve(str(chat_id), clock())
    if wait > MAX_INLINE_WAIT:
        return RetryAfter(wait, "paced")
    if wait > 0:
        sleep(wait)
    url = f"{settings().telegram_api_base.rstrip('/')}/bot{token}/sendMessage"
    payload = {
        "chat_id": chat_id,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    answer = post_json(url, payload)
    if isinstance(answer, TransientFailure):
        return answer
    return _outcome(answer)


def _outcome(answer: HttpAnswer) -> Outcome:
    body = answer.body if isinstance(answer.body, dict) else {}
    if answer.status == 200 and body.get("ok"):
        result = body.get("result") or {}
        return Sent(str(result["message_id"]) if isinstance(result, dict) and "message_id" in result else None)
    code = body.get("error_code", answer.status)
    description = str(body.get("description") or f"HTTP {answer.status}")
    parameters: dict[str, Any] = body["parameters"] if isinstance(body.get("parameters"), dict) else {}
    if code == 429 or answer.status == 429:
        seconds = number(parameters.get("retry_after")) or number(answer.headers.get("retry-after")) or 1.0
        return RetryAfter(seconds, "429")
    if code == 403:  # the user blocked the bot, or the bot was removed from the group
        return PermanentFailure(f"403 {description}", link_broken=True)
    if code == 400 and ("chat not found" in description.lower() or "migrate_to_chat_id" in parameters):
        return PermanentFailure(f"400 {description}", link_broken=True)
    if code == 401:  # the bot's token is wrong: configuration, not this user's address
        return TransientFailure(f"401 {description}")
    if isinstance(code, int) and 400 <= code < 500:
        return PermanentFailure(f"{code} {description}")
    return TransientFailure(f"{code} {description}")
