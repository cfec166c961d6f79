"""Builds the Gradio Blocks app. Launching happens only in ``coach serve`` (never on import)."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from coach.config import Settings
from ui.principles import build_principles_tab

_CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")


def build_app(settings: Settings) -> gr.Blocks:
    """The whole app with its tabs."""
    with gr.Blocks(title="Mentor Coach", analytics_enabled=False) as app:
        gr.Markdown("# Mentor Coach\nPractise mentoring conversations, offline.", elem_id="title")
        with gr.Tabs():
            with gr.Tab("Principles", id="principles"):
                build_principles_tab(settings)
    return app


def launch_kwargs(settings: Settings) -> dict:
    """Keyword arguments for ``Blocks.launch``: theme, CSS and never a public share link."""
    return {"css": _CSS, "theme": gr.themes.Soft(primary_hue="teal"), "share": False}
