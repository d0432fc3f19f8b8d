"""GET /api/docs (Swagger UI), GET /api/docs/{asset} (its script and style), GET /api/openapi.json (the document).

Public: no token, read-only, the same for everyone; the document describes the API, it grants nothing. Everything
is served from files shipped with the function (openapi.json, the page's script) and the layer (Powertools' copy of
Swagger UI), so the page needs no internet. Relative URLs keep it working under a stage prefix (/dev/api/docs).
"""

from functools import cache
from pathlib import Path

from arena.auth import Audience
from arena.errors import NotFound
from arena.http import allow, lambda_handler_for, make_resolver
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi import swagger_ui

HERE = Path(__file__).resolve().parent
SWAGGER_UI = Path(swagger_ui.__file__).resolve().parent
DOCUMENT = HERE / "openapi.json"
# name -> (file, content type): nothing outside this list is served
ASSETS = {
    "swagger-ui-bundle.min.js": (SWAGGER_UI / "swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
    "swagger-ui.min.css": (SWAGGER_UI / "swagger-ui.min.css", "text/css; charset=utf-8"),
    "swagger-init.js": (HERE / "swagger-init.js", "text/javascript; charset=utf-8"),
}
PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Arena API</title>
  <link rel="stylesheet" href="docs/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.min.js"></script>
  <script src="docs/swagger-init.js"></script>
</body>
</html>
"""
# Scripts only from this API (no inline script); Swagger UI sets inline styles and shows data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
# Each changes only with a deploy; an hour keeps a browser from asking again while reading, and a deploy visible.
FILE_CACHE = "public, max-age=3600"

# The files ship with the function and the layer: a build that left one out fails here, at import (the artifact
# check imports every handler from the build output), not at the first request.
for _file in (DOCUMENT, *(path for path, _ in ASSETS.values())):
    if not _file.is_file():
        raise FileNotFoundError(f"the API docs page needs {_file}")

app = make_resolver()


@cache
def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@app.get("/api/docs", include_in_schema=False)
@allow(Audience.ANYONE)
def docs_page() -> Response[str]:
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=PAGE, headers=PAGE_HEADERS)


@app.get("/api/docs/<asset>", include_in_schema=False, compress=True)
@allow(Audience.ANYONE)
def docs_asset(asset: str) -> Response[str]:
    if asset not in ASSETS:
        raise NotFound("No such file of the API docs page.")
    path, content_type = ASSETS[asset]
    headers = {"Cache-Control": FILE_CACHE, "X-Content-Type-Options": "nosniff"}
    return Response(status_code=200, content_type=content_type, body=_text(path), headers=headers)


@app.get("/api/openapi.json", include_in_schema=False, compress=True)
@allow(Audience.ANYONE)
def openapi_document() -> Response[str]:
    headers = {"Cache-Control": FILE_CACHE, "X-Content-Type-Options": "nosniff"}
    return Response(status_code=200, content_type="application/json", body=_text(DOCUMENT), headers=headers)


lambda_handler = lambda_handler_for(app)
