"""The sample payloads of events/ (the files `sam local invoke -e` takes), shaped for a particular call.

Tests and the benchmarks build their Lambda events from these, so the events they send stay the ones a
developer can read and replay.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parent.parent / "events"


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def sample_event(name: str) -> dict[str, Any]:
    """A payload from events/, as a fresh copy."""
    return copy.deepcopy(_load(name))


def api_event(
    name: str,
    *,
    path: dict[str, str] | None = None,
    body: Any = None,
    query: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A sample HTTP API event from events/, with its path parameters, body, query or caller replaced.

    The path in rawPath and requestContext is rebuilt from the route template, as API Gateway would send it.
    A new caller (`claims`) brings no scopes of its own: the sample's token is replaced whole.
    """
    event = sample_event(name)
    if path:
        route = event["routeKey"].split(" ", 1)[1]
        event["pathParameters"] = {**event.get("pathParameters", {}), **path}
        concrete = route
        for key, value in event["pathParameters"].items():
            concrete = concrete.replace("{" + key + "}", value)
        event["rawPath"] = concrete
        event["requestContext"]["http"]["path"] = concrete
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if query is not None:
        event["queryStringParameters"] = query or None
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if claims is not None:
        jwt = event["requestContext"]["authorizer"]["jwt"]
        jwt["claims"] = claims
        jwt["scopes"] = None
    return event
