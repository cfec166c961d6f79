"""The Progress tab in a real browser, over sessions recorded by the real engine in the served app's store."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from coach.config import Settings
from coach.rehearsal.engine import Rehearsal
from coach.store import Store
from tests.e2e.conftest import screenshot

pytestmark = pytest.mark.e2e


def record_session(home: Path, scenario: str, lines: list[str]) -> str:
    """An ended session written by the engine into the app's database (no model: coaching only)."""
    settings = Settings(home=home)
    with Store(settings.db_path) as store:
        rehearsal = Rehearsal.start(scenario, settings=settings, store=store, searcher=lambda q, k, a: [])
        for line in lines:
            rehearsal.coach_turn(line)
        rehearsal.end()
        return rehearsal.id


def test_past_sessions_scores_over_time_and_reopen(page, app_home: Path) -> None:
    record_session(app_home, "missed-quota-hard-work", ["You should just make more calls."])
    sid = record_session(app_home, "missed-quota-hard-work",
                         ["It sounds like you gave this everything. What happened?", "Can I share what helped me?"])
    page.get_by_role("tab", name="Progress").click()
    table = page.locator("#sessions")
    expect(table).to_contain_text(sid, timeout=30_000)
    expect(table).to_contain_text("Missed quota after working harder than anyone")
    expect(table).to_contain_text("ended")
    expect(page.locator("#progress-plot canvas, #progress-plot svg").first).to_be_visible()

    page.locator("#reopen-pick input").click()
    page.get_by_role("option").filter(has_text="Missed quota").first.click()
    page.locator("#reopen").click()
    expect(page.locator("#reopened-chat .user-row").first).to_be_visible(timeout=30_000)
    expect(page.locator("#reopened-debrief")).to_contain_text("overall")
    assert page.locator("#reopened textarea").count() == 0  # read-only: nowhere to type
    screenshot(page, "progress")
