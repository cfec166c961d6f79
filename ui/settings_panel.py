"""The Settings tab: which model is active (never its key), whether it answers, whether the
knowledge store is ready, and the limits in force. Read-only: settings come from COACH_* variables."""

from __future__ import annotations

import time
from html import escape

import gradio as gr

from coach.config import Settings
from ui.context import AppContext
from ui.status import ModelStatus, StoreStatus, store_status


def _row(name: str, value: str) -> str:
    return f"<tr><th>{escape(name)}</th><td>{value}</td></tr>"


def status_html(model: ModelStatus, store: StoreStatus, settings: Settings) -> str:
    """The panel as an HTML table (every value escaped; the API key is never part of it)."""
    if model.available:
        answer = '<span class="ok">\u2713 ready</span>'
    else:
        answer = (f'<span class="bad">\u2717 unavailable</span>: {escape(model.problem)}<br>'
                  "The app falls back to analyzer-only coaching: the coach panel works as usual, the persona "
                  "answers with scripted lines and rewrites use the deterministic path.")
    rows = [
        _row("Chat model", f"<b>{escape(model.label)}</b> ({escape(model.where)})"),
        _row("Model status", answer),
    ]
    if model.key:
        rows.append(_row("API key", escape(model.key)))
    ready = ('<span class="ok">\u2713 ready</span>' if store.ready
             else f'<span class="bad">\u2717 not ready</span>: {escape(store.problem)}')
    rows += [
        _row("Knowledge store", f"{ready} \u00b7 {store.chunks} passages \u00b7 <code>{escape(store.location)}</code>"),
        _row("Sessions database", f"<code>{escape(str(settings.db_path))}</code>"),
        _row("Limits", f"a line {settings.max_turn_chars:,} characters \u00b7 a draft {settings.max_draft_chars:,} "
                       f"characters \u00b7 an upload {settings.max_ingest_bytes:,} bytes"),
        _row("Serving", f"{settings.concurrency} model call(s) at a time \u00b7 analytics off \u00b7 no share links"),
    ]
    # data-checked changes on every render, so a refreshed panel is always redrawn (and tests can wait for it)
    return f'<table class="status" data-checked="{time.time():.3f}">' + "".join(rows) + "</table>"


def current_status(ctx: AppContext, refresh: bool = False) -> str:
    """Probe (or reuse the cached probe) and render."""
    return status_html(ctx.status.get(refresh=refresh), store_status(ctx.settings), ctx.settings)


def build_settings_tab(ctx: AppContext, tab: gr.Tab) -> None:
    """Add the Settings tab's components to ``tab`` (refreshed whenever the tab is opened)."""
    gr.Markdown("Settings come from `COACH_*` environment variables or `.env`; see the README.")
    panel = gr.HTML(elem_id="status")
    check = gr.Button("Check again", elem_id="status-check")
    check.click(lambda: current_status(ctx, refresh=True), None, panel, api_name="status", concurrency_limit=None)
    tab.select(lambda: current_status(ctx), None, panel, api_name=False, concurrency_limit=None)
