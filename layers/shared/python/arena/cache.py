"""A small in-Lambda cache: entries with a time to live (the snapshot head, the event) and immutable entries
(snapshot buckets and past indexes) kept until evicted, least recently used first. Counts hits and misses."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

_MISSING = object()


class LambdaCache:
    def __init__(
        self,
        max_items: int = 4096,
        clock: Callable[[], float] = time.monotonic,
        on_lookup: Callable[[bool], None] | None = None,
    ) -> None:
        self._on_lookup = on_lookup
        self._items: OrderedDict[Hashable, tuple[float | None, Any]] = OrderedDict()
        self._max_items = max_items
        self._clock = clock
        self._lock = threading.Lock()  # one Lambda runs one request at a time; the local stack runs many
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """The cached value, or the module's _MISSING sentinel (use `found`)."""
        with self._lock:
            stored = self._items.get(key)
            if stored is not None:
                expires, value = stored
                if expires is None or expires > self._clock():
                    self._items.move_to_end(key)
                    self.hits += 1
                    self._report(True)
                    return value
                del self._items[key]
            self.misses += 1
            self._report(False)
            return _MISSING

    def _report(self, hit: bool) -> None:
        if self._on_lookup is not None:
            self._on_lookup(hit)

    def put(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        """ttl None: immutable, kept until evicted."""
        with self._lock:
            self._items[key] = (None if ttl is None else self._clock() + ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self._max_items:
                self._items.popitem(last=False)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0


def found(value: Any) -> bool:
    return value is not _MISSING
