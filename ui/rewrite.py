"""The Rewrite tab: paste draft advice, see its findings in place, watch the verified rewrite stream in.

:func:`check_draft` is the analyzer alone (instant); :func:`rewrite_views` follows
``coach.rewrite.rewrite_stream`` and turns its events into what the tab shows. Only the final
``result`` event's text (verified) ever reaches the copyable output box.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import gradio as gr

from coach.analyzer import find_spans
from coach.analyzer.model import KINDS
from coach.config import Settings
from coach.errors import CoachError, UsageError
from coach.rewrite import rewrite_stream, validate_draft
from ui.context import AppContext
from ui.render import findings_html, highlight_colours, highlight_segments
from ui.render_rewrite import DraftingLog, checklist_html, diff_html, result_notices

EXAMPLE = ("You should just stop worrying about the customer and send the report today. "
           "Why don't you ask Priya to review it first?")


@dataclass
class RewriteView:
    """One state of the Rewrite tab's output while the rewrite streams."""

    log: str
    text: str = ""         # the verified rewrite; "" until the result arrives
    checklist: str = ""
    diff: str = ""
    notices: str = ""


def check_draft(settings: Settings, draft: str) -> tuple[list[tuple[str, str | None]], str]:
    """Findings of the draft: (highlighted runs, messages). Empty or over-long drafts raise UsageError."""
    clean, _ = validate_draft(draft, settings)
    findings = find_spans(clean)  # the rules alone: spans and messages (the behaviour label is not shown here)
    return highlight_segments(clean, findings), findings_html(findings, "No findings: nothing to fix.")


def draft_problem(settings: Settings, draft: str) -> tuple[bool, str]:
    """(ok, message) for a draft, by the rewriter's own rules (empty, over the length limit, NUL)."""
    try:
        validate_draft(draft, settings)
    except UsageError as exc:
        return False, str(exc)
    return True, ""


def rewrite_views(ctx: AppContext, draft: str) -> Iterator[RewriteView]:
    """The rewrite as it streams; the last view carries the verified text, checklist and diff.

    When the chat model is down the deterministic rewrite runs at once (and says so).
    """
    status = ctx.model_status()
    extra = [] if status.available else [
        f"the chat model ({status.label}) is unavailable: {status.problem}; used the deterministic rewrite"]
    log = DraftingLog(notices=list(extra))
    yield RewriteView(log.html())
    for event in rewrite_stream(draft, ctx.settings, use_model=status.available):
        if event.type != "result":
            log.add(event)
            yield RewriteView(log.html())
            continue
        result = event.result
        yield RewriteView(log.html(done=True), result.text, checklist_html(result),
                          diff_html(result.draft, result.text), result_notices(result, extra))


def build_rewrite_tab(ctx: AppContext) -> None:
    """Add the Rewrite tab's components and events to the current Blocks."""
    with gr.Row():
        with gr.Column(scale=1, min_width=320):
            draft = gr.Textbox(label="Your draft advice", lines=7, max_lines=16, placeholder=EXAMPLE,
                               elem_id="draft")
            with gr.Row():
                run = gr.Button("Check and rewrite", variant="primary", elem_id="rewrite-run")
                gr.ClearButton([draft], value="Clear")
            highlight = gr.HighlightedText(label="Findings in your draft", color_map=highlight_colours(KINDS),
                                           combine_adjacent=False, show_legend=False, elem_id="draft-highlight")
            findings = gr.HTML(elem_id="draft-findings")
        with gr.Column(scale=1, min_width=320):
            log = gr.HTML(elem_id="rewrite-log")
            output = gr.Textbox(label="Verified rewrite", lines=5, interactive=False, buttons=["copy"],
                                elem_id="rewrite-output")
            checklist = gr.HTML(elem_id="rewrite-checklist")
            notices = gr.HTML(elem_id="rewrite-notices")
    diff = gr.HTML(elem_id="rewrite-diff")

    def on_check(text: str):
        try:
            runs, messages = check_draft(ctx.settings, text)
        except CoachError as exc:
            raise gr.Error(str(exc)) from exc
        return runs, messages, "", "", "", "", ""

    def on_rewrite(text: str):
        try:
            for view in rewrite_views(ctx, text):
                yield view.log, view.text, view.checklist, view.diff, view.notices
        except CoachError as exc:
            raise gr.Error(str(exc)) from exc

    def check_input(text: str):
        return gr.validate(*draft_problem(ctx.settings, text))

    run.click(on_check, draft, [highlight, findings, log, output, checklist, diff, notices],
              api_name="check_draft", concurrency_limit=None, validator=check_input).success(
        on_rewrite, draft, [log, output, checklist, diff, notices], api_name="rewrite",
        concurrency_limit=ctx.settings.concurrency, concurrency_id="model")
