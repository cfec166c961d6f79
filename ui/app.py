"""Builds the Gradio Blocks app. Launching happens only in ``coach serve`` (never on import).

Serving rules kept here: no analytics, never a share link, uploads bounded, every conversation
in per-browser-session state (``gr.State`` holding a session id; the store holds the rest).
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

import gradio as gr

from coach.config import Settings
from ui.context import AppContext
from ui.principles import build_principles_tab
from ui.progress import build_progress_tab
from ui.rehearse import build_rehearse_tab
from ui.rewrite import build_rewrite_tab
from ui.settings_panel import build_settings_tab

_CSS = (Path(__file__).parent / "style.css").read_text(encoding="utf-8")
#: Gradio scopes custom CSS to the content area; the page around it needs a plain style tag: the same
#: width on every tab (a tab of short content would otherwise shrink the page), less padding when narrow.
_HEAD = ("<style>.gradio-container { width: 100% !important; }"
         "@media (max-width: 640px) { .main.app { padding: 8px 10px !important; } }</style>")
#: Uploads above this many times the ingest limit are refused by Gradio itself before reaching us.
UPLOAD_HEADROOM = 5


def header_html(ctx: AppContext) -> str:
    """The one-line model status under the title."""
    status = ctx.model_status()
    state = "ready" if status.available else "unavailable: analyzer-only coaching"
    return f'<p class="model-line">Model: {escape(status.label)} ({escape(state)})</p>'


#: Gradio's queue keeps local per-event statistics for its /monitoring page (which this app never
#: enables) and, by default, rebuilds a pandas summary of the last 10,000 events after every event:
#: a cost that grows with uptime and took a tenth of the server's time under 10 concurrent users.
#: Nothing is sent anywhere either way; these keep a few records and summarise rarely.
MONITORING_ENV = {"GRADIO_ANALYTICS_MAX_EVENTS": "100", "GRADIO_ANALYTICS_CACHE_FREQUENCY": "1000"}


def quiet_monitoring() -> None:
    """Apply :data:`MONITORING_ENV` (read by Gradio when a Blocks is created), unless the user set them."""
    for name, value in MONITORING_ENV.items():
        os.environ.setdefault(name, value)


def build_app(settings: Settings, ctx: AppContext | None = None) -> gr.Blocks:
    """The whole app with its tabs (``ctx`` is built from ``settings`` unless given, e.g. by tests)."""
    ctx = ctx or AppContext.create(settings)
    quiet_monitoring()
    with gr.Blocks(title="Mentor Coach", analytics_enabled=False) as app:
        with gr.Row(elem_id="header"):
            gr.Markdown("# Mentor Coach\nPractise mentoring conversations, offline.", elem_id="title")
            model_line = gr.HTML(elem_id="model-line")
        with gr.Tabs():
            with gr.Tab("Rehearse", id="rehearse"):
                build_rehearse_tab(ctx)
            with gr.Tab("Rewrite", id="rewrite"):
                build_rewrite_tab(ctx)
            with gr.Tab("Principles", id="principles"):
                build_principles_tab(settings)
            with gr.Tab("Progress", id="progress") as progress_tab:
                build_progress_tab(ctx, progress_tab)
            with gr.Tab("Settings", id="settings") as settings_tab:
                build_settings_tab(ctx, settings_tab)
        app.load(lambda: header_html(ctx), None, model_line, api_name=False, concurrency_limit=None)
    return app


def launch_kwargs(settings: Settings) -> dict:
    """Keyword arguments for ``Blocks.launch``: theme, CSS, bounded uploads and never a public share link."""
    # Local fonts only: the default theme fonts are fetched from Google, and the app works offline.
    theme = gr.themes.Soft(primary_hue="teal", neutral_hue="slate",
                           font=["ui-sans-serif", "system-ui", "Segoe UI", "Roboto", "sans-serif"],
                           font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
    return {"css": _CSS, "head": _HEAD, "theme": theme, "share": False,
            "max_file_size": UPLOAD_HEADROOM * settings.max_ingest_bytes, "footer_links": ["api"]}
