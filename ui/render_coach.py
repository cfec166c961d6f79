"""HTML and data for the Rehearse tab: chat messages, the coach panel, the state meter, the debrief.

Presentation only: every value comes from :mod:`coach.rehearsal` objects. Every string that a
user or a model wrote is escaped, so HTML typed into a turn is shown as text and never runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

import pandas as pd

from coach.cards import PrincipleCard
from coach.rehearsal.coaching import Coaching, CardRef
from coach.rehearsal.debrief import Debrief
from coach.rehearsal.models import EmployeeState, Scenario, TurnRecord
from ui.render import finding_item, notices_html

ELLIPSIS = "\u2026"
CHECK, CROSS = "\u2713", "\u2717"
#: What the persona says while its reply is being generated.
TYPING = ELLIPSIS


def message_text(text: str) -> str:
    """A line as the chat shows it: HTML escaped, so markup typed by anyone is shown as text."""
    return escape(text)


def chat_messages(turns: Sequence[TurnRecord]) -> list[dict[str, str]]:
    """Stored turns as ``gr.Chatbot`` messages (manager = user, persona = assistant)."""
    return [{"role": "user" if t.role == "manager" else "assistant", "content": message_text(t.text)} for t in turns]


def brief_html(scenario: Scenario) -> str:
    """The scenario's brief: who the persona is and what the manager should try."""
    p = scenario.persona
    principles = ", ".join(scenario.principles)
    return (
        f'<div class="brief"><h3>{escape(scenario.title)}</h3>'
        f"<p>{escape(scenario.brief)}</p>"
        f'<p class="who"><b>{escape(p.name)}</b>, {escape(p.role)}</p>'
        f'<p class="principles">Principles in play: {escape(principles)}</p></div>'
    )


def _quote(text: str) -> str:
    return f"<q>{escape(text)}</q>"


def coach_notes_html(coaching: Coaching) -> str:
    """The notes on the last turn, the line to try instead, and what moved the persona's state."""
    parts = []
    if coaching.notes:
        items = "".join(finding_item(n.kind, n.polarity, n.quote, n.message) for n in coaching.notes)
        parts.append(f'<ul class="findings">{items}</ul>')
    else:
        parts.append('<p class="empty">No principle followed or broken in this line.</p>')
    parts.append(f'<div class="try-instead"><b>Try instead</b><p>{escape(coaching.try_instead.text)}</p></div>')
    changes = coaching.change_notes()
    if changes:
        parts.append('<ul class="changes">' + "".join(f"<li>{escape(c)}</li>" for c in changes) + "</ul>")
    parts.append(notices_html(coaching.notices))
    return '<div class="coach-notes">' + "".join(parts) + "</div>"


def card_source(card: PrincipleCard) -> str:
    """Where a card's idea comes from, as the knowledge search shows it."""
    return f"{card.source.file} ({card.source.part}; {card.source.author})"


def cards_html(cards: Sequence[CardRef], index: Mapping[str, PrincipleCard]) -> str:
    """The principle cards of the turn: the first (the one the main note cites) in full."""
    if not cards:
        return '<p class="empty">No principle card for this line.</p>'
    out = []
    for n, ref in enumerate(cards):
        card = index.get(ref.id)
        source = escape(card_source(card)) if card else ""
        cls = "card cited" if n == 0 else "card related"
        summary = f"<p>{escape(ref.summary)}</p>" if n == 0 else ""
        out.append(
            f'<article class="{cls}"><header><h3>{escape(ref.title)}</h3></header>{summary}'
            f"<footer>{escape(ref.reason)} \u00b7 source: {source} \u00b7 <code>{escape(ref.id)}</code></footer>"
            "</article>"
        )
    return '<div class="cards">' + "".join(out) + "</div>"


def _bar(label: str, value: int, delta: int | None, kind: str) -> str:
    change = ""
    if delta:
        change = f' <span class="delta {"up" if delta > 0 else "down"}">{delta:+d}</span>'
    return (
        f'<div class="meter {kind}"><span class="meter-label">{label}</span>'
        f'<div class="meter-track" role="meter" aria-label="{label}" aria-valuemin="0" aria-valuemax="100" '
        f'aria-valuenow="{value}"><div class="meter-fill" style="width:{max(0, min(100, value))}%"></div></div>'
        f'<span class="meter-value">{value}{change}</span></div>'
    )


def meter_html(state: EmployeeState, before: EmployeeState | None = None) -> str:
    """Trust and stress now, with the change the last turn made."""
    dt = state.trust - before.trust if before else None
    ds = state.stress - before.stress if before else None
    bars = _bar("Trust", state.trust, dt, "trust") + _bar("Stress", state.stress, ds, "stress")
    return f'<div class="meters">{bars}</div>'


#: Colours of the two state lines (the meter uses the same).
STATE_COLOURS = {"trust": "#12a594", "stress": "#f76b15"}


def state_history(turns: Sequence[TurnRecord], initial: EmployeeState) -> dict:
    """Trust and stress at the start and after each of the manager's lines, long format, as the
    plot data a ``gr.LinePlot`` takes as is (columns ``line``, ``measure``, ``value``).

    ``line`` is a label ("start", "1", "2"...): a category axis shows whole lines, never 0.5.
    Built as plain lists, not a pandas DataFrame: the chart is redrawn after every line, and
    building and serialising a DataFrame was about 6% of the coach panel's time under load.
    """
    rows = [["start", "trust", initial.trust], ["start", "stress", initial.stress]]
    line = 0
    for t in turns:
        if t.role == "manager" and t.state is not None:
            line += 1
            rows += [[str(line), "trust", t.state.trust], [str(line), "stress", t.state.stress]]
    return {"columns": ["line", "measure", "value"], "data": rows,
            "datatypes": {"line": "nominal", "measure": "nominal", "value": "quantitative"}, "mark": "line"}


#: The x categories of the line charts in order ("start", "1", "2"...). Given once to each LinePlot
#: (``sort=``): only the categories present are drawn, and a constant order never lags behind the data.
X_ORDER = ["start", *(str(n) for n in range(1, 500))]


def rewind_choices(turns: Sequence[TurnRecord]) -> list[tuple[str, int]]:
    """(label, n) for each of the manager's lines, n being what ``Rehearsal.rewind`` takes."""
    out = []
    for n, t in enumerate((t for t in turns if t.role == "manager"), 1):
        text = " ".join(t.text.split())
        short = text if len(text) <= 60 else text[:59] + ELLIPSIS
        out.append((f"{n}. {short}", n))
    return out


# --- debrief --------------------------------------------------------------------------------------


def scorecard_frame(d: Debrief, index: Mapping[str, PrincipleCard]) -> pd.DataFrame:
    """The scorecard as a table: principle, score, good and bad evidence counts, first quote."""
    rows = []
    for s in d.scorecard:
        card = index.get(s.principle)
        first = s.evidence[0] if s.evidence else None
        rows.append({
            "Principle": card.title if card else s.principle,
            "Score": s.score,
            "Good": s.good,
            "Bad": s.bad,
            "Evidence": f"\u201c{first.quote}\u201d ({first.polarity})" if first else "",
        })
    return pd.DataFrame(rows, columns=["Principle", "Score", "Good", "Bad", "Evidence"])


def _ratio(value: float | None, fmt: str = "{}") -> str:
    return "n/a" if value is None else fmt.format(value)


def debrief_html(d: Debrief, index: Mapping[str, PrincipleCard]) -> str:
    """Overall score, ratios, biggest swings, things to try next and the success criteria."""
    title = lambda pid: escape(index[pid].title) if pid in index else escape(pid)  # noqa: E731
    overall = f"{d.overall}/100" if d.overall is not None else "no principle exercised yet"
    r = d.ratios
    parts = [
        f'<div class="overall"><span class="big">{escape(overall)}</span> overall \u00b7 final trust '
        f"{d.final_state.trust}, stress {d.final_state.stress}</div>",
        '<h3>Ratios</h3><ul class="ratios">'
        f"<li>Reflections : questions = {r.reflections} : {r.questions} ({_ratio(r.reflection_to_question)})</li>"
        f"<li>Open questions: {r.open_questions} of {r.questions} ({_ratio(r.open_question_share, '{:.0%}')})</li>"
        f"<li>Advice with permission: {r.advice_with_permission}; without: {r.advice_without_permission}</li>"
        f"<li>Directives: {r.directives}</li>"
        f"<li>Your share of the talking: {_ratio(r.manager_talk_share, '{:.0f}%')}</li></ul>",
    ]
    for heading, swings in (("Biggest trust gains", d.positive_swings), ("Biggest trust losses", d.negative_swings)):
        if swings:
            items = "".join(
                f"<li>trust {s.trust_delta:+d}, stress {s.stress_delta:+d}: {_quote(s.quote)}"
                + ("".join(f'<div class="cause">{escape(c)}</div>' for c in s.causes)) + "</li>"
                for s in swings
            )
            parts.append(f"<h3>{heading}</h3><ul>{items}</ul>")
    tips = "".join(
        f'<li><b>{title(t.principle)}</b>: {escape(t.text)} <span class="because">({escape(t.because)})</span></li>'
        for t in d.next_steps
    )
    parts.append(f'<h3>Try next time</h3><ol class="next-steps">{tips}</ol>')
    criteria = "".join(
        f'<li class="{"met" if c.met else "unmet"}">{CHECK if c.met else CROSS} {escape(c.description)} '
        f"(actual {c.actual:g})</li>"
        for c in d.criteria
    )
    parts.append(f'<h3>Success criteria</h3><ul class="criteria">{criteria}</ul>')
    if d.unexercised:
        parts.append(f'<p class="empty">Not exercised: {", ".join(title(p) for p in d.unexercised)}</p>')
    return '<div class="debrief">' + "".join(parts) + "</div>"
