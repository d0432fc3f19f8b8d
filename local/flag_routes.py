"""`/local/flags`: the local stack's helper routes that read and change the feature flags document.

`GET /local/flags` (the document and its version), `PUT /local/flags/{name}` with `{"default": true}` and/or
`{"rules": {...}}` (merged into that flag), `PUT /local/flags` (a whole document), `POST /local/flags/reset` (the
template's document again). Each change is a new hosted configuration version in moto, validated with Powertools'
schema first; `python -m local.flags` is the command line for these routes.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from local.apigw import HttpResponse
from local.helper_routes import error_response, json_response

logger = logging.getLogger("local.appconfig")

FLAGS_ROUTE = "/local/flags"
FLAG_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


@dataclass
class FlagsProfile:
    """The configuration the functions read their flags from (the one their environment names)."""

    application_id: str
    environment_id: str
    profile_id: str
    template_content: str
    content_type: str


class FlagRoutes:
    """The flags routes over one hosted configuration profile (`profile`, set once the service created it)."""

    def __init__(self, latest_version: Callable[[str, str], Any | None], client: Callable[[], Any]) -> None:
        """`latest_version(application id, profile id)`: the newest hosted version; `client()`: boto3 appconfig."""
        self.profile: FlagsProfile | None = None
        self._latest_version = latest_version
        self._client = client
        self._write_lock = threading.Lock()  # one change at a time: a PUT reads, merges and writes the document

    def route(self, method: str, raw_path: str, body: bytes) -> HttpResponse | None:
        """The answer for a flags route, None for any other `/local/...` path."""
        if raw_path != FLAGS_ROUTE and not raw_path.startswith(FLAGS_ROUTE + "/"):
            return None
        if self.profile is None:
            return error_response(404, "NOT_FOUND", "the template has no hosted AppConfig configuration")
        name = raw_path[len(FLAGS_ROUTE) + 1 :]
        with self._write_lock:
            return self._flags_route(method, raw_path, name, body)

    def _flags_route(self, method: str, raw_path: str, name: str, body: bytes) -> HttpResponse:
        assert self.profile is not None
        try:
            if method == "GET" and not name:
                return json_response(200, self.describe())
            if method == "POST" and name == "reset":
                return json_response(200, self.write_document(json.loads(self.profile.template_content)))
            if method == "PUT":
                request = json.loads(body or b"null")
                if not isinstance(request, dict):
                    return error_response(400, "BAD_REQUEST", "the body must be a JSON object")
                return json_response(200, self.put_flag(name, request) if name else self.write_document(request))
        except ValueError as error:  # bad JSON, or a document Powertools' schema refuses
            return error_response(400, "BAD_REQUEST", str(error))
        return error_response(404, "NOT_FOUND", f"no {method} {raw_path}")

    def current_document(self) -> tuple[int, dict[str, Any]]:
        profile = self.profile
        assert profile is not None
        latest = self._latest_version(profile.application_id, profile.profile_id)
        if latest is None:
            return 0, {}
        raw = latest.content
        return latest.version, json.loads(raw if isinstance(raw, bytes | str) else str(raw))

    def describe(self) -> dict[str, Any]:
        profile = self.profile
        assert profile is not None
        version, document = self.current_document()
        return {
            "application": profile.application_id,
            "environment": profile.environment_id,
            "profile": profile.profile_id,
            "version": version,
            "flags": document,
        }

    def put_flag(self, name: str, change: dict[str, Any]) -> dict[str, Any]:
        if not FLAG_NAME.fullmatch(name):
            raise ValueError("a flag name is letters, digits, '_', '-' and '.'")
        unknown = set(change) - {"default", "rules", "actions"}
        if unknown:
            raise ValueError(f"a flag has default, rules and actions; not {sorted(unknown)}")
        _, document = self.current_document()
        if name not in document and "default" not in change:
            raise ValueError(f"{name} is a new flag: give its default")
        document[name] = {**document.get(name, {}), **change}
        written = self.write_document(document)
        return {**written, "name": name, "flag": document[name]}

    def write_document(self, document: dict[str, Any]) -> dict[str, Any]:
        """Validate the document with Powertools' schema, then store it as a new hosted configuration version."""
        from aws_lambda_powertools.utilities.feature_flags import SchemaValidator
        from aws_lambda_powertools.utilities.feature_flags.exceptions import SchemaValidationError

        profile = self.profile
        assert profile is not None
        try:
            SchemaValidator(document).validate()
        except SchemaValidationError as error:
            raise ValueError(f"not a feature flags document: {error}") from error
        created = self._client().create_hosted_configuration_version(
            ApplicationId=profile.application_id,
            ConfigurationProfileId=profile.profile_id,
            Content=json.dumps(document, indent=2).encode(),
            ContentType=profile.content_type,
            Description="changed through /local/flags",
        )
        logger.info("feature flags: version %s", created["VersionNumber"])
        return {"version": created["VersionNumber"], "flags": document}
