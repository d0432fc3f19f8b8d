"""The template's HTTP API on a local port: route matching, throttling, JWT authorisation, CORS, the invoke.

What API Gateway does between a client and a route's function, so the handlers see the same events and the clients
the same answers (401/403/404/429 and a bare 500 come from the gateway, as in AWS). Paths under `/local/` are the
stack's own helper routes (local/helper_routes.py); the socket server is local/http_server.py.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import traceback
from collections.abc import Mapping
from typing import Any

from local import template as tpl
from local.apigw import HttpResponse, MalformedLambdaResponse, build_http_event, gateway_response, to_http_response
from local.helper_routes import LocalHelperRoutes
from local.jwt_issuer import TokenError
from local.protocols import GatewayHost
from local.route_matching import RouteTable, match_path

logger = logging.getLogger("local.stack")  # the stack's own lines share one logger name


class TokenBucket:
    """API Gateway's throttle: `burst` requests at once, refilled at `rate` per second."""

    def __init__(self, burst: float | None, rate: float | None):
        self.capacity = math.inf if burst is None else float(burst)
        self.rate = math.inf if rate is None else float(rate)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if self.rate == math.inf:
                self._tokens = self.capacity
            else:
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False


class HttpGateway:
    """The HTTP API: local helper routes, CORS, route matching, throttling, JWT auth, invoke, respond."""

    def __init__(self, stack: GatewayHost):
        self.stack = stack
        self.specs = tpl.http_route_specs(stack.template)
        self.apis = tpl.http_apis(stack.template)
        self.routes = RouteTable(spec.route for spec in self.specs)
        self._spec_by_route = {(spec.route.method, spec.route.path): spec for spec in self.specs}
        self._throttles = {
            key: TokenBucket(burst, rate) for key, (burst, rate) in tpl.route_throttling(stack.template).items()
        }
        self.helper_routes = LocalHelperRoutes(stack, route_count=len(self.specs))

    # -- entry point

    def handle(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes, source_ip: str
    ) -> HttpResponse:
        raw_path, _, raw_query = target.partition("?")
        if raw_path.startswith("/local/"):
            return self.helper_routes.handle(method, raw_path, body)
        origin = next((value for name, value in headers if name.lower() == "origin"), None)

        if method == "OPTIONS":
            preflight = self._preflight(raw_path, origin)
            if preflight is not None:
                return preflight

        match = self.routes.match(method, raw_path)
        if match is None:
            return self._static(method, raw_path, headers) or gateway_response(404, "Not Found")
        spec = self._spec_by_route[(match.route.method, match.route.path)]
        throttle = self._throttles.get(match.route_key)
        if throttle is not None and not throttle.take():
            return gateway_response(429, "Too Many Requests")

        claims = None
        if spec.authorizer:
            claims, denial = self._authorize(spec, headers)
            if denial is not None:
                return denial

        event = build_http_event(
            method,
            raw_path,
            route_key=match.route_key,
            raw_query_string=raw_query,
            headers=headers,
            body=body,
            path_parameters=match.path_parameters or None,
            claims=claims,
            source_ip=source_ip,
            account_id=self.stack.account_id,
        )
        try:
            result = self.stack.functions.invoke(spec.route.function_id, event)
            response = to_http_response(result)
        except MalformedLambdaResponse as error:
            logger.error("%s returned a malformed response: %s", spec.route.function_id, error)
            return gateway_response(500, "Internal Server Error")
        except Exception:
            # As in AWS: the client sees a bare 500, the traceback goes to the function's log.
            logger.error("%s raised:\n%s", spec.route.function_id, traceback.format_exc())
            return gateway_response(500, "Internal Server Error")
        return self._with_cors(response, self.apis.get(spec.api_id), origin)

    def _static(self, method: str, raw_path: str, headers: list[tuple[str, str]]) -> HttpResponse | None:
        """A path no route takes, answered by a service that serves static files (the web console), if any."""
        for service in self.stack.services:
            answer = service.static_route(method, raw_path, headers) if hasattr(service, "static_route") else None
            if answer is not None:
                return answer
        return None

    # -- auth

    def _authorize(self, spec: tpl.HttpRouteSpec, headers: list[tuple[str, str]]):
        value = next((value for name, value in headers if name.lower() == "authorization"), "").strip()
        token = value[7:].strip() if value[:7].lower() == "bearer " else value
        if not token:
            return None, gateway_response(401, "Unauthorized")
        try:
            claims = self.stack.issuer.verify(token)
        except TokenError as error:
            challenge = f'Bearer scope="" error="invalid_token" error_description="{error}"'
            return None, gateway_response(401, "Unauthorized", [("www-authenticate", challenge)])
        if spec.authorization_scopes:
            granted = set(str(claims.get("scope", "")).split())
            if not granted.intersection(spec.authorization_scopes):
                return None, gateway_response(403, "Forbidden")
        return claims, None

    # -- CORS

    def _cors_for_path(self, raw_path: str) -> dict[str, Any] | None:
        for spec in self.specs:
            if spec.route.path != "$default" and match_path(spec.route.path, raw_path) is not None:
                api = self.apis.get(spec.api_id)
                if api is not None and api.cors:
                    return api.cors
        return None

    @staticmethod
    def _allowed_origin(cors: Mapping[str, Any], origin: str | None) -> str | None:
        if not origin:
            return None
        allowed = [str(value) for value in cors.get("AllowOrigins") or []]
        if "*" in allowed:
            return "*"
        return origin if origin in allowed else None

    def _preflight(self, raw_path: str, origin: str | None) -> HttpResponse | None:
        # With CORS configured, API Gateway answers every preflight itself, before routes and authorizers.
        cors = self._cors_for_path(raw_path) or next((api.cors for api in self.apis.values() if api.cors), None)
        if cors is None:
            return None
        headers: list[tuple[str, str]] = []
        allowed_origin = self._allowed_origin(cors, origin)
        if allowed_origin:
            headers.append(("access-control-allow-origin", allowed_origin))
            if cors.get("AllowMethods"):
                headers.append(("access-control-allow-methods", ",".join(cors["AllowMethods"])))
            if cors.get("AllowHeaders"):
                headers.append(("access-control-allow-headers", ",".join(cors["AllowHeaders"])))
            if cors.get("MaxAge") is not None:
                headers.append(("access-control-max-age", str(cors["MaxAge"])))
            if cors.get("AllowCredentials"):
                headers.append(("access-control-allow-credentials", "true"))
        return HttpResponse(204, headers, b"")

    def _with_cors(self, response: HttpResponse, api: tpl.HttpApiSettings | None, origin: str | None) -> HttpResponse:
        if api is None or not api.cors:
            return response
        # API Gateway replaces the integration's CORS headers with its own configuration.
        response.headers = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
        allowed_origin = self._allowed_origin(api.cors, origin)
        if allowed_origin:
            response.headers.append(("access-control-allow-origin", allowed_origin))
            if api.cors.get("ExposeHeaders"):
                response.headers.append(("access-control-expose-headers", ",".join(api.cors["ExposeHeaders"])))
            if api.cors.get("AllowCredentials"):
                response.headers.append(("access-control-allow-credentials", "true"))
        return response
