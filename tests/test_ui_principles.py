"""The Principles tab's handler, called directly (the browser tests live in tests/e2e)."""

from __future__ import annotations

import gradio as gr
import pytest

from coach.config import Settings
from ui.principles import search_principles


def test_search_renders_cards_with_title_summary_score_source(ingested_settings: Settings) -> None:
    html = search_principles("he was shouted at by a customer and is still shaking", "any", ingested_settings)
    assert html.count('<article class="card">') == 5
    assert 'class="score"' in html and "source:" in html


def test_html_in_the_query_is_never_rendered(ingested_settings: Settings) -> None:
    html = search_principles("<img src=x onerror=alert(1)> " + "x" * 5000, "any", ingested_settings)
    assert "<img" not in html
    assert "truncated" in html


def test_empty_query_is_a_visible_error(ingested_settings: Settings) -> None:
    with pytest.raises(gr.Error, match="empty"):
        search_principles("  ", "any", ingested_settings)


def test_role_filter(ingested_settings: Settings) -> None:
    html = search_principles("finding a senior leader to guide me", "mentee", ingested_settings)
    assert html.count('<article class="card">') >= 1
    assert " · for mentor · " not in html  # a mentor-only card would render exactly this
    unfiltered = search_principles("finding a senior leader to guide me", "mentor", ingested_settings)
    assert " · for mentee · " not in unfiltered
