"""The Principles tab: search the knowledge base and read the cards that fit."""

from __future__ import annotations

import gradio as gr

from coach.config import Settings
from coach.errors import CoachError
from coach.knowledge import search
from ui.render import results_html
from ui.uploads import add_documents

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

    # Search never calls the model: it must not queue behind persona replies (the default limit).
    button.click(handler, [query, role], results, api_name="search_principles", concurrency_limit=None)
    query.submit(handler, [query, role], results, api_name=False, concurrency_limit=None)

    with gr.Accordion("Add your own documents", open=False, elem_id="upload-section"):
        gr.Markdown(
            f"Upload .md or .txt files (up to {settings.max_ingest_bytes // 1000:,} KB each). "
            "Their passages join the principle cards in search results."
        )
        files = gr.File(file_count="multiple", label="Documents", elem_id="upload-files", height=120)
        upload = gr.Button("Add to the knowledge store", elem_id="upload-run")
        report = gr.HTML(elem_id="upload-report")

    def on_upload(paths: list[str] | None, progress: gr.Progress = gr.Progress()) -> str:
        if not paths:
            raise gr.Error("choose one or more .md or .txt files first")
        wrap = lambda items: progress.tqdm(items, desc="Adding documents", unit="files")  # noqa: E731
        return add_documents(settings, paths, progress=wrap).html()

    upload.click(on_upload, files, report, api_name="add_documents", concurrency_limit=1,
                 concurrency_id="ingest")
