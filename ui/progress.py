"""The Progress tab: past sessions, each principle's score over time, and any session reopened read-only."""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr
import pandas as pd

from coach.cards import card_index
from coach.errors import CoachError
from coach.rehearsal.models import SessionInfo
from ui.context import AppContext
from ui.rehearse import state_chart
from ui.render_coach import X_ORDER, chat_messages, debrief_html, scorecard_frame, state_history

SESSION_COLUMNS = ["Date", "Scenario", "Overall", "Status", "Session"]
SESSION_LIMIT = 200


def _when(iso: str | None) -> str:
    return (iso or "")[:16].replace("T", " ")


def overall(info: SessionInfo) -> int | None:
    """The session's overall score: the mean of its stored principle scores (as the debrief computes it)."""
    return round(sum(info.scores.values()) / len(info.scores)) if info.scores else None


def _status(info: SessionInfo) -> str:
    state = "ended" if info.ended_at else "in progress"
    return f"{state}, rewound from {info.parent_session_id}" if info.parent_session_id else state


def _title(ctx: AppContext, scenario_id: str) -> str:
    scenario = ctx.scenarios.get(scenario_id)
    return scenario.title if scenario else scenario_id


def sessions_frame(ctx: AppContext) -> pd.DataFrame:
    """Past sessions, newest first: date (UTC), scenario, overall score, status, id."""
    rows = [{"Date": _when(s.started_at), "Scenario": _title(ctx, s.scenario_id),
             "Overall": "" if overall(s) is None else overall(s), "Status": _status(s), "Session": s.id}
            for s in ctx.store.list_sessions(limit=SESSION_LIMIT)]
    return pd.DataFrame(rows, columns=SESSION_COLUMNS)


def progress_frame(ctx: AppContext) -> pd.DataFrame:
    """Each principle's score per ended session, oldest first (long format for a LinePlot).

    ``session`` numbers the ended sessions ("1", "2"...): one x position each, even when two ended
    in the same minute (the table shows their dates).
    """
    cards = card_index(ctx.settings.knowledge_dir / "principles")
    order: dict[str, str] = {}
    rows = []
    for p in ctx.store.progress():
        label = order.setdefault(p.session_id, str(len(order) + 1))
        title = cards[p.principle].title if p.principle in cards else p.principle
        rows.append({"session": label, "principle": title, "score": p.score, "ended": p.at})
    return pd.DataFrame(rows, columns=["session", "principle", "score", "ended"])


def session_choices(ctx: AppContext) -> list[tuple[str, str]]:
    """(label, id) of every stored session for the reopen picker."""
    out = []
    for s in ctx.store.list_sessions(limit=SESSION_LIMIT):
        score = overall(s)
        label = f"{_when(s.started_at)} \u00b7 {_title(ctx, s.scenario_id)}"
        out.append((label + (f" \u00b7 {score}" if score is not None else ""), s.id))
    return out


@dataclass
class ReopenedView:
    """A past session, read-only."""

    chat: list[dict]
    debrief: str
    scorecard: pd.DataFrame
    chart: dict


def reopen(ctx: AppContext, session_id: str | None) -> ReopenedView:
    """A stored session's conversation and debrief (computed, nothing is written)."""
    rehearsal = ctx.open(session_id)
    result = rehearsal.debrief()
    index = card_index(ctx.settings.knowledge_dir / "principles")
    note = "" if rehearsal.ended else '<p class="empty">This session was not ended; the debrief covers it so far.</p>'
    turns = rehearsal.turns()
    return ReopenedView(chat_messages(turns), note + debrief_html(result, index), scorecard_frame(result, index),
                        state_history(turns, rehearsal.session.initial_state))


def build_progress_tab(ctx: AppContext, tab: gr.Tab) -> None:
    """Add the Progress tab's components to ``tab`` (refreshed whenever the tab is opened)."""
    with gr.Row():
        gr.Markdown("Your past sessions and how each principle's score moved. Scores come from ended sessions.")
        refresh = gr.Button("Refresh", scale=0, min_width=100, elem_id="progress-refresh")
    sessions = gr.Dataframe(headers=SESSION_COLUMNS, label="Past sessions", interactive=False, wrap=True,
                            max_height=300, elem_id="sessions")
    plot = gr.LinePlot(x="session", y="score", color="principle", y_lim=[0, 100], sort=X_ORDER,
                       label="Score per principle over time", x_title="ended session", y_title="score",
                       elem_id="progress-plot")
    with gr.Row(elem_classes="picker-row"):
        picker = gr.Dropdown([], label="Reopen a session (read-only)", scale=4, elem_id="reopen-pick")
        open_button = gr.Button("Open", scale=0, min_width=120, elem_id="reopen")
    with gr.Column(visible=False, elem_id="reopened") as box:
        chat = gr.Chatbot(label="Conversation (read-only)", height=360, feedback_options=None, buttons=["copy_all"],
                          elem_id="reopened-chat")
        debrief = gr.HTML(elem_id="reopened-debrief")
        scorecard = gr.Dataframe(label="Scorecard", interactive=False, wrap=True, elem_id="reopened-scorecard")
        chart = state_chart("Trust and stress", "reopened-chart")

    def on_refresh():
        return sessions_frame(ctx), progress_frame(ctx), gr.update(choices=session_choices(ctx))

    def on_open(session_id: str | None):
        try:
            view = reopen(ctx, session_id)
        except CoachError as exc:
            raise gr.Error(str(exc)) from exc
        return gr.update(visible=True), view.chat, view.debrief, view.scorecard, view.chart

    refresh.click(on_refresh, None, [sessions, plot, picker], api_name="progress", concurrency_limit=None)
    tab.select(on_refresh, None, [sessions, plot, picker], api_name=False, concurrency_limit=None)
    open_button.click(on_open, picker, [box, chat, debrief, scorecard, chart], api_name="reopen_session",
                      concurrency_limit=None)
