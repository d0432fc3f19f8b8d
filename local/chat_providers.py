"""Fake Discord and Telegram HTTP APIs for the local stack: they answer like the real ones and record what they got.

`FakeDiscord` (execute webhook): `POST /api/webhooks/<id>/<token>[?wait=true]` with JSON `{content, ...}` answers
200 and the message object (`wait=true`) or 204; a webhook it does not know (never created, or deleted) answers 404
`{"message": "Unknown Webhook", "code": 10015}`, a wrong token 401 `{"message": "Invalid Webhook Token",
"code": 50027}`, empty or over-long content 400. Each webhook is a rate-limit bucket of `limit` requests per
`window` seconds (Discord: 5 per 2 s), told in X-RateLimit-Limit / -Remaining / -Reset / -Reset-After / -Bucket;
past it, 429 `{"message": "You are being rate limited.", "retry_after": <seconds, float>, "global": false}` with
Retry-After. Webhooks are made with `create_webhook()` (the stack's `POST /local/discord/webhooks`).

`FakeTelegram` (Bot API): `POST /bot<token>/<method>` with JSON or a form; `getMe` and `sendMessage`. Answers are
`{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description"[, "parameters"]}`: a wrong token 401,
an unknown method 404, a chat that blocked the bot 403 "Forbidden: bot was blocked by the user", a chat id that is
neither a number nor an @username 400 "Bad Request: chat not found", empty or over-long text 400, HTML that
Telegram would not parse (a tag it does not support, an unclosed tag, a bare `&` or `<`) 400 "Bad Request: can't
parse entities". Pacing as Telegram enforces it: a token bucket per chat (`chat_rate` a second, `chat_burst`) and
one per bot (`bot_rate`, `bot_burst`); past either, 429 "Too Many Requests: retry after N" with
`parameters.retry_after` N (whole seconds).

Both keep what they accepted (`messages`, newest last) and what they refused (`refusals`), thread-safe.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.http_server import serve_in_background, shut_down

Clock = Callable[[], float]


@dataclass
class _Bucket:
    """A token bucket: `capacity` calls at once, refilled at `rate` a second."""

    rate: float
    capacity: float
    tokens: float = -1.0
    updated: float = 0.0

    def take(self, now: float) -> float:
        """0 when a call may go now (and it is counted), else the seconds until one may."""
        if self.tokens < 0:
            self.tokens, self.updated = self.capacity, now
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class _JsonServer:
    """A small threaded HTTP server whose requests go to `self.answer(method, path, query, body)`."""

    name = "fake"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or time.monotonic
        self.lock = threading.RLock()
        self.messages: list[dict[str, Any]] = []
        self.refusals: list[dict[str, Any]] = []
        self.url: str | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = serve_in_background(self._server, f"local-{self.name}")
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            shut_down(self._server, self._thread)
        self._server, self._thread, self.url = None, None, None

    def __enter__(self) -> _JsonServer:
        self.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        raise NotImplementedError

    def _refuse(self, status: int, path: str, reason: str) -> None:
        with self.lock:
            self.refusals.append({"status": status, "path": path, "reason": reason, "at": time.time()})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: _JsonServer

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        body: Any
        if kind == "application/x-www-form-urlencoded":
            body = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        else:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        status, headers, payload = self.fake.answer(self.command, parts.path, query, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PATCH = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the stack's log stays readable; what came in is in `messages`


# ---------------------------------------------------------------------------------------------------------- Discord

_WEBHOOK = re.compile(r"^/api(?:/v\d+)?/webhooks/(\d+)/([A-Za-z0-9_\-]+)$")


@dataclass
class Webhook:
    id: str
    token: str
    channel_id: str
    bucket: _Bucket = field(repr=False, default_factory=lambda: _Bucket(2.5, 5))


class FakeDiscord(_JsonServer):
    """Discord's execute-webhook endpoint; `limit` requests per `window` seconds per webhook."""

    name = "discord"

    def __init__(self, clock: Clock | None = None, *, limit: int = 5, window: float = 2.0) -> None:
        super().__init__(clock)
        self.limit, self.window = limit, window
        self.webhooks: dict[str, Webhook] = {}
        self._ids = 1_300_000_000_000_000_000

    def set_rate_limit(self, limit: int, window: float) -> None:
        with self.lock:
            self.limit, self.window = limit, window
            for webhook in self.webhooks.values():
                webhook.bucket = _Bucket(limit / window, limit)

    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    def create_webhook(self, channel_id: str | None = None) -> str:
        """A new webhook; its URL (`<url>/api/webhooks/<id>/<token>`)."""
        with self.lock:
            webhook = Webhook(self._next_id(), secrets.token_urlsafe(32), channel_id or self._next_id())
            webhook.bucket = _Bucket(self.limit / self.window, self.limit)
            self.webhooks[webhook.id] = webhook
        return f"{self.url}/api/webhooks/{webhook.id}/{webhook.token}"

    def delete_webhook(self, webhook_id: str) -> None:
        with self.lock:
            self.webhooks.pop(webhook_id, None)

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        match = _WEBHOOK.match(path)
        if match is None:
            return 404, {}, {"message": "404: Not Found", "code": 0}
        webhook_id, token = match.groups()
        with self.lock:
            webhook = self.webhooks.get(webhook_id)
            if webhook is None:
                self._refuse(404, path, "unknown webhook")
                return 404, {}, {"message": "Unknown Webhook", "code": 10015}
            if not secrets.compare_digest(webhook.token, token):
                self._refuse(401, path, "invalid token")
                return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}
            if method != "POST":
                return 405, {}, {"message": "405: Method Not Allowed", "code": 0}
            now = self.clock()
            wait = webhook.bucket.take(now)
            headers = self._bucket_headers(webhook, now)
            if wait > 0:
                retry_after = round(wait, 3)
                headers.update({"Retry-After": str(math.ceil(retry_after)), "X-RateLimit-Scope": "shared"})
                headers["X-RateLimit-Reset-After"] = f"{retry_after:.3f}"
                self._refuse(429, path, f"rate limited for {retry_after} s")
                return (
                    429,
                    headers,
                    {"message": "You are being rate limited.", "retry_after": retry_after, "global": False},
                )
            content = body.get("content") if isinstance(body, dict) else None
            if not isinstance(content, str) or not content.strip():
                self._refuse(400, path, "empty message")
                return 400, headers, {"message": "Cannot send an empty message", "code": 50006}
            if len(content) > 2_000:
                self._refuse(400, path, "content too long")
                return (
                    400,
                    headers,
                    {
                        "message": "Invalid Form Body",
                        "code": 50035,
                        "errors": {
                            "content": {
                                "_errors": [
                                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                                ]
                            }
                        },
                    },
                )
            message = {
                "id": self._next_id(),
                "type": 0,
                "channel_id": webhook.channel_id,
                "webhook_id": webhook.id,
                "content": content,
                "allowed_mentions": body.get("allowed_mentions"),
                "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
            }
            self.messages.append(message)
        if query.get("wait", "").lower() == "true":
            return 200, headers, message
        return 204, headers, None

    def _bucket_headers(self, webhook: Webhook, now: float) -> dict[str, str]:
        bucket = webhook.bucket
        remaining = max(0, math.floor(bucket.tokens))
        reset_after = (bucket.capacity - bucket.tokens) / bucket.rate
        return {
            "X-RateLimit-Limit": str(int(bucket.capacity)),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"webhook-{webhook.id}",
        }


# --------------------------------------------------------------------------------------------------------- Telegram

_TELEGRAM = re.compile(r"^/bot([^/]+)/([A-Za-z]+)$")
_CHAT_ID = re.compile(r"^(-?\d{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$")
# The tags of Telegram's HTML parse mode.
TELEGRAM_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}


class _TelegramHtml(HTMLParser):
    """Reads text as Telegram's HTML parse mode does; `error` says why Telegram would refuse it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.open: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TELEGRAM_TAGS:
            self.error = self.error or f'unsupported start tag "{tag}"'
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.error = self.error or f'unexpected end tag "{tag}"'
        else:
            self.open.pop()

    def handle_entityref(self, name: str) -> None:
        if name not in ("lt", "gt", "amp", "quot"):
            self.error = self.error or f'unsupported entity "&{name};"'

    def handle_data(self, data: str) -> None:
        if "<" in data or re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", data):
            self.error = self.error or "unescaped '<' or '&'"


def telegram_html_error(text: str) -> str | None:
    """Why Telegram would refuse `text` in HTML parse mode, or None."""
    if re.search(r"&(?![a-zA-Z]+;|#\d+;|#x[0-9a-fA-F]+;)", text):
        return "unescaped '&'"
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.error is None and parser.open:
        parser.error = f'can\'t find end tag corresponding to start tag "{parser.open[-1]}"'
    if parser.error is None and parser.rawdata:
        parser.error = "unfinished tag"
    return parser.error


class FakeTelegram(_JsonServer):
    """Telegram's Bot API for one bot (`token`)."""

    name = "telegram"

    def __init__(
        self,
        token: str = "4242:local-bot-token",  # noqa: S107 - the fake bot's, only ever local
        clock: Clock | None = None,
        *,
        chat_rate: float = 1.0,
        chat_burst: float = 3,
        bot_rate: float = 30.0,
        bot_burst: float = 30,
    ) -> None:
        super().__init__(clock)
        self.token = token
        self.blocked: set[str] = set()
        self.set_rate_limit(chat_rate=chat_rate, chat_burst=chat_burst, bot_rate=bot_rate, bot_burst=bot_burst)
        self._message_ids = 0

    def set_rate_limit(self, *, chat_rate: float, chat_burst: float, bot_rate: float, bot_burst: float) -> None:
        with self.lock:
            self.chat_rate, self.chat_burst = chat_rate, chat_burst
            self._bot_bucket = _Bucket(bot_rate, bot_burst)
            self._chat_buckets: dict[str, _Bucket] = {}

    def block(self, chat_id: str) -> None:
        """The user of `chat_id` blocks the bot: every later message to it answers 403."""
        with self.lock:
            self.blocked.add(str(chat_id))

    @staticmethod
    def _error(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, str], Any]:
        body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            body["parameters"] = parameters
        return code, {}, body

    def answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, dict[str, str], Any]:
        match = _TELEGRAM.match(path)
        if match is None:
            return self._error(404, "Not Found")
        token, api_method = match.groups()
        if not secrets.compare_digest(token, self.token):
            self._refuse(401, path, "wrong token")
            return self._error(401, "Unauthorized")
        params = {**query, **(body if isinstance(body, dict) else {})}
        if api_method == "getMe":
            return (
                200,
                {},
                {
                    "ok": True,
                    "result": {
                        "id": int(self.token.split(":")[0]),
                        "is_bot": True,
                        "first_name": "Arena",
                        "username": "arena_local_bot",
                    },
                },
            )
        if api_method != "sendMessage":
            return self._error(404, "Not Found")
        return self._send_message(path, params)

    def _send_message(self, path: str, params: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        chat_id = str(params.get("chat_id", ""))
        text = params.get("text")
        if not chat_id:
            self._refuse(400, path, "chat_id is empty")
            return self._error(400, "Bad Request: chat_id is empty")
        if not _CHAT_ID.match(chat_id):
            self._refuse(400, path, "chat not found")
            return self._error(400, "Bad Request: chat not found")
        if not isinstance(text, str) or not text.strip():
            self._refuse(400, path, "message text is empty")
            return self._error(400, "Bad Request: message text is empty")
        if len(text) > 4_096:
            self._refuse(400, path, "message is too long")
            return self._error(400, "Bad Request: message is too long")
        parse_mode = params.get("parse_mode")
        if parse_mode == "HTML":
            problem = telegram_html_error(text)
            if problem is not None:
                self._refuse(400, path, f"can't parse entities: {problem}")
                return self._error(400, f"Bad Request: can't parse entities: {problem}")
        with self.lock:
            if chat_id in self.blocked:
                self._refuse(403, path, "blocked")
                return self._error(403, "Forbidden: bot was blocked by the user")
            now = self.clock()
            bucket = self._chat_buckets.setdefault(chat_id, _Bucket(self.chat_rate, self.chat_burst))
            wait = bucket.take(now)
            if wait == 0:
                wait = self._bot_bucket.take(now)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                self._refuse(429, path, f"retry after {seconds}")
                return self._error(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)
            self._message_ids += 1
            message = {
                "message_id": self._message_ids,
                "date": int(time.time()),
                "chat": {"id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id, "type": "private"},
                "text": text,
                "parse_mode": parse_mode,
            }
            self.messages.append(message)
        return 200, {}, {"ok": True, "result": {k: v for k, v in message.items() if k != "parse_mode"}}
