"""Typed domain errors. Services raise these; `arena.http` alone maps them to HTTP statuses."""

from __future__ import annotations

from typing import Any


class ArenaError(Exception):
    """Base of every error a client may see. `code` is stable and machine-readable."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class BadRequest(ArenaError):
    code = "bad_request"


class UnsupportedMediaType(ArenaError):
    """A body in a format the route does not read (the API reads JSON only)."""

    code = "unsupported_media_type"


class InvalidInput(ArenaError):
    """Well-formed but semantically wrong input (a rule about the values, not their shape)."""

    code = "invalid_input"


class Unauthenticated(ArenaError):
    code = "unauthenticated"


class Forbidden(ArenaError):
    code = "forbidden"


class NotFound(ArenaError):
    code = "not_found"


class Conflict(ArenaError):
    """The request is valid but the resource's current state refuses it (stale version, event over, full)."""

    code = "conflict"


class RateLimited(ArenaError):
    """Too many requests; `headers` (Retry-After, RateLimit-*) go on the HTTP answer."""

    code = "rate_limited"

    def __init__(
        self, message: str, *, code: str | None = None, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.headers = dict(headers or {})


class NotModified(Exception):
    """Not an error: the client's copy (its If-None-Match) is still current. Answered 304 with these headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__("not modified")
        self.headers = headers
