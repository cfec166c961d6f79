"""The Rehearse tab: pick a scenario, talk to the persona, read the live coach panel, rewind, end.

Handlers are plain functions of the :class:`~ui.context.AppContext` and the browser session's
session id (kept in ``gr.State``): they reopen the session from the store on every call, so no
conversation lives in module globals and two browser sessions never see each other's turns.
A turn is two events: :func:`take_turn` (analysis, state, cards: no model, fast) updates the coach
panel at once, then :func:`reply_stream` streams the persona's checked reply.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from coach.cards import card_index
from coach.errors import CoachError, ModelError, UsageError
from coach.rehearsal.coaching import Coaching
from coach.rehearsal.engine import Rehearsal, validate_turn
from coach.rehearsal.models import TurnRecord
from ui.context import AppContext
from ui.render import highlight_colours, highlight_segments, notices_html
from ui.render_coach import (
    STATE_COLOURS, TYPING, X_ORDER, brief_html, cards_html, chat_messages, coach_notes_html, debrief_html,
    message_text, meter_html, rewind_choices, scorecard_frame, state_history,
)
from ui.status import ModelStatus, UnavailableModel

NOTES_PLACEHOLDER = '<p class="empty">Your coach\'s notes on each of your lines appear here.</p>'


@dataclass
class Panel:
    """Everything the coach panel shows."""

    highlight: list[tuple[str, str | None]]
    notes: str
    cards: str
    meter: str
    history: dict            # plot data for gr.LinePlot (see state_history)


@dataclass
class DebriefView:
    """The debrief and its two export files."""

    html: str
    scorecard: pd.DataFrame
    chart: dict
    markdown_path: str
    json_path: str


def _cards(ctx: AppContext):
    return card_index(ctx.settings.knowledge_dir / "principles")


def idle_panel(rehearsal: Rehearsal, notes: str = NOTES_PLACEHOLDER) -> Panel:
    """The panel before a line is analysed: the state meter and its history only."""
    turns = rehearsal.turns()
    return Panel([], notes, "", meter_html(rehearsal.state),
                 state_history(turns, rehearsal.session.initial_state))


def coached_panel(ctx: AppContext, rehearsal: Rehearsal, coaching: Coaching,
                  turns: list[TurnRecord] | None = None) -> Panel:
    """The panel after a line: highlighted spans, notes, try-instead, cards, meter and history."""
    turns = rehearsal.turns() if turns is None else turns
    return Panel(
        highlight=highlight_segments(coaching.text, coaching.findings),
        notes=coach_notes_html(coaching),
        cards=cards_html(coaching.cards, _cards(ctx)),
        meter=meter_html(coaching.after, coaching.before),
        history=state_history(turns, rehearsal.session.initial_state),
    )


def model_notice(status: ModelStatus, persona_name: str) -> str:
    """The banner shown while the chat model cannot answer ("" when it can)."""
    if status.available:
        return ""
    return notices_html([
        f"The chat model ({status.label}) is unavailable: {status.problem}. Coaching continues from the "
        f"analyzer alone; {persona_name} answers with scripted lines until the model is back."
    ])


# --- handlers -------------------------------------------------------------------------------------


def start_session(ctx: AppContext, scenario_id: str) -> tuple[str, list[dict], Panel, str]:
    """A new session: (session id, chat with the opening line, idle panel, model banner)."""
    rehearsal = ctx.start(scenario_id)
    name = rehearsal.scenario.persona.words()["name"]
    return rehearsal.id, chat_messages(rehearsal.turns()), idle_panel(rehearsal), model_notice(ctx.model_status(), name)


def take_turn(ctx: AppContext, session_id: str | None, text: str) -> tuple[list[dict], Panel]:
    """Analyse and store the manager's line (no model): the chat so far and the coach panel.

    Raises :class:`~coach.errors.UsageError` (nothing recorded) for an empty or over-long line.
    """
    rehearsal = ctx.open(session_id)
    coaching = rehearsal.coach_turn(text)
    turns = rehearsal.turns()  # read once for the chat and the history chart
    return chat_messages(turns), coached_panel(ctx, rehearsal, coaching, turns)


def reply_stream(ctx: AppContext, session_id: str | None) -> Iterator[tuple[list[dict], str]]:
    """Stream the persona's reply: (chat, notices) after each checked sentence; stored at the end."""
    rehearsal = ctx.open(session_id)
    base = chat_messages(rehearsal.turns())
    yield base + [{"role": "assistant", "content": TYPING}], ""
    try:
        reply = rehearsal.persona_reply()
    except ModelError as exc:  # the local model failed to load: the engine's scripted line instead
        status = ctx.model_status()
        down = ModelStatus(status.provider, status.name, status.where, status.key, False, str(exc))
        rehearsal = ctx.open(session_id, model=UnavailableModel(down, ctx.settings))
        reply = rehearsal.persona_reply()
    shown = ""
    for piece in reply:
        shown += piece
        yield base + [{"role": "assistant", "content": message_text(shown)}], ""
    outcome = reply.outcome
    notes = list(outcome.notices)
    if outcome.source == "fallback":
        notes.insert(0, "This reply is a scripted line: the model's answers did not pass the in-character checks"
                     " or the model was unavailable.")
    yield chat_messages(rehearsal.turns()), notices_html(notes)


def rewind_to(ctx: AppContext, session_id: str | None, line: int | None) -> tuple[str, list[dict], Panel, str]:
    """Branch before the manager's ``line``-th line: (new session id, chat, panel, that line to edit)."""
    rehearsal = ctx.open(session_id)
    if line is None:
        raise UsageError("pick one of your lines to rewind to")
    branch = rehearsal.rewind(int(line))  # checks the number (UsageError names the valid range)
    old = rehearsal.manager_turns()[int(line) - 1].text
    notes = (f'<p class="empty">Rewound to before your line {int(line)}: say it differently. '
             "The first path is kept in Progress.</p>")
    return branch.id, chat_messages(branch.turns()), idle_panel(branch, notes), old


def end_session(ctx: AppContext, session_id: str | None) -> DebriefView:
    """End the session: store the scores, show the debrief, write the Markdown and JSON exports."""
    rehearsal = ctx.open(session_id)
    result = rehearsal.end()
    paths = {}
    for fmt, suffix in (("markdown", "md"), ("json", "json")):
        path = Path(ctx.export_dir) / f"rehearsal-{rehearsal.id}.{suffix}"
        path.write_text(rehearsal.export(fmt), encoding="utf-8")
        paths[fmt] = str(path)
    index = _cards(ctx)
    return DebriefView(debrief_html(result, index), scorecard_frame(result, index),
                       state_history(rehearsal.turns(), rehearsal.session.initial_state),
                       paths["markdown"], paths["json"])


def line_problem(ctx: AppContext, session_id: str | None, text: str) -> tuple[bool, str]:
    """(ok, message) for the manager's line, by the engine's own rules (empty, too long, binary)."""
    name = "them"
    if session_id:
        try:
            name = ctx.scenario(ctx.store.get_session(session_id).scenario_id).persona.words()["name"]
        except CoachError:
            pass  # an unknown session is reported by the handler itself
    try:
        validate_turn(text, ctx.settings.max_turn_chars, name)
    except UsageError as exc:
        return False, str(exc)
    return True, ""


# --- the tab --------------------------------------------------------------------------------------


def state_chart(label: str, elem_id: str) -> gr.LinePlot:
    """A trust/stress line chart for :func:`~ui.render_coach.state_history` plot data.

    No fixed height: with one, Gradio 6.31 clips the colour legend.
    """
    return gr.LinePlot(x="line", y="value", color="measure", color_map=STATE_COLOURS, y_lim=[0, 100], sort=X_ORDER,
                       label=label, x_title="your line", y_title="", elem_id=elem_id)


def _ui_error(exc: CoachError) -> gr.Error:
    return gr.Error(str(exc), title="Not recorded" if "recorded" in str(exc) else "Error")


#: Coach panel updates (analysis + retrieval, CPU-bound, about 30 ms) run two at a time, whatever
#: the number of browsers: more in parallel only fight over the GIL and the ONNX threads, and the
#: 10-client p95 got worse (benchmarks/ui.py: about 500 ms unlimited, under 300 ms at two).
PANEL_CONCURRENCY = 2


def build_rehearse_tab(ctx: AppContext) -> None:
    """Add the Rehearse tab's components and events to the current Blocks."""
    choices = [(f"{s.title} ({s.family})", s.id) for s in ctx.scenarios.values()]
    first = choices[0][1] if choices else None
    session = gr.State(None)
    model_events = {"concurrency_limit": ctx.settings.concurrency, "concurrency_id": "model"}
    panel_events = {"concurrency_limit": PANEL_CONCURRENCY, "concurrency_id": "panel"}
    with gr.Row(elem_id="scenario-row", elem_classes="picker-row"):
        scenario = gr.Dropdown(choices, value=first, label="Scenario", scale=4, elem_id="scenario")
        start = gr.Button("Start", variant="primary", scale=0, min_width=140, elem_id="start")
    brief = gr.HTML(brief_html(ctx.scenarios[first]) if first else "", elem_id="brief")
    banner = gr.HTML(elem_id="model-banner")
    with gr.Row(elem_id="rehearse-main"):
        with gr.Column(scale=3, min_width=320):
            chat = gr.Chatbot(label="Conversation", height=420, elem_id="chat", buttons=["copy_all"],
                              feedback_options=None, placeholder="Pick a scenario and press Start.")
            reply_notes = gr.HTML(elem_id="reply-notes")
            with gr.Row(equal_height=True):
                message = gr.Textbox(label="Your line", placeholder="What do you say?", lines=2, scale=4,
                                     elem_id="message")
                send = gr.Button("Send", variant="primary", scale=0, min_width=110, elem_id="send")
            with gr.Row(elem_classes="picker-row"):
                rewind_line = gr.Dropdown([], label="Rewind to before your line", scale=3, elem_id="rewind-line")
                rewind = gr.Button("Rewind", scale=1, elem_id="rewind")
                end = gr.Button("End session", variant="stop", scale=1, elem_id="end")
        with gr.Column(scale=2, min_width=300, elem_id="coach-panel"):
            gr.Markdown("### Coach")
            highlight = gr.HighlightedText(label="Your last line", color_map=highlight_colours(_kinds()),
                                           combine_adjacent=False, show_legend=False, elem_id="highlight")
            notes = gr.HTML(NOTES_PLACEHOLDER, elem_id="coach-notes")
            cards = gr.HTML(elem_id="coach-cards")
            meter = gr.HTML(elem_id="meter")
            history = state_chart("Trust and stress", "history")
    with gr.Column(visible=False, elem_id="debrief") as debrief_box:
        gr.Markdown("## Debrief")
        debrief = gr.HTML(elem_id="debrief-html")
        scorecard = gr.Dataframe(label="Scorecard", interactive=False, wrap=True, elem_id="scorecard")
        chart = state_chart("Trust and stress over the session", "debrief-chart")
        with gr.Row():
            export_md = gr.DownloadButton("Download Markdown", elem_id="export-md")
            export_json = gr.DownloadButton("Download JSON", elem_id="export-json")
    panel = [highlight, notes, cards, meter, history]

    def show_brief(scenario_id: str) -> str:
        return brief_html(ctx.scenarios[scenario_id]) if scenario_id in ctx.scenarios else ""

    def on_start(scenario_id: str):
        try:
            sid, messages, p, notice = start_session(ctx, scenario_id)
        except CoachError as exc:
            raise _ui_error(exc) from exc
        return (sid, messages, p.highlight, p.notes, p.cards, p.meter, p.history, notice,
                gr.update(choices=[], value=None), gr.update(visible=False), "")

    locked = [message, send, rewind, end]

    def on_turn(sid: str | None, text: str):
        try:
            messages, p = take_turn(ctx, sid, text)
        except CoachError as exc:
            raise _ui_error(exc) from exc
        # While the reply streams nothing else may change this session: the next line waits for it.
        busy = [gr.update(value="", interactive=False)] + [gr.update(interactive=False)] * 3
        return messages, p.highlight, p.notes, p.cards, p.meter, p.history, "", *busy

    def check_line(sid: str | None, text: str):
        """Shown under the box, before anything runs: an empty or over-long line is never sent."""
        return [gr.validate(True, ""), gr.validate(*line_problem(ctx, sid, text))]

    def unlock():
        return [gr.update(interactive=True)] * len(locked)

    def on_reply(sid: str | None):
        try:
            for messages, note in reply_stream(ctx, sid):
                yield messages, note, gr.update()
            choices = rewind_choices(ctx.open(sid).turns())
        except CoachError as exc:
            raise _ui_error(exc) from exc
        yield messages, note, gr.update(choices=choices, value=None)

    def on_rewind(sid: str | None, line: int | None):
        try:
            new, messages, p, old = rewind_to(ctx, sid, line)
        except CoachError as exc:
            raise _ui_error(exc) from exc
        rehearsal = ctx.open(new)
        return (new, messages, p.highlight, p.notes, p.cards, p.meter, p.history, old,
                gr.update(choices=rewind_choices(rehearsal.turns()), value=None), gr.update(visible=False))

    def on_end(sid: str | None):
        try:
            view = end_session(ctx, sid)
        except CoachError as exc:
            raise _ui_error(exc) from exc
        return (gr.update(visible=True), view.html, view.scorecard, view.chart, view.markdown_path,
                view.json_path)

    scenario.change(show_brief, scenario, brief, api_name=False, queue=False)
    start.click(on_start, scenario, [session, chat, *panel, banner, rewind_line, debrief_box, reply_notes],
                api_name="start_session", concurrency_limit=None)
    turn_io = ([session, message], [chat, *panel, reply_notes, *locked])
    reply_io = (session, [chat, reply_notes, rewind_line])
    send.click(on_turn, *turn_io, api_name="coach_turn", **panel_events, validator=check_line).success(
        on_reply, *reply_io, api_name="persona_reply", **model_events).then(
        unlock, None, locked, api_name=False, queue=False)
    message.submit(on_turn, *turn_io, api_name=False, **panel_events, validator=check_line).success(
        on_reply, *reply_io, api_name=False, **model_events).then(
        unlock, None, locked, api_name=False, queue=False)
    rewind.click(on_rewind, [session, rewind_line],
                 [session, chat, *panel, message, rewind_line, debrief_box], api_name="rewind", concurrency_limit=None)
    end.click(on_end, session, [debrief_box, debrief, scorecard, chart, export_md, export_json],
              api_name="end_session", concurrency_limit=None, scroll_to_output=True)


def _kinds() -> tuple[str, ...]:
    from coach.analyzer.model import KINDS

    return KINDS
