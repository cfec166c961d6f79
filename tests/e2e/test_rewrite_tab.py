"""The Rewrite tab in a real browser: findings in place, the verified rewrite, the checklist and the diff."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import MODEL_TIMEOUT_MS, screenshot

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=alert(1)>"
DRAFT = f"You should ask Priya to review the report before Friday. {XSS}"


def test_rewrite_a_draft(page) -> None:
    page.get_by_role("tab", name="Rewrite").click()
    page.locator("#draft textarea").fill(DRAFT)
    page.locator("#rewrite-run").click()
    expect(page.locator("#draft-highlight")).to_contain_text("directive", timeout=60_000)
    expect(page.locator("#draft-highlight")).to_contain_text(XSS)  # shown as text
    expect(page.locator("#draft-findings li").first).to_be_visible()
    output = page.locator("#rewrite-output textarea")
    expect(output).not_to_have_value("", timeout=MODEL_TIMEOUT_MS)
    expect(page.locator("#rewrite-checklist")).to_contain_text("Verified")
    assert page.locator("#rewrite-checklist li.pass").count() == 9
    assert page.locator("#rewrite-checklist li.fail").count() == 0
    path = page.locator("#rewrite-checklist .badge.path").inner_text()
    assert path in ("model", "model-repaired", "fallback")
    assert "Priya" in output.input_value() and "Friday" in output.input_value()  # specifics kept
    expect(page.locator("#rewrite-diff del").first).to_be_visible()
    expect(page.locator("#rewrite-diff ins").first).to_be_visible()
    assert page.locator("#draft-highlight img, #rewrite-diff img, #rewrite-log img").count() == 0
    expect(page.locator("#rewrite-output button[aria-label*='Copy'], #rewrite-output button[title*='Copy']").first
           ).to_be_visible()
    screenshot(page, "rewrite")


def test_a_50kb_paste_gets_the_limit_message(page) -> None:
    page.get_by_role("tab", name="Rewrite").click()
    page.locator("#draft textarea").fill("You should plan ahead. " * 2200)  # about 50 KB
    page.locator("#rewrite-run").click()
    expect(page.locator("#draft")).to_contain_text("over the limit of 20,000")
    expect(page.locator("#rewrite-output textarea")).to_have_value("")
