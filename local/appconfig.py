"""AWS AppConfig for the local stack: the template's configurations in moto, and AppConfig's data API served.

moto serves AppConfig's management API (applications, configuration profiles, hosted configuration versions) but
not its data API (`appconfigdata`: StartConfigurationSession, GetLatestConfiguration), which Powertools'
AppConfigStore calls. `AppConfigService` therefore

1. creates the template's AWS::AppConfig::Application, ConfigurationProfile and HostedConfigurationVersion
   resources in moto (moto has no environments: their ids are kept here), and points the functions' environment
   variables that name them (FEATURE_FLAGS_APPLICATION, ...) at the ids it got;
2. serves the data API on its own port, speaking its REST-JSON protocol, and sets AWS_ENDPOINT_URL_APPCONFIGDATA
   so every boto3 client (the functions', the tests') reaches it. A session's poll answers the profile's latest
   hosted configuration version when it is newer than the one the session last received, and an empty body
   otherwise, as AppConfig does. Locally the latest version counts as deployed at once (no deployment strategy);
3. answers the `/local/flags` helper routes on the HTTP API's port (local/flag_routes.py); functions see a change
   once their cached copy expires (FEATURE_FLAGS_MAX_AGE_SECONDS, 1 s locally unless set).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from local import template as tpl
from local.apigw import HttpResponse
from local.flag_routes import FlagRoutes, FlagsProfile
from local.http_server import serve_in_background, shut_down
from local.runtime import clear_cached_factories

if TYPE_CHECKING:
    from local.protocols import StackHandle

logger = logging.getLogger("local.appconfig")

APPLICATION_TYPE = "AWS::AppConfig::Application"
ENVIRONMENT_TYPE = "AWS::AppConfig::Environment"
PROFILE_TYPE = "AWS::AppConfig::ConfigurationProfile"
VERSION_TYPE = "AWS::AppConfig::HostedConfigurationVersion"
LOCAL_MAX_AGE_SECONDS = "1"
DEFAULT_POLL_INTERVAL_SECONDS = 60


class DataApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Session:
    application_id: str
    environment_id: str
    profile_id: str
    poll_interval: int
    served_version: int = 0


@dataclass
class _Environment:
    id: str
    name: str


@dataclass
class AppConfigRegistry:
    """What the service created: moto's applications are read from moto, environments live here."""

    environments: dict[str, list[_Environment]] = field(default_factory=dict)  # by application id


class AppConfigService:
    """The template's AppConfig resources in moto, the data API on a local port, and `/local/flags`."""

    name = "appconfig"

    def __init__(self) -> None:
        self.url: str | None = None
        self.flags = FlagRoutes(self.latest_version, self._client)
        self._stack: StackHandle | None = None
        self._registry = AppConfigRegistry()
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self, stack: StackHandle) -> None:
        template = stack.template
        if not tpl.resources_of_type(template, APPLICATION_TYPE):
            return
        self._stack = stack
        self._registry = AppConfigRegistry()
        self.flags.profile = None
        functions = list(stack.functions)
        before = {f.spec.logical_id: tpl.resolve(f.spec.environment, stack.context) for f in functions}
        self._create_resources(stack)
        self._start_server(stack)
        stack.set_environ("AWS_ENDPOINT_URL_APPCONFIGDATA", self.url)
        # The variables that name these resources resolved to stand-ins before the ids existed: resolve them again.
        for function in functions:
            after = tpl.resolve(function.spec.environment, stack.context)
            for name, value in after.items():
                if value != before[function.spec.logical_id].get(name):
                    stack.set_function_environ(name, tpl.environment_string(value))
        if "FEATURE_FLAGS_MAX_AGE_SECONDS" not in os.environ:  # a flip is seen within a second or two
            stack.set_environ("FEATURE_FLAGS_MAX_AGE_SECONDS", LOCAL_MAX_AGE_SECONDS)
        clear_cached_factories()
        logger.info("AppConfig data API at %s", self.url)

    def stop(self) -> None:
        if self._server is not None:
            shut_down(self._server, self._thread)
            self._server = None
            self._thread = None
        self._sessions.clear()
        self.url = None
        clear_cached_factories()

    def health(self) -> dict[str, Any]:
        return {} if self.url is None else {"appconfigdata": self.url}

    def local_route(self, method: str, raw_path: str, body: bytes) -> HttpResponse | None:
        """The gateway's hook for `/local/...` paths: an answer for the flags routes, None for any other path."""
        return self.flags.route(method, raw_path, body)

    # -- resources

    def _create_resources(self, stack: StackHandle) -> None:
        client, context = stack.client("appconfig"), stack.context
        for logical_id, props in tpl.resources_of_type(stack.template, APPLICATION_TYPE).items():
            props = tpl.resolve(props, context)
            created = client.create_application(Name=props["Name"], Description=props.get("Description", ""))
            context.refs[logical_id] = created["Id"]
            context.attributes[(logical_id, "ApplicationId")] = created["Id"]
        for logical_id, props in tpl.resources_of_type(stack.template, ENVIRONMENT_TYPE).items():
            props = tpl.resolve(props, context)
            environment = _Environment(id=secrets.token_hex(4)[:7], name=props["Name"])
            self._registry.environments.setdefault(props["ApplicationId"], []).append(environment)
            context.refs[logical_id] = environment.id
            context.attributes[(logical_id, "EnvironmentId")] = environment.id
        for logical_id, props in tpl.resources_of_type(stack.template, PROFILE_TYPE).items():
            props = tpl.resolve(props, context)
            created = client.create_configuration_profile(
                ApplicationId=props["ApplicationId"],
                Name=props["Name"],
                LocationUri=props.get("LocationUri", "hosted"),
                Type=props.get("Type", "AWS.Freeform"),
            )
            context.refs[logical_id] = created["Id"]
            context.attributes[(logical_id, "ConfigurationProfileId")] = created["Id"]
        for logical_id, props in tpl.resources_of_type(stack.template, VERSION_TYPE).items():
            props = tpl.resolve(props, context)
            content = str(props["Content"])
            created = client.create_hosted_configuration_version(
                ApplicationId=props["ApplicationId"],
                ConfigurationProfileId=props["ConfigurationProfileId"],
                Content=content.encode(),
                ContentType=props["ContentType"],
                Description=props.get("Description", ""),
            )
            context.refs[logical_id] = str(created["VersionNumber"])
            context.attributes[(logical_id, "VersionNumber")] = str(created["VersionNumber"])
            if self.flags.profile is None:
                environments = self._registry.environments.get(props["ApplicationId"]) or []
                if environments:
                    self.flags.profile = FlagsProfile(
                        application_id=props["ApplicationId"],
                        environment_id=environments[0].id,
                        profile_id=props["ConfigurationProfileId"],
                        template_content=content,
                        content_type=props["ContentType"],
                    )

    def _client(self) -> Any:
        assert self._stack is not None
        return self._stack.client("appconfig")

    def _backend(self) -> Any:
        from moto.appconfig.models import appconfig_backends  # the stack's moto server runs in this process

        assert self._stack is not None
        return appconfig_backends[self._stack.account_id][self._stack.region]

    def latest_version(self, application_id: str, profile_id: str) -> Any | None:
        """The profile's newest hosted configuration version (moto's model), or None when it has none."""
        versions = self._backend().get_configuration_profile(application_id, profile_id).config_versions
        return versions[max(versions)] if versions else None

    # -- the data API

    def start_session(self, request: dict[str, Any]) -> str:
        backend = self._backend()
        application = _identified(backend.applications.values(), request.get("ApplicationIdentifier"), "Application")
        environment = _identified(
            self._registry.environments.get(application.id, []), request.get("EnvironmentIdentifier"), "Environment"
        )
        profile = _identified(
            application.config_profiles.values(),
            request.get("ConfigurationProfileIdentifier"),
            "Configuration profile",
        )
        interval = request.get("RequiredMinimumPollIntervalInSeconds")
        if interval is not None and (not isinstance(interval, int) or not 15 <= interval <= 86_400):
            raise DataApiError(
                400, "BadRequestException", "RequiredMinimumPollIntervalInSeconds must be from 15 to 86400"
            )
        session = _Session(application.id, environment.id, profile.id, interval or DEFAULT_POLL_INTERVAL_SECONDS)
        return self._issue_token(session)

    def latest_configuration(self, token: str) -> tuple[bytes, dict[str, str]]:
        """(content, headers) for one poll; the token is spent and the headers carry the next one."""
        with self._lock:
            session = self._sessions.pop(token, None)
        if session is None:
            raise DataApiError(400, "BadRequestException", "The configuration token is invalid or was already used")
        latest = self.latest_version(session.application_id, session.profile_id)
        content, headers = b"", {}
        if latest is not None and latest.version > session.served_version:
            raw = latest.content
            content = raw if isinstance(raw, bytes) else str(raw).encode()
            headers["Content-Type"] = latest.content_type or "application/octet-stream"
            if latest.version_label:
                headers["Version-Label"] = latest.version_label
            session.served_version = latest.version
        headers["Next-Poll-Configuration-Token"] = self._issue_token(session)
        headers["Next-Poll-Interval-In-Seconds"] = str(session.poll_interval)
        return content, headers

    def _issue_token(self, session: _Session) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[token] = session
        return token

    def _start_server(self, stack: StackHandle) -> None:
        host = stack.reachable_host
        self._server = ThreadingHTTPServer((host, 0), _DataApiHandler)
        self._server.daemon_threads = True
        self._server.service = self  # type: ignore[attr-defined]
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread = serve_in_background(self._server, "local-appconfigdata")


class _DataApiHandler(BaseHTTPRequestHandler):
    """AppConfig's data API (REST-JSON): POST /configurationsessions, GET /configuration."""

    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        service: AppConfigService = self.server.service  # type: ignore[attr-defined]
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            if self.command == "POST" and parts.path == "/configurationsessions":
                try:
                    request = json.loads(body or b"{}")
                except ValueError as error:
                    raise DataApiError(400, "BadRequestException", "the body is not JSON") from error
                token = service.start_session(request if isinstance(request, dict) else {})
                self._send(201, json.dumps({"InitialConfigurationToken": token}).encode(), "application/json")
                return
            if self.command == "GET" and parts.path == "/configuration":
                token = (parse_qs(parts.query).get("configuration_token") or [""])[0]
                content, headers = service.latest_configuration(token)
                self._send(200, content, headers.pop("Content-Type", None), headers)
                return
            raise DataApiError(404, "ResourceNotFoundException", f"no {self.command} {parts.path}")
        except DataApiError as error:
            payload = json.dumps({"Message": error.message}).encode()
            self._send(error.status, payload, "application/json", {"x-amzn-ErrorType": error.code})

    def _send(self, status: int, body: bytes, content_type: str | None, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _serve  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _identified(candidates: Iterable[Any], wanted: Any, kind: str) -> Any:
    """The application, environment or profile a data API request names by id or by name."""
    wanted = str(wanted or "")
    found = next((candidate for candidate in candidates if wanted in (candidate.id, candidate.name)), None)
    if found is None:
        raise DataApiError(404, "ResourceNotFoundException", f"{kind} {wanted} not found")
    return found
