"""The web app's presentation helpers: highlighted runs, escaping, the meter, the diff."""

from __future__ import annotations

from coach.analyzer.model import KINDS, Finding
from coach.rehearsal.models import EmployeeState, TurnRecord
from ui.render import findings_html, highlight_colours, highlight_segments, span_label
from ui.render_coach import X_ORDER, chat_messages, meter_html, rewind_choices, state_history
from ui.render_rewrite import diff_html

XSS = "<img src=x onerror=alert(1)>"


def finding(text: str, part: str, kind: str, polarity: str, start: int = 0) -> Finding:
    offset = text.index(part, start)
    return Finding(rule=f"r-{kind}", principle="ask-permission", level="warning", kind=kind, polarity=polarity,
                   message=f"{kind} message {XSS}", line=1, column=offset + 1, offset=offset, length=len(part),
                   text=part)


def test_runs_cover_the_text_exactly_and_overlaps_take_the_bad_finding() -> None:
    text = "You should just ask her. What happened?"
    findings = [finding(text, "You should just ask", "advice-unasked", "bad"),
                finding(text, "You should", "directive", "bad"),
                finding(text, "should just ask her", "story", "good"),
                finding(text, "What happened?", "question-open", "good")]
    runs = highlight_segments(text, findings)
    assert "".join(piece for piece, _ in runs) == text
    # both bad findings cover "You should": the earlier, longer span wins, and the good one loses to bad
    assert runs[0] == ("You should just ask", "advice-unasked \u2717")
    assert runs[1] == (" her", "story")                         # only the good finding covers it
    assert runs[-1] == ("What happened?", "question-open")
    labels = [label for _, label in runs]
    assert all(a != b for a, b in zip(labels, labels[1:]))      # equal neighbours are merged


def test_runs_ignore_spans_outside_the_text_and_empty_text() -> None:
    text = "Hello there"
    stray = Finding(rule="r", principle="p", level="warning", kind="directive", polarity="bad", message="m",
                    line=1, column=1, offset=50, length=3, text="xyz")
    assert highlight_segments(text, [stray]) == [("Hello there", None)]
    assert highlight_segments("", [stray]) == []


def test_colour_map_has_every_kind_and_its_crossed_variant() -> None:
    colours = highlight_colours(KINDS)
    for kind in KINDS:
        assert kind in colours and span_label(kind, "bad") in colours


def test_findings_and_chat_escape_markup() -> None:
    text = f"Say {XSS} now"
    html = findings_html([finding(text, XSS, "directive", "bad")])
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    turn = TurnRecord(session_id="s", index=1, role="manager", text=text, created_at="2026-01-01T00:00:00+00:00")
    assert chat_messages([turn]) == [{"role": "user", "content": "Say &lt;img src=x onerror=alert(1)&gt; now"}]


def test_meter_shows_values_and_signed_changes_clamped_to_the_track() -> None:
    html = meter_html(EmployeeState(trust=62, stress=30), EmployeeState(trust=50, stress=41))
    assert 'aria-valuenow="62"' in html and "+12" in html and "-11" in html
    assert "width:100%" in meter_html(EmployeeState(trust=100, stress=0))


def test_state_history_and_rewind_choices_follow_the_manager_lines() -> None:
    def turn(i: int, role: str, text: str, trust: int | None = None) -> TurnRecord:
        state = EmployeeState(trust=trust, stress=100 - trust) if trust is not None else None
        return TurnRecord(session_id="s", index=i, role=role, text=text, created_at="t", state=state)

    turns = [turn(0, "employee", "hi"), turn(1, "manager", "What happened?", 55), turn(2, "employee", "A lot."),
             turn(3, "manager", "x" * 100, 60)]
    plot = state_history(turns, EmployeeState(trust=40, stress=70))
    assert plot["columns"] == ["line", "measure", "value"] and plot["mark"] == "line"
    assert [v for _, m, v in plot["data"] if m == "trust"] == [40, 55, 60]
    assert [x for x, m, _ in plot["data"] if m == "stress"] == ["start", "1", "2"]
    assert {x for x, _, _ in plot["data"]} <= set(X_ORDER) and X_ORDER[:3] == ["start", "1", "2"]
    # gr.LinePlot takes it as is, and it is what the chart would get from the equivalent DataFrame.
    import gradio as gr
    import pandas as pd

    chart = gr.LinePlot(x="line", y="value", color="measure")
    assert chart.postprocess(plot) == plot
    via_frame = chart.postprocess(pd.DataFrame(plot["data"], columns=plot["columns"])).model_dump()
    assert {k: via_frame[k] for k in plot} == plot
    choices = rewind_choices(turns)
    assert [n for _, n in choices] == [1, 2]
    assert choices[0][0] == "1. What happened?" and choices[1][0].endswith("\u2026") and len(choices[1][0]) < 70


def test_diff_marks_removed_and_added_words_and_escapes() -> None:
    html = diff_html(f"You should just ask Priya {XSS}", "Can I share? I asked Priya <b>")
    assert "<del>You should just ask </del>" in html
    assert "<ins>Can I share? I asked </ins>" in html
    assert "<img" not in html and "<b>" not in html
