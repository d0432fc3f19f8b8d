"""The API docs page: Swagger UI at /api/docs, its files at /api/docs/{asset}, the document at /api/openapi.json.

One public function serves them from files it ships with (docs/openapi.json, linked into functions/docs/) and the
layer's copy of Swagger UI, so the page needs no token and no internet.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.event_handler.openapi import swagger_ui

from local.template import http_route_specs, load_template
from tests.conftest import TABLE_ENV, sample_event

ROOT = Path(__file__).resolve().parents[2]
SWAGGER_UI = Path(swagger_ui.__file__).resolve().parent


@pytest.fixture
def docs(
    aws_env: None, monkeypatch: pytest.MonkeyPatch, load_handler: Callable[..., ModuleType]
) -> Iterator[Callable[..., dict[str, Any]]]:
    """GET a path of the docs function as API Gateway sends it: a public route, so no authorizer context. It
    reads no table: the settings only need the names every function gets."""
    from arena import factories

    for env_name in TABLE_ENV.values():
        monkeypatch.setenv(env_name, f"arena-test-{env_name.lower().replace('_', '-')}")
    factories.reset()
    module = load_handler("docs", "api_docs")

    def get(route: str, path: str, headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
        event = sample_event("docs/api_docs.json")
        event["routeKey"] = event["requestContext"]["routeKey"] = f"GET {route}"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["headers"].update(headers or {})
        if params:
            event["pathParameters"] = params
        assert "authorizer" not in event["requestContext"]
        return module.lambda_handler(event, None)

    yield get
    factories.reset()


def _body(answer: dict[str, Any]) -> bytes:
    raw = answer["body"]
    data = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode()
    return gzip.decompress(data) if answer["headers"].get("Content-Encoding") == "gzip" else data


def test_the_page_loads_swagger_ui_and_the_document_from_this_api(docs: Callable[..., dict[str, Any]]) -> None:
    """Given no token
    When anyone opens the docs page
    Then it is HTML loading Swagger UI from this API by relative URLs under a strict policy, reading
    /api/openapi.json."""
    # When anyone, without a token, opens the page
    answer = docs("/api/docs", "/api/docs")

    # Then it is HTML that loads Swagger UI's script and style from this API, by relative URLs (a stage prefix
    # such as /dev stays in front), with no inline script and a policy that allows no other origin
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith("text/html")
    page = _body(answer).decode()
    sources = re.findall(r'<script src="([^"]+)"', page) + re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert sorted(sources) == ["docs/swagger-init.js", "docs/swagger-ui-bundle.min.js", "docs/swagger-ui.min.css"]
    assert "<script>" not in page and "//" not in page
    policy = answer["headers"]["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    # And the page's script reads the document from /api/openapi.json (relative to /api/docs)
    init = _body(docs("/api/docs/{asset}", "/api/docs/swagger-init.js", asset="swagger-init.js")).decode()
    assert 'fetch("openapi.json")' in init


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [("swagger-ui-bundle.min.js", "text/javascript"), ("swagger-ui.min.css", "text/css")],
)
def test_swagger_ui_is_served_from_the_layer_compressed_when_asked(
    docs: Callable[..., dict[str, Any]], asset: str, content_type: str
) -> None:
    """Given a browser accepting gzip
    When it asks for one of Swagger UI's files
    Then it gets Powertools' copy, byte for byte once decompressed, with its content type."""
    # When the browser asks for one of Swagger UI's files, accepting gzip
    answer = docs("/api/docs/{asset}", f"/api/docs/{asset}", {"accept-encoding": "gzip"}, asset=asset)

    # Then
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith(content_type)
    assert answer["headers"]["Content-Encoding"] == "gzip"
    assert _body(answer) == (SWAGGER_UI / asset).read_bytes()


@pytest.mark.parametrize("asset", ["nope.js", "..%2Fapi_docs.py", "openapi.json"])
def test_nothing_else_is_served_under_the_docs_path(docs: Callable[..., dict[str, Any]], asset: str) -> None:
    """Given an asset name that is not one of Swagger UI's files
    When it is asked for under the docs path
    Then the answer is 404 not_found."""
    answer = docs("/api/docs/{asset}", f"/api/docs/{asset}", asset=asset)

    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["error"]["code"] == "not_found"


def test_the_document_served_is_docs_openapi_json(docs: Callable[..., dict[str, Any]]) -> None:
    """Given the docs function
    When the document is fetched
    Then it is exactly the checked-in docs/openapi.json."""
    # When
    answer = docs("/api/openapi.json", "/api/openapi.json")

    # Then it is exactly the checked-in docs/openapi.json (the one `make openapi-check` keeps current)
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"] == "application/json"
    assert _body(answer) == (ROOT / "docs" / "openapi.json").read_bytes()


def test_the_function_ships_the_document_it_serves() -> None:
    """Given the docs function's folder (what sam build copies for it)
    When its openapi.json is read
    Then it is docs/openapi.json itself (a link sam build copies as a file), never a stale copy."""
    shipped = ROOT / "functions" / "docs" / "openapi.json"

    # Then its openapi.json is docs/openapi.json itself (a link sam build copies as a file), never a stale copy
    assert shipped.is_symlink()
    assert shipped.resolve() == (ROOT / "docs" / "openapi.json").resolve()


def test_the_docs_routes_are_public_and_nothing_else_is() -> None:
    """Given the template's HTTP routes
    When those without an authorizer are listed
    Then they are exactly the docs function's three routes, the email unsubscribe link (GET, and POST for
    one-click), whose signed token is its credential, and the share pages and cards chat apps fetch."""
    specs = http_route_specs(load_template())

    # Then exactly the docs function's three routes, the unsubscribe link and the share pages need no token
    public = {(spec.route.method, spec.route.path) for spec in specs if spec.authorizer is None}
    assert public == {
        ("GET", "/api/docs"),
        ("GET", "/api/docs/{asset}"),
        ("GET", "/api/openapi.json"),
        ("GET", "/api/notifications/unsubscribe"),
        ("POST", "/api/notifications/unsubscribe"),
        ("GET", "/api/share/events/{eventId}"),
        ("GET", "/api/share/events/{eventId}/podium.png"),
        ("GET", "/api/share/traders/{handle}/events/{eventId}"),
        ("GET", "/api/share/traders/{handle}/events/{eventId}/card.png"),
    }
    public_functions = {spec.route.function_id for spec in specs if spec.authorizer is None}
    assert public_functions == {"ApiDocsFunction", "NotificationsFunction", "CommunityFunction"}
