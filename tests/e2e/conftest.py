"""A real `coach serve` on a free loopback port and Debian's chromium driven by Playwright.

Browser tests skip only when chromium is absent and CI is unset; in CI they must run.
"""

from __future__ import annotations

import os
import shutil
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
def app_home(ingested_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served app's COACH_HOME: a private copy of the ingested store (uploads and sessions land here,
    never in the shared ``ingested_home`` other tests read)."""
    home = tmp_path_factory.mktemp("app-home") / "home"
    shutil.copytree(ingested_home, home)
    return home


@pytest.fixture(scope="session")
def app_url(app_home: Path) -> Iterator[str]:
    """The web app served by the real CLI, with the bundled knowledge ingested."""
    port = free_port()
    env = {**os.environ, "COACH_HOME": str(app_home), "GRADIO_ANALYTICS_ENABLED": "False",
           "ANONYMIZED_TELEMETRY": "False", "COACH_MAX_TOKENS": "24"}
    command = [sys.executable, "-m", "coach.cli", "serve", "--port", str(port)]
    with running(command, f"http://127.0.0.1:{port}/config", timeout=120, env=env):
        yield f"http://127.0.0.1:{port}"


class Guard:
    """Records what must never happen in a page: a JavaScript dialog (injected script ran) or a request
    leaving this machine (the app must work offline). Outside requests are aborted, not sent."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.outside: list[str] = []

    def watch(self, page) -> None:
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r) -> None:
            url = r.request.url
            if url.startswith(("http://127.0.0.1", "data:", "blob:")):
                r.continue_()
            else:
                self.outside.append(url)
                r.abort()

        page.route("**/*", route)


def open_page(browser, url: str, guard: Guard, width: int = 1280, height: int = 800):
    """A new browser context (its own Gradio session) showing the app, watched by ``guard``."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    guard.watch(page)
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name="Rehearse").wait_for(timeout=60_000)
    return context, page


@pytest.fixture
def guard() -> Iterator[Guard]:
    """Fails the test if a dialog opened or a request left 127.0.0.1."""
    watched = Guard()
    yield watched
    assert watched.dialogs == [], f"a script ran in the page: {watched.dialogs}"
    assert watched.outside == [], f"the page tried to reach the network: {watched.outside}"


@pytest.fixture
def page(browser, app_url: str, guard: Guard):
    """A fresh browser context (its own cookies and Gradio session) on the app."""
    context, page = open_page(browser, app_url, guard)
    yield page
    context.close()


# --- helpers shared by the browser tests ---------------------------------------------------------

#: Seconds a persona reply or a rewrite may take on a busy 2-core machine with the bundled model.
MODEL_TIMEOUT_MS = 240_000


def screenshot(page, name: str, selector: str | None = None) -> None:
    """Save docs/screenshots/<name>.png (shown in the README): the full page, or one element of it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = str(SCREENSHOTS / f"{name}.png")
    if selector:
        page.locator(selector).screenshot(path=path)
    else:
        page.screenshot(path=path, full_page=True)


def start_rehearsal(page, scenario_title: str | None = None) -> None:
    """Open the Rehearse tab, optionally pick a scenario by title, press Start, wait for the opening line."""
    page.get_by_role("tab", name="Rehearse").click()
    if scenario_title:
        page.locator("#scenario input").click()
        page.get_by_role("option", name=scenario_title).click()
    page.locator("#start").click()
    page.locator("#chat .bot-row").first.wait_for(timeout=60_000)


def say(page, text: str) -> None:
    """Send a line and wait until the persona's reply is complete (the Send button is back)."""
    from playwright.sync_api import expect

    users = page.locator("#chat .user-row")
    before = users.count()
    page.locator("#message textarea").fill(text)
    page.locator("#send").click()
    expect(users).to_have_count(before + 1, timeout=60_000)
    page.wait_for_function(
        "() => { const b = document.querySelectorAll('#chat .bot-row');"
        " return b.length && b[b.length - 1].innerText.trim() !== '\u2026'"
        " && !document.querySelector('#send').disabled; }",
        timeout=MODEL_TIMEOUT_MS,
    )
    expect(page.locator("#chat .bot-row")).to_have_count(before + 2)
