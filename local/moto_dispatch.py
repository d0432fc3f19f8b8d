"""moto's server finds each request's service once per host, not once per request.

moto 5.2's `DomainDispatcherApplication.get_backend_for_host` runs for every request, under one lock shared by all
the server's threads: it lists moto's package directory (a `listdir` and an `isdir` per service, some 150 system
calls) to see whether the host is a service's bare name, then tries the URL patterns of every service in turn. The
answer depends on the host alone (`sqs.us-east-1.amazonaws.com` is always SQS), so it is kept per host: a queue's
or a user pool's requests no longer pay a directory walk each. Which service answers is moto's own choice."""

from __future__ import annotations

import threading
from typing import Any

_installed = False
_guard = threading.Lock()


def install() -> None:
    """Idempotent: patch moto's server dispatcher once per process."""
    global _installed
    with _guard:
        if _installed:
            return
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication

        find = DomainDispatcherApplication.get_backend_for_host
        found: dict[str | None, Any] = {}

        def get_backend_for_host(self: Any, host: str | None) -> Any:
            if host not in found:
                found[host] = find(self, host)
            return found[host]

        DomainDispatcherApplication.get_backend_for_host = get_backend_for_host  # type: ignore[method-assign]
        _installed = True
