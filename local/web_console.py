"""The web console (web/dist, built by `make web`) served by the local stack at `/`, with its `/config.json`.

What S3 + CloudFront do in AWS (stacks/web.yaml): the built files with their content types, `index.html` for any
other page path (the app routes in the browser), and a `config.json` naming the API, the WebSocket API and the
sign-in mode, so one build serves every stage. Locally the API is this same origin, the WebSocket API is on the
stack's WebSocket port (named with the host the browser used), and sign-in is the `/local/token` form.

Only paths no HTTP route of the template takes reach it (the gateway asks it last), and never `/api/...` or
`/local/...`: an unknown API path stays API Gateway's JSON 404.
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from local.apigw import HttpResponse
from local.protocols import StackHandle

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
# The page itself is never cached (a new build must show at once); hashed assets could be, but a local stack
# rebuilds them in place, so nothing is.
NO_CACHE = ("cache-control", "no-cache")
SECURITY_HEADERS = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "SAMEORIGIN"),
]


class WebConsole:
    """A local-stack service: answers the console's static paths and `/config.json` (`static_route`)."""

    name = "web-console"

    def __init__(self, dist_dir: str | Path):
        self.dist_dir = Path(dist_dir).resolve()
        self._stack: StackHandle | None = None

    def start(self, stack: StackHandle) -> None:
        self._stack = stack

    def stop(self) -> None:
        self._stack = None

    def health(self) -> dict[str, Any]:
        return {"web": {"dist": str(self.dist_dir), "built": (self.dist_dir / "index.html").is_file()}}

    def config(self, host_header: str | None) -> dict[str, Any]:
        """What the app reads first: the API base (empty: this origin), the WebSocket URL, the sign-in mode."""
        websocket_url = ""
        stack = self._stack
        health = next(
            (
                service.health()
                for service in getattr(stack, "services", ())
                if getattr(service, "name", "") == "websocket-api"
            ),
            {},
        )
        url = (health.get("websocket") or {}).get("url") or ""
        if url:
            # The WebSocket API's port, on the host name the browser used for the page (localhost or 127.0.0.1).
            port = url.rsplit(":", 1)[-1].rstrip("/")
            host = (host_header or "").rsplit(":", 1)[0] or "127.0.0.1"
            websocket_url = f"ws://{host}:{port}"
        return {"api_url": "", "ws_url": websocket_url, "auth": {"mode": "local"}, "stage": "local"}

    def static_route(self, method: str, raw_path: str, headers: list[tuple[str, str]]) -> HttpResponse | None:
        """The answer for a console path, or None (then the gateway's 404) for any path the console does not own."""
        if method not in ("GET", "HEAD") or raw_path.startswith(("/api/", "/local/")) or raw_path in ("/api", "/local"):
            return None
        if raw_path == "/config.json":
            host = next((value for name, value in headers if name.lower() == "host"), None)
            body = json.dumps(self.config(host)).encode()
            return HttpResponse(200, [("content-type", "application/json"), NO_CACHE, *SECURITY_HEADERS], body)
        index = self.dist_dir / "index.html"
        if not index.is_file():
            message = b"The web console is not built: run `make web` (make run builds it)."
            return HttpResponse(503, [("content-type", "text/plain; charset=utf-8"), NO_CACHE], message)
        relative = unquote(raw_path).lstrip("/")
        target = (self.dist_dir / relative).resolve() if relative else index
        if not target.is_relative_to(self.dist_dir):
            return None  # ../ out of the folder: nothing here
        if target.is_file():
            return self._file(target)
        if Path(relative).suffix:
            return None  # a missing asset is a 404, never the page in its place
        return self._file(index)  # a page path of the app: it routes in the browser

    @staticmethod
    def _file(path: Path) -> HttpResponse:
        kind = CONTENT_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return HttpResponse(200, [("content-type", kind), NO_CACHE, *SECURITY_HEADERS], path.read_bytes())
