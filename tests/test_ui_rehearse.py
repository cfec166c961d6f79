"""The Rehearse tab's handlers, called directly with a real store, knowledge search and (where marked) model."""

from __future__ import annotations

from html import escape
from pathlib import Path

import pytest

from coach.config import Settings
from coach.errors import UsageError
from coach.rehearsal.engine import Rehearsal
from coach.rehearsal.persona import fallback_line
from tests.servers import free_port
from ui.context import AppContext
from ui.rehearse import end_session, line_problem, reply_stream, rewind_to, start_session, take_turn
from ui.render_coach import TYPING
from ui.status import StatusCache

SCENARIO = "customer-blowup"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def ctx(ingested_settings: Settings) -> AppContext:
    return AppContext.create(ingested_settings)


def test_start_shows_the_opening_line_and_the_starting_state(ctx: AppContext) -> None:
    sid, chat, panel, banner = start_session(ctx, SCENARIO)
    assert chat == [{"role": "assistant", "content": ctx.scenario(SCENARIO).opening_line}]
    assert panel.highlight == [] and "notes" in panel.notes
    initial = ctx.scenario(SCENARIO).initial_state
    assert f'aria-valuenow="{initial.trust}"' in panel.meter
    assert [x for x, _, _ in panel.history["data"]] == ["start", "start"]
    assert banner == ""  # the bundled local model is there


def test_start_uses_the_library_in_memory(ctx: AppContext, monkeypatch: pytest.MonkeyPatch) -> None:
    """Starting reads no scenario file again (the app loaded them all once, at start-up)."""
    import coach.rehearsal.engine as engine

    def reload(*_args, **_kwargs):
        raise AssertionError("scenario files were read again")

    monkeypatch.setattr(engine, "get_scenario", reload)
    sid, chat, *_ = start_session(ctx, SCENARIO)
    assert ctx.store.get_session(sid).scenario_id == SCENARIO and len(chat) == 1


def test_unknown_scenario_is_a_usage_error(ctx: AppContext) -> None:
    with pytest.raises(UsageError, match="unknown scenario"):
        start_session(ctx, "no-such-scenario")


def test_a_turn_fills_the_coach_panel_without_any_model(ctx: AppContext) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    chat, panel = take_turn(ctx, sid, f"You should just calm down. {XSS}")
    assert chat[-1] == {"role": "user", "content": "You should just calm down. &lt;img src=x onerror=alert(1)&gt;"}
    labels = {label for _, label in panel.highlight if label}
    assert "directive \u2717" in labels
    assert "".join(piece for piece, _ in panel.highlight) == f"You should just calm down. {XSS}"
    assert "Try instead" in panel.notes and "<img" not in panel.notes
    assert '<article class="card cited">' in panel.cards and "source:" in panel.cards
    assert "delta" in panel.meter  # the line moved trust or stress
    assert [x for x, _, _ in panel.history["data"]] == ["start", "start", "1", "1"]


def test_good_listening_raises_trust_in_the_meter(ctx: AppContext) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    _, panel = take_turn(ctx, sid, "It sounds like that call really shook you. What happened?")
    trust = [v for _, m, v in panel.history["data"] if m == "trust"]
    assert trust[1] > trust[0]
    assert 'class="delta up"' in panel.meter


@pytest.mark.parametrize("text, message", [("   ", "empty turn"), ("x" * 50_000, "the limit is 4000")])
def test_bad_lines_are_refused_and_nothing_is_recorded(ctx: AppContext, text: str, message: str) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    ok, problem = line_problem(ctx, sid, text)
    assert not ok and message in problem
    with pytest.raises(UsageError, match=message):
        take_turn(ctx, sid, text)
    assert len(ctx.open(sid).turns()) == 1


def test_turn_without_a_session_asks_to_start(ctx: AppContext) -> None:
    with pytest.raises(UsageError, match="start a rehearsal first"):
        take_turn(ctx, None, "Hello")


def test_two_sessions_never_see_each_other(ctx: AppContext) -> None:
    a, *_ = start_session(ctx, SCENARIO)
    b, *_ = start_session(ctx, "not-cut-out-for-sales")
    chat_a, _ = take_turn(ctx, a, "Line for session A only")
    chat_b, _ = take_turn(ctx, b, "Line for session B only")
    assert "Line for session B only" not in str(chat_a)
    assert "Line for session A only" not in str(chat_b)
    assert [t.text for t in ctx.open(a).turns() if t.role == "manager"] == ["Line for session A only"]


def test_rewind_branches_before_the_line_and_hands_it_back_for_editing(ctx: AppContext) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    take_turn(ctx, sid, "What happened on the call?")
    take_turn(ctx, sid, "You should just forget it.")
    new, chat, panel, old = rewind_to(ctx, sid, 2)
    assert new != sid and old == "You should just forget it."
    assert [m["role"] for m in chat] == ["assistant", "user"]
    assert "Rewound to before your line 2" in panel.notes
    assert len(ctx.open(sid).manager_turns()) == 2  # the first path is kept
    with pytest.raises(UsageError):
        rewind_to(ctx, new, 5)


def test_end_shows_the_debrief_and_writes_both_exports(ctx: AppContext) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    take_turn(ctx, sid, f"It sounds like that hurt. What happened? {XSS}")
    take_turn(ctx, sid, "You should just send the email.")
    view = end_session(ctx, sid)
    assert "overall" in view.html and "Try next time" in view.html and "<img" not in view.html
    assert len(view.scorecard) >= 2 and set(view.scorecard.columns) >= {"Principle", "Score"}
    assert list(dict.fromkeys(x for x, _, _ in view.chart["data"])) == ["start", "1", "2"]
    markdown = Path(view.markdown_path).read_text(encoding="utf-8")
    assert markdown.startswith("# Rehearsal:") and "## Debrief" in markdown
    assert '"debrief"' in Path(view.json_path).read_text(encoding="utf-8")
    assert ctx.open(sid).ended
    with pytest.raises(UsageError, match="has ended"):
        take_turn(ctx, sid, "One more thing")


@pytest.mark.slow
def test_persona_reply_streams_and_is_stored(ctx: AppContext) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    take_turn(ctx, sid, "It sounds like that call really shook you. What happened?")
    views = list(reply_stream(ctx, sid))
    assert views[0][0][-1] == {"role": "assistant", "content": TYPING}
    final_chat, _ = views[-1]
    turns = ctx.open(sid).turns()
    assert [t.role for t in turns] == ["employee", "manager", "employee"]
    assert final_chat[-1]["role"] == "assistant" and final_chat[-1]["content"].strip()


def test_unreachable_remote_model_falls_back_to_scripted_lines_and_says_so(
        ingested_settings: Settings) -> None:
    port = free_port()  # nothing listens here: a real connection refusal
    remote = ingested_settings.model_copy(update={
        "provider": "openai", "openai_base_url": f"http://127.0.0.1:{port}/v1", "model": "remote-model"})
    ctx = AppContext.create(remote)
    sid, _, _, banner = start_session(ctx, SCENARIO)
    assert "unavailable" in banner and "analyzer alone" in banner and "remote-model" in banner
    _, panel = take_turn(ctx, sid, "What happened?")
    assert "Try instead" in panel.notes  # coaching does not need the model
    *_, (chat, notes) = list(reply_stream(ctx, sid))
    rehearsal = ctx.open(sid)
    stored = rehearsal.turns()[-1]
    assert stored.role == "employee"
    assert stored.text == fallback_line(rehearsal.scenario, rehearsal.state, 1)  # the engine's scripted line
    assert chat[-1]["content"] == escape(stored.text)
    assert "scripted line" in notes
    assert isinstance(ctx.status, StatusCache) and not ctx.model_status().available


def test_sessions_are_reopened_from_the_store_not_kept_in_memory(ctx: AppContext, ingested_settings: Settings) -> None:
    sid, *_ = start_session(ctx, SCENARIO)
    take_turn(ctx, sid, "What happened?")
    other = AppContext.create(ingested_settings)  # a restarted app: nothing in memory
    assert isinstance(other.open(sid), Rehearsal)
    chat, _ = take_turn(other, sid, "And then?")
    assert [m["content"] for m in chat if m["role"] == "user"] == ["What happened?", "And then?"]
