"""Pacing outbound provider calls, pure (the caller passes the time and does the waiting).

`Pacer`: at most `rate` calls a second overall and one call per key every `key_interval` seconds (Telegram: about
30 messages a second per bot, 1 a second per chat). `Buckets`: what a provider's rate-limit headers said about a
bucket (Discord: X-RateLimit-Remaining and X-RateLimit-Reset-After per webhook), so the next call to an exhausted
bucket waits for its reset instead of earning a 429.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Keys remembered per execution environment; an old key's slot is long past, so forgetting it changes nothing.
MAX_KEYS = 10_000


@dataclass
class Pacer:
    rate: float
    key_interval: float
    _next_any: float = 0.0
    _next_by_key: dict[str, float] = field(default_factory=dict)

    def reserve(self, key: str, now: float) -> float:
        """Book the next call for `key` and return how long to wait before making it (0 when it may go now)."""
        start = max(now, self._next_any, self._next_by_key.get(key, 0.0))
        self._next_any = start + 1.0 / self.rate
        if len(self._next_by_key) >= MAX_KEYS:
            self._next_by_key = {k: t for k, t in self._next_by_key.items() if t > now}
        self._next_by_key[key] = start + self.key_interval
        return start - now


@dataclass
class Buckets:
    _reset_at: dict[str, float] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float:
        """Seconds until `key`'s bucket has room again (0: it has room or nothing is known)."""
        reset_at = self._reset_at.get(key)
        if reset_at is None or reset_at <= now:
            self._reset_at.pop(key, None)
            return 0.0
        return reset_at - now

    def observe(self, key: str, remaining: int | None, reset_after: float | None, now: float) -> None:
        """What a response's headers said: with nothing remaining, the bucket is empty until its reset."""
        if remaining is not None and remaining <= 0 and reset_after is not None and reset_after > 0:
            if len(self._reset_at) >= MAX_KEYS:
                self._reset_at = {k: t for k, t in self._reset_at.items() if t > now}
            self._reset_at[key] = now + reset_after
        else:
            self._reset_at.pop(key, None)

    def blocked(self, key: str, seconds: float, now: float) -> None:
        """A 429 said: nothing for `key` for `seconds`."""
        self._reset_at[key] = max(self._reset_at.get(key, 0.0), now + seconds)
