"""What an execution environment builds once (the settings, every AWS client, the feature-flags store), in one
registry: whatever changes the environment those read (a test, the local stack starting a service) resets them all
with one call instead of keeping its own list."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_REGISTRY: list[functools._lru_cache_wrapper[Any]] = []


def cached(factory: Callable[..., T]) -> functools._lru_cache_wrapper[T]:
    """`functools.cache`, registered so `reset` empties it."""
    built = functools.cache(factory)
    _REGISTRY.append(built)
    return built


def reset() -> None:
    """Forget everything the registered factories built: the next call builds it again from the environment."""
    for factory in _REGISTRY:
        factory.cache_clear()
