"""The Rehearse tab in a real browser against `coach serve` with the real local model."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_page, say, screenshot, start_rehearsal

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=alert(1)>"


def trust(page) -> int:
    return int(page.locator('#meter [aria-label="Trust"]').get_attribute("aria-valuenow"))


def test_three_turn_rehearsal_with_coach_panel_meter_debrief_and_rewind(page) -> None:
    start_rehearsal(page)
    expect(page.locator("#brief h3")).to_be_visible()
    start_trust = trust(page)

    say(page, f"You should just work harder. {XSS}")
    expect(page.locator("#highlight")).to_contain_text("directive")
    expect(page.locator("#coach-notes")).to_contain_text("Try instead")
    expect(page.locator("#coach-cards article.card").first).to_be_visible()
    expect(page.locator("#coach-cards footer").first).to_contain_text("source:")
    after_directive = trust(page)
    assert after_directive < start_trust
    # the markup was shown as text in the chat and in the panel, never turned into an element
    expect(page.locator("#chat .user-row").last).to_contain_text(XSS)
    expect(page.locator("#highlight")).to_contain_text(XSS)
    assert page.locator('#chat img[src="x"], #highlight img, #coach-notes img').count() == 0

    say(page, "It sounds like this quarter has been really hard on you. What happened?")
    expect(page.locator("#highlight")).to_contain_text("question-open")
    assert trust(page) > after_directive
    expect(page.locator("#meter .delta.up").first).to_be_visible()

    say(page, "Would it help if I shared something that worked for me once?")
    expect(page.locator("#highlight")).to_contain_text("permission")
    expect(page.locator("#history canvas, #history svg").first).to_be_visible()
    screenshot(page, "rehearse")

    page.locator("#end").click()
    expect(page.locator("#debrief-html .overall")).to_contain_text("overall", timeout=60_000)
    expect(page.locator("#debrief-html")).to_contain_text("Try next time")
    rows = page.locator("#scorecard").get_by_role("row")
    expect(rows.nth(2)).to_contain_text("\u201c")  # a header and at least two principles, each quoting me
    expect(page.locator("#debrief-chart canvas, #debrief-chart svg").first).to_be_visible()
    with page.expect_download() as download:
        page.locator("#export-md").click()
    markdown = download.value.path().read_text(encoding="utf-8")
    assert markdown.startswith("# Rehearsal:") and "## Debrief" in markdown and "It sounds like" in markdown
    screenshot(page, "debrief", "#debrief")

    # rewind to before line 2: the branch keeps line 1 and its reply, and hands line 2 back to edit
    page.locator("#rewind-line input").click()
    page.get_by_role("option", name="2. It sounds like").click()
    page.locator("#rewind").click()
    expect(page.locator("#chat .user-row")).to_have_count(1, timeout=30_000)
    expect(page.locator("#message textarea")).to_have_value(
        "It sounds like this quarter has been really hard on you. What happened?")
    expect(page.locator("#debrief")).to_be_hidden()


def test_empty_and_oversized_lines_are_refused_with_a_message(page) -> None:
    start_rehearsal(page)
    page.locator("#send").click()
    expect(page.locator("#message")).to_contain_text("empty turn")
    page.locator("#message textarea").fill("x" * 50_000)  # a 50 KB paste
    page.locator("#send").click()
    expect(page.locator("#message")).to_contain_text("the limit is 4000")
    expect(page.locator("#chat .user-row")).to_have_count(0)


def test_two_browsers_at_once_keep_separate_conversations(browser, app_url: str, guard) -> None:
    first_context, first = open_page(browser, app_url, guard)
    second_context, second = open_page(browser, app_url, guard)
    try:
        start_rehearsal(first, "Wound up after a customer blow-up (conflict)")
        start_rehearsal(second, "Not cut out for sales (self-doubt)")
        first.locator("#message textarea").fill("Alpha line: what happened on the call?")
        second.locator("#message textarea").fill("Bravo line: what makes you doubt yourself?")
        first.locator("#send").click()
        second.locator("#send").click()  # both turns are in flight at the same time
        for page in (first, second):
            expect(page.locator("#chat .user-row")).to_have_count(1, timeout=60_000)
            expect(page.locator("#send")).to_be_enabled(timeout=240_000)
        assert "Alpha line" in first.locator("#chat").inner_text()
        assert "Bravo line" not in first.locator("#chat").inner_text()
        assert "Bravo line" in second.locator("#chat").inner_text()
        assert "Alpha line" not in second.locator("#chat").inner_text()
        expect(first.locator("#highlight")).to_contain_text("Alpha line")
        expect(second.locator("#highlight")).to_contain_text("Bravo line")
    finally:
        first_context.close()
        second_context.close()


def test_narrow_window_stacks_the_panels_without_sideways_scrolling(browser, app_url: str, guard) -> None:
    context, page = open_page(browser, app_url, guard, width=420, height=900)
    try:
        start_rehearsal(page)
        page.locator("#message textarea").fill("It sounds like a tough week. What happened?")
        page.locator("#send").click()
        expect(page.locator("#coach-notes")).to_contain_text("Try instead", timeout=60_000)
        chat, panel = page.locator("#chat").bounding_box(), page.locator("#coach-panel").bounding_box()
        assert panel["y"] > chat["y"] + chat["height"] - 1  # the coach panel sits below the chat
        assert page.evaluate("document.documentElement.scrollWidth") <= 420 + 1
        screenshot(page, "narrow")
        expect(page.locator("#send")).to_be_enabled(timeout=240_000)
    finally:
        context.close()
