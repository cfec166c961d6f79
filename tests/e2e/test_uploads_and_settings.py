"""Uploads on the Principles tab and the Settings tab, in a real browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def passages(page) -> int:
    """The passage count on the Settings tab, freshly checked."""
    page.get_by_role("tab", name="Settings").click()
    table = page.locator("#status table.status")
    table.wait_for(timeout=30_000)
    before = table.get_attribute("data-checked")
    page.locator("#status-check").click()
    expect(table).not_to_have_attribute("data-checked", before, timeout=30_000)
    return int(re.search(r"(\d+) passages", table.inner_text()).group(1))


def upload(page, files: list[Path]) -> None:
    page.get_by_role("tab", name="Principles").click()
    section = page.locator("#upload-section")
    if not page.locator("#upload-run").is_visible():
        section.get_by_text("Add your own documents").click()
    clear = page.locator('#upload-files button[aria-label="Clear"]')
    if clear.count() and clear.is_visible():
        clear.click()  # the previous upload's files
    page.locator("#upload-files input[type=file]").set_input_files([str(f) for f in files])
    expect(page.locator("#upload-files")).to_contain_text(files[-1].stem, timeout=30_000)
    page.locator("#upload-run").click()


def test_settings_show_the_model_and_a_ready_store(page) -> None:
    page.get_by_role("tab", name="Settings").click()
    status = page.locator("#status")
    expect(status).to_contain_text("local \u00b7 SmolLM2", timeout=30_000)
    expect(status).to_contain_text("ready")
    assert "API key" not in status.inner_text()  # the local model has none to show
    screenshot(page, "settings")


def test_bad_uploads_are_rejected_by_name_and_a_good_one_is_searchable(page, tmp_path: Path) -> None:
    before = passages(page)
    binary = tmp_path / "photo.txt"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8)
    huge = tmp_path / "huge.md"
    huge.write_bytes(b"word " * 600_000)  # 3 MB: over the 2 MB ingest limit
    upload(page, [binary, huge])
    report = page.locator("#upload-report")
    expect(report).to_contain_text("photo.txt was rejected", timeout=60_000)
    expect(report).to_contain_text("binary")
    expect(report).to_contain_text("huge.md was rejected")
    expect(report).to_contain_text("too large")
    assert passages(page) == before  # the store is unchanged

    good = tmp_path / "walking-one-on-ones.md"
    good.write_text("# Walking one-on-ones\n\nTake the one-on-one outside: a walking meeting around the block "
                    "lowers the stakes, and people talk more freely side by side than across a desk.\n")
    upload(page, [good])
    expect(page.locator("#upload-report")).to_contain_text("Added to the knowledge store: walking-one-on-ones.md",
                                                           timeout=120_000)
    assert passages(page) > before
    page.get_by_role("tab", name="Principles").click()
    page.locator("#principles-query textarea").fill("a walking meeting around the block side by side")
    page.locator("#principles-search").click()
    expect(page.locator("#principles-results")).to_contain_text("walking-one-on-ones.md", timeout=30_000)
    expect(page.locator("#principles-results")).to_contain_text("your document")
