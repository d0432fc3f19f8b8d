"""tools/web_deploy.py: the stage's config.json comes from the stack's outputs; the page is never cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.web_deploy import config_from_outputs, upload_plan

OUTPUTS = {
    "ApiUrl": "https://abc.execute-api.us-east-1.amazonaws.com/dev",
    "WebSocketUrl": "wss://ws1.execute-api.us-east-1.amazonaws.com/dev",
    "WebUrl": "https://d111.cloudfront.net",
    "WebBucketName": "arena-dev-webbucket",
    "WebDistributionId": "E123",
    "HostedUiDomain": "https://arena-dev-123.auth.us-east-1.amazoncognito.com",
    "WebClientId": "client123",
}


def test_config_comes_from_the_stacks_outputs() -> None:
    """Given a deployed stack's outputs
    When the config is built for dev
    Then it names the API, the WebSocket API and the hosted UI with the console's own callback."""
    assert config_from_outputs(OUTPUTS, "dev") == {
        "api_url": "https://abc.execute-api.us-east-1.amazonaws.com/dev",
        "ws_url": "wss://ws1.execute-api.us-east-1.amazonaws.com/dev",
        "stage": "dev",
        "auth": {
            "mode": "cognito",
            "domain": "https://arena-dev-123.auth.us-east-1.amazoncognito.com",
            "client_id": "client123",
            "redirect_uri": "https://d111.cloudfront.net/auth/callback",
            "logout_uri": "https://d111.cloudfront.net/",
        },
    }


def test_a_missing_output_is_named() -> None:
    """Given outputs of a stack deployed before the web console existed
    When the config is built
    Then KeyError names the first output missing."""
    with pytest.raises(KeyError, match="WebUrl"):
        config_from_outputs({k: v for k, v in OUTPUTS.items() if k != "WebUrl"}, "dev")


def test_the_page_is_never_cached_and_assets_carry_their_types(tmp_path: Path) -> None:
    """Given a build with a page, a script and a stylesheet
    When the upload is planned
    Then every file has its key and content type, and only the page is no-cache."""
    (tmp_path / "assets").mkdir()
    for name in ("index.html", "assets/app.js", "assets/app.css"):
        (tmp_path / name).write_text("x")
    plan = {key: (kind, cache) for _, key, kind, cache in upload_plan(tmp_path)}
    assert plan == {
        "assets/app.css": ("text/css; charset=utf-8", "public, max-age=300"),
        "assets/app.js": ("text/javascript; charset=utf-8", "public, max-age=300"),
        "index.html": ("text/html; charset=utf-8", "no-cache"),
    }
