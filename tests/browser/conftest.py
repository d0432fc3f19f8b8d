"""The browser tests: a real headless Chromium (Debian's `chromium`, `make chromium` installs it) driven by
Playwright against a local stack started for the module, serving the built console (`make web`) at `/`.

Playwright never downloads a browser here: it launches the executable at ARENA_CHROMIUM (default
/usr/bin/chromium). Each journey saves screenshots under ARENA_BROWSER_OUTPUT (default test-results/browser/),
one folder per test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROOT, ArenaClient, iso, subprocess_stack

CHROMIUM = os.environ.get("ARENA_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(os.environ.get("ARENA_BROWSER_OUTPUT", ROOT / "test-results" / "browser"))
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # a phone's CSS viewport (iPhone 12-15)


@pytest.fixture(scope="module")
def stack() -> Iterator[ArenaClient]:
    """A local stack with the console, its sweeps every second and a 2 s ingest grace (events complete fast)."""
    if not (ROOT / "web" / "dist" / "index.html").is_file():
        pytest.fail("the web console is not built: run `make web` (make test does it first)")
    template = os.environ.get("ARENA_TEMPLATE", "template.yaml")
    # A generous start: `make test` runs this beside every other test file on a shared machine.
    with subprocess_stack(
        template, healthy_within=240, ARENA_LOCAL_SAFETY_NET_SECONDS="1", INGEST_GRACE_SECONDS="2"
    ) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium from the system, launched by Playwright (no browser download)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make chromium` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder, emptied first."""
    folder = OUTPUT / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class PageErrors:
    """Uncaught script errors of a page: a journey fails on any."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(str(error)))


def new_page(browser: Any, viewport: dict[str, int]) -> tuple[Any, Any, PageErrors]:
    context = browser.new_context(viewport=viewport, locale="en-US", timezone_id="UTC")
    # Generous: a CI machine runs the other suites beside these pages; a wait only costs this long when it fails
    context.set_default_timeout(45_000)
    page = context.new_page()
    return context, page, PageErrors(page)


def sign_in(page: Any, base_url: str, path: str, user: str, role: str) -> None:
    """Open `path` and sign in there with the local form, as `user` with `role`."""
    page.goto(base_url + path)
    page.get_by_label("User id").fill(user)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("whoami").filter(has_text=user).wait_for()


def buys(event_id: str, volumes: dict[str, str], **extra: str) -> list[dict[str, str]]:
    """One BTC-USDT buy at 100 per trader (`volumes`: user -> quantity), executed now, its id from the event and the
    user; `extra` fields (a fee) on each."""
    executed = iso(datetime.now(UTC))
    return [
        {
            "trade_id": f"{event_id}-{user}",
            "user_id": user,
            "market": "BTC-USDT",
            "side": "buy",
            "quantity": quantity,
            "price": "100",
            "executed_at": executed,
            **extra,
        }
        for user, quantity in volumes.items()
    ]
