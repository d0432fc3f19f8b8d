"""The one injectable clock. Everything that asks "what time is it" asks here, so tests and the local stack's
demo can pin or compress time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    return _source()


def set_source(source: Callable[[], datetime]) -> None:
    global _source
    _source = source


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Pin the clock (tests): every `now()` inside returns `moment`."""
    previous = _source
    set_source(lambda: moment)
    try:
        yield
    finally:
        set_source(previous)


def to_iso(moment: datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, the one wire and storage format (sorts as text)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
