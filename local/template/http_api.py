"""The template's HTTP APIs and routes: what the local gateway serves, with which authorizer, throttle and CORS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from local.template.function_specs import functions
from local.template.intrinsics import NO_VALUE, LocalContext, resolve
from local.template.loading import HTTP_API_TYPE, IMPLICIT_HTTP_API, resources_of_type


class HttpRoute(NamedTuple):
    """One route of an HTTP API: ("GET", "/api/events/{eventId}", "GetEventFunction", True)."""

    method: str
    path: str
    function_id: str
    auth_required: bool

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True)
class HttpRouteSpec:
    """An HttpApi event with everything the local API gateway needs to serve it."""

    route: HttpRoute
    api_id: str
    authorizer: str | None
    authorization_scopes: tuple[str, ...] = ()


@dataclass(frozen=True)
class HttpApiSettings:
    logical_id: str
    throttling_burst_limit: int | None
    throttling_rate_limit: float | None
    route_throttling: dict[str, tuple[int | None, float | None]]
    cors: dict[str, Any] | None
    default_authorizer: str | None
    authorizers: dict[str, Any]


def http_apis(template: Mapping[str, Any]) -> dict[str, HttpApiSettings]:
    """Settings of every AWS::Serverless::HttpApi (and of SAM's implicit one when an event needs it)."""
    apis = {}
    globals_api = ((template.get("Globals") or {}).get("HttpApi")) or {}
    declared = resources_of_type(template, HTTP_API_TYPE)
    if IMPLICIT_HTTP_API not in declared:
        declared[IMPLICIT_HTTP_API] = {}
    # Throttling and CORS may come from parameters (per stage): their defaults are what runs locally.
    context = LocalContext(template=template)
    for logical_id, own in declared.items():
        props = {**globals_api, **own}
        defaults = resolve(props.get("DefaultRouteSettings") or {}, context)
        auth = props.get("Auth") or {}
        route_throttling = {
            route_key: (settings.get("ThrottlingBurstLimit"), settings.get("ThrottlingRateLimit"))
            for route_key, settings in resolve(props.get("RouteSettings") or {}, context).items()
        }
        cors = resolve(props.get("CorsConfiguration"), context)
        if cors is NO_VALUE:
            cors = None
        if cors is True:  # SAM's shorthand: allow everything
            cors = {"AllowOrigins": ["*"], "AllowHeaders": ["*"], "AllowMethods": ["*"]}
        apis[logical_id] = HttpApiSettings(
            logical_id=logical_id,
            throttling_burst_limit=defaults.get("ThrottlingBurstLimit"),
            throttling_rate_limit=defaults.get("ThrottlingRateLimit"),
            route_throttling=route_throttling,
            cors=cors or None,
            default_authorizer=auth.get("DefaultAuthorizer"),
            authorizers=dict(auth.get("Authorizers") or {}),
        )
    return apis


def http_route_specs(template: Mapping[str, Any]) -> list[HttpRouteSpec]:
    """Every HttpApi event of every function, with its API, authorizer and scopes."""
    apis = http_apis(template)
    specs = []
    for function in functions(template):
        for event_type, props in function.events:
            if event_type != "HttpApi":
                continue
            api_ref = props.get("ApiId")
            api_id = api_ref["Ref"] if isinstance(api_ref, Mapping) and "Ref" in api_ref else IMPLICIT_HTTP_API
            api = apis.get(api_id) or apis[IMPLICIT_HTTP_API]
            auth = props.get("Auth") or {}
            authorizer = auth.get("Authorizer", api.default_authorizer)
            if authorizer == "NONE":
                authorizer = None
            path = props.get("Path")
            method = str(props.get("Method", "ANY")).upper()
            if path is None:  # no Path: SAM makes it the $default route
                path, method = "$default", "ANY"
            specs.append(
                HttpRouteSpec(
                    route=HttpRoute(method, path, function.logical_id, authorizer is not None),
                    api_id=api_id,
                    authorizer=authorizer,
                    authorization_scopes=tuple(auth.get("AuthorizationScopes") or ()),
                )
            )
    return specs


def http_routes(template: Mapping[str, Any]) -> list[HttpRoute]:
    """(METHOD, path template, function logical id, auth required) for every HttpApi event."""
    return [spec.route for spec in http_route_specs(template)]


def route_throttling(template: Mapping[str, Any]) -> dict[str, tuple[int | None, float | None]]:
    """{route key: (burst limit, rate limit)} for every HTTP route, from DefaultRouteSettings and RouteSettings."""
    apis = http_apis(template)
    result = {}
    for spec in http_route_specs(template):
        api = apis[spec.api_id] if spec.api_id in apis else apis[IMPLICIT_HTTP_API]
        burst, rate = api.throttling_burst_limit, api.throttling_rate_limit
        override = api.route_throttling.get(spec.route.route_key)
        if override:
            burst = override[0] if override[0] is not None else burst
            rate = override[1] if override[1] is not None else rate
        result[spec.route.route_key] = (burst, rate)
    return result
