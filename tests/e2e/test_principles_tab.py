"""The Principles tab in a real browser: search, cards, and escaped HTML."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SCREENSHOTS

pytestmark = pytest.mark.e2e


def test_search_shows_cards(page) -> None:
    page.get_by_role("tab", name="Principles").click()
    page.locator("#principles-query textarea").fill("she was told she is not cut out for sales and doubts herself")
    page.locator("#principles-search").click()
    cards = page.locator("#principles-results article.card")
    cards.first.wait_for(timeout=30_000)
    assert cards.count() == 5
    assert page.locator("#principles-results .score").first.inner_text()
    assert "source:" in cards.first.inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "principles.png"), full_page=True)


def test_script_in_query_is_shown_as_text_never_run(page) -> None:
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.get_by_role("tab", name="Principles").click()
    page.locator("#principles-query textarea").fill("<img src=x onerror=alert(1)> listening")
    page.locator("#principles-search").click()
    page.locator("#principles-results article.card").first.wait_for(timeout=30_000)
    assert dialogs == []
    assert page.locator("#principles-results img").count() == 0


def test_empty_query_shows_an_error(page) -> None:
    page.get_by_role("tab", name="Principles").click()
    page.locator("#principles-search").click()
    page.get_by_text("empty").first.wait_for(timeout=15_000)
