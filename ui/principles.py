"""The Principles tab: search the knowledge base and read the cards that fit."""

from __future__ import annotations

import gradio as gr

from coach.config import Settings
from coach.errors import CoachError
from coach.knowledge import search
from ui.render import results_html

ROLE_CHOICES = ["any", "mentor", "mentee"]


def search_principles(query: str, role: str, settings: Settings) -> str:
    """Handler: search and render; user errors become a visible ``gr.Error``."""
    try:
        response = search(query, settings, k=5, applies_to=None if role in ("", "any", None) else role)
    except CoachError as exc:
        raise gr.Error(str(exc)) from exc
    return results_html(response)


def build_principles_tab(settings: Settings) -> None:
    """Add the tab's components and events to the current Blocks."""
    with gr.Row():
        query = gr.Textbox(
            label="Describe the situation",
            placeholder="e.g. my rep keeps interrupting me with excuses when I give feedback",
            scale=4,
            max_length=settings.max_query_chars * 5,
            elem_id="principles-query",
        )
        role = gr.Radio(ROLE_CHOICES, value="any", label="For", scale=1, elem_id="principles-role")
    button = gr.Button("Search", variant="primary", elem_id="principles-search")
    results = gr.HTML(elem_id="principles-results")

    def handler(q: str, r: str) -> str:
        return search_principles(q, r, settings)

    button.click(handler, [query, role], results, api_name="search_principles")
    query.submit(handler, [query, role], results)
