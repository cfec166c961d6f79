"""The Rewrite tab's handlers, called directly (the real analyzer, rewriter and, where marked, local model)."""

from __future__ import annotations

import pytest

from coach.config import Settings
from coach.errors import UsageError
from tests.servers import free_port
from ui.context import AppContext
from ui.rewrite import check_draft, draft_problem, rewrite_views

DRAFT = "You should ask Priya to review the report before Friday."
XSS = "<img src=x onerror=alert(1)>"


def test_check_highlights_the_directive_in_place_with_its_message(settings: Settings) -> None:
    runs, messages = check_draft(settings, f"{DRAFT} {XSS}")
    assert "".join(piece for piece, _ in runs) == f"{DRAFT} {XSS}"
    assert any(label == "directive \u2717" and piece.startswith("You should") for piece, label in runs)
    assert "directive" in messages and "first-person-story" in messages
    assert "<img" not in messages


def test_clean_draft_says_there_is_nothing_to_fix(settings: Settings) -> None:
    runs, messages = check_draft(settings, "The report is due on Friday.")
    assert all(label is None for _, label in runs) and "nothing to fix" in messages


@pytest.mark.parametrize("text, message", [("", "empty"), ("   \n", "only whitespace"),
                                           ("x" * 50_000, "over the limit of 20,000")])
def test_bad_drafts_get_the_rewriters_own_message(settings: Settings, text: str, message: str) -> None:
    ok, problem = draft_problem(settings, text)
    assert not ok and message in problem
    with pytest.raises(UsageError, match=message):
        check_draft(settings, text)


def test_model_down_gives_the_deterministic_verified_rewrite_and_says_so(ingested_settings: Settings) -> None:
    down = ingested_settings.model_copy(update={"provider": "openai", "model": "remote-model",
                                                "openai_base_url": f"http://127.0.0.1:{free_port()}/v1"})
    views = list(rewrite_views(AppContext.create(down), f"{DRAFT} {XSS}"))
    assert all(v.text == "" for v in views[:-1])  # nothing unverified reaches the output box
    last = views[-1]
    assert last.text and "fallback" in last.checklist and "Verified" in last.checklist
    assert last.checklist.count('class="pass"') == 9 and 'class="fail"' not in last.checklist
    assert "<del>" in last.diff and "<ins>" in last.diff
    assert "unavailable" in last.notices and "deterministic" in last.notices
    assert "<img" not in last.diff + last.log + last.checklist


@pytest.mark.slow
def test_rewrite_with_the_local_model_streams_then_verifies(ingested_settings: Settings) -> None:
    views = list(rewrite_views(AppContext.create(ingested_settings.model_copy(update={"max_tokens": 48})), DRAFT))
    assert len(views) >= 3 and "Rewriting 1 advice sentence" in views[1].log
    last = views[-1]
    assert last.text and "Verified" in last.checklist
    assert any(p in last.checklist for p in ("model", "model-repaired", "fallback"))
