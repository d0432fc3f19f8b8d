"""Route selection as API Gateway HTTP APIs do it: path templates ("/a/{id}", "/files/{proxy+}") matched segment by
segment, the most specific path winning, then an exact method over ANY, and `$default` catching the rest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote


class RouteLike(Protocol):
    method: str
    path: str


@dataclass(frozen=True)
class RouteMatch:
    route: Any
    path_parameters: dict[str, str]

    @property
    def route_key(self) -> str:
        path = self.route.path
        return "$default" if path == "$default" else f"{self.route.method} {path}"


# Segment kinds, in the order API Gateway prefers them: a literal beats {param}, which beats {proxy+}.
_LITERAL, _PARAM, _GREEDY = 0, 1, 2


def _segments(template: str) -> list[tuple[int, str]]:
    parts = template.strip("/").split("/") if template.strip("/") else []
    compiled = []
    for index, part in enumerate(parts):
        if part.startswith("{") and part.endswith("+}"):
            if index != len(parts) - 1:
                raise ValueError(f"greedy path variable must be last: {template}")
            compiled.append((_GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            compiled.append((_PARAM, part[1:-1]))
        else:
            compiled.append((_LITERAL, part))
    return compiled


def match_path(template: str, raw_path: str) -> dict[str, str] | None:
    """Path parameters when `raw_path` matches the route path `template` ("/a/{id}", "/files/{proxy+}")."""
    return _match_segments(_segments(template), raw_path)


def _match_segments(segments: Sequence[tuple[int, str]], raw_path: str) -> dict[str, str] | None:
    parts = raw_path[1:].split("/") if raw_path.startswith("/") else raw_path.split("/")
    if parts == [""]:
        parts = []
    parameters: dict[str, str] = {}
    for index, (kind, name) in enumerate(segments):
        if kind == _GREEDY:
            rest = parts[index:]
            if not rest or rest == [""]:
                return None  # a greedy variable needs at least one segment
            parameters[name] = unquote("/".join(rest))
            return parameters
        if index >= len(parts):
            return None
        if kind == _LITERAL:
            if parts[index] != name:
                return None
        else:
            if parts[index] == "":
                return None
            parameters[name] = unquote(parts[index])
    return parameters if len(parts) == len(segments) else None


class RouteTable:
    """Route selection as API Gateway HTTP APIs do it: the most specific path wins, then an exact method
    over ANY, and the $default route catches what nothing else matches."""

    def __init__(self, routes: Iterable[RouteLike]):
        self._routes = []
        self._default = None
        for route in routes:
            if route.path == "$default":
                self._default = route
                continue
            segments = _segments(route.path)
            self._routes.append((route, segments, tuple(kind for kind, _ in segments)))

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        # Methods are case-sensitive (RFC 9110): "get" is not GET, so only ANY or $default takes it.
        best = None
        for route, segments, rank in self._routes:
            route_method = route.method.upper()
            if route_method not in (method, "ANY"):
                continue
            parameters = _match_segments(segments, raw_path)
            if parameters is None:
                continue
            key = (rank, route_method == "ANY")
            if best is None or key < best[0]:
                best = (key, RouteMatch(route, parameters))
        if best is not None:
            return best[1]
        if self._default is not None:
            return RouteMatch(self._default, {})
        return None
