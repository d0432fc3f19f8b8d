"""The local stack's web console service (local/web_console.py): the built files with their content types, the
single-page app's fallback, /config.json, and what it never answers (API and helper paths, files outside dist)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from local.web_console import WebConsole


class _WebSocketApi:
    name = "websocket-api"

    def health(self) -> dict[str, Any]:
        return {"websocket": {"url": "ws://127.0.0.1:4011", "connections": 0}}


class _Stack:
    services = (_WebSocketApi(),)


@pytest.fixture
def console(tmp_path: Path) -> WebConsole:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Arena</title>")
    (dist / "assets" / "app.js").write_text("console.log(1)")
    (dist / "assets" / "app.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("outside")
    service = WebConsole(dist)
    service.start(_Stack())  # type: ignore[arg-type]
    return service


def _get(console: WebConsole, path: str, host: str = "localhost:3000") -> Any:
    return console.static_route("GET", path, [("Host", host)])


def test_built_files_are_served_with_their_content_types(console: WebConsole) -> None:
    """Given a built console
    When the page, its script and its stylesheet are requested
    Then each is 200 with its content type, nosniff, and no caching."""
    for path, kind, body in (
        ("/", "text/html; charset=utf-8", b"<!doctype html><title>Arena</title>"),
        ("/assets/app.js", "text/javascript; charset=utf-8", b"console.log(1)"),
        ("/assets/app.css", "text/css; charset=utf-8", b"body{}"),
    ):
        answer = _get(console, path)
        headers = dict(answer.headers)
        assert (answer.status, headers["content-type"], answer.body) == (200, kind, body)
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-cache"


def test_page_paths_fall_back_to_the_app_and_missing_assets_do_not(console: WebConsole) -> None:
    """Given a built console
    When a page path of the app (no file extension) and a missing asset are requested
    Then the page path is index.html (the app routes in the browser) and the missing asset is None (the 404)."""
    page = _get(console, "/admin/events/01abc/live")
    assert (page.status, page.body) == (200, b"<!doctype html><title>Arena</title>")
    assert _get(console, "/assets/missing.js") is None


def test_api_helper_and_escaping_paths_are_never_answered(console: WebConsole) -> None:
    """Given a built console
    When an API path, a helper path, a path climbing out of dist, or a POST is sent
    Then the console answers none of them (the gateway's JSON 404 stays)."""
    assert _get(console, "/api/nope") is None
    assert _get(console, "/local/nope") is None
    assert _get(console, "/../secret.txt") is None
    assert _get(console, "/%2e%2e/secret.txt") is None
    assert console.static_route("POST", "/", []) is None


def test_config_names_the_same_origin_api_and_the_websocket_port_on_the_browsers_host(console: WebConsole) -> None:
    """Given the stack's WebSocket API on port 4011
    When /config.json is requested through localhost and through 127.0.0.1
    Then it names this origin for the API, the WebSocket URL on the host the browser used, and local sign-in."""
    for host, websocket in (("localhost:3000", "ws://localhost:4011"), ("127.0.0.1:3000", "ws://127.0.0.1:4011")):
        answer = _get(console, "/config.json", host)
        assert dict(answer.headers)["content-type"] == "application/json"
        config = json.loads(answer.body)
        assert config == {"api_url": "", "ws_url": websocket, "auth": {"mode": "local"}, "stage": "local"}


def test_an_unbuilt_console_says_how_to_build_it(tmp_path: Path) -> None:
    """Given no build in the folder
    When the page is requested
    Then 503 with the make target that builds it."""
    answer = WebConsole(tmp_path / "missing").static_route("GET", "/", [])
    assert answer.status == 503 and b"make web" in answer.body
