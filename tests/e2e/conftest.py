"""A real `coach serve` on a free loopback port and Debian's chromium driven by Playwright.

Browser tests skip only when chromium is absent and CI is unset; in CI they must run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import IN_CI, chromium_path
from tests.servers import free_port, running

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser():
    """A headless Debian chromium (never a downloaded browser build)."""
    path = chromium_path()
    if path is None:
        if IN_CI:
            pytest.fail("chromium is not installed; .ci/run installs it with apt-get")
        pytest.skip("chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def app_url(ingested_home: Path) -> Iterator[str]:
    """The web app served by the real CLI, with the bundled knowledge ingested."""
    port = free_port()
    env = {**os.environ, "COACH_HOME": str(ingested_home), "GRADIO_ANALYTICS_ENABLED": "False",
           "ANONYMIZED_TELEMETRY": "False", "COACH_MAX_TOKENS": "24"}
    command = [sys.executable, "-m", "coach.cli", "serve", "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/config", timeout=120, env=env):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def page(browser, app_url: str):
    """A fresh browser context (its own cookies and Gradio session) on the app."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(app_url, wait_until="networkidle")
    yield page
    context.close()
