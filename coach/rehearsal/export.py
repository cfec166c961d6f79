"""Export a stored session as Markdown (to read or share) or JSON (to process). Pure functions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coach.rehearsal.debrief import Debrief
from coach.rehearsal.models import Scenario, SessionInfo, TurnRecord

EXPORT_FORMAT = 1


def session_json(session: SessionInfo, turns: Sequence[TurnRecord], debrief: Debrief | None = None,
                 scenario: Scenario | None = None) -> dict[str, Any]:
    """The whole session as one JSON-ready object."""
    return {
        "format": EXPORT_FORMAT,
        "session": session.to_dict(),
        "scenario": {"id": scenario.id, "title": scenario.title} if scenario else {"id": session.scenario_id},
        "turns": [t.to_dict() for t in turns],
        "debrief": debrief.to_dict() if debrief else None,
    }


def _quote_block(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines() or [""])


def _debrief_md(d: Debrief) -> list[str]:
    out = ["## Debrief", ""]
    if d.overall is not None:
        out += [f"Overall: **{d.overall}/100**. Final trust {d.final_state.trust}, stress {d.final_state.stress}.", ""]
    out += ["### Scorecard", "", "| Principle | Score | Good | Bad |", "|---|---:|---:|---:|"]
    out += [f"| {s.principle} | {s.score} | {s.good} | {s.bad} |" for s in d.scorecard]
    for s in d.scorecard:
        out += ["", f"**{s.principle}**"]
        out += [f"- turn {e.turn} ({e.polarity}): \u201c{e.quote}\u201d: {e.message}" for e in s.evidence]
    if d.unexercised:
        out += ["", "Not exercised: " + ", ".join(d.unexercised)]
    r = d.ratios
    out += ["", "### Ratios", "",
            f"- reflections : questions = {r.reflections} : {r.questions}"
            + (f" ({r.reflection_to_question})" if r.reflection_to_question is not None else ""),
            f"- open questions: {r.open_questions} of {r.questions}"
            + (f" ({r.open_question_share:.0%})" if r.open_question_share is not None else ""),
            f"- advice with permission: {r.advice_with_permission}; without: {r.advice_without_permission}",
            f"- directives: {r.directives}",
            f"- manager talk share: {r.manager_talk_share}%" if r.manager_talk_share is not None else "- manager talk share: n/a"]
    for title, items in (("Biggest trust gains", d.positive_swings), ("Biggest trust losses", d.negative_swings)):
        if items:
            out += ["", f"### {title}", ""]
            for s in items:
                out.append(f"- turn {s.turn}: trust {s.trust_delta:+d}, stress {s.stress_delta:+d}: \u201c{s.quote}\u201d")
                out += [f"  - {c}" for c in s.causes]
    out += ["", "### Try next time", ""]
    out += [f"{i}. **{t.principle}**: {t.text} ({t.because})" for i, t in enumerate(d.next_steps, 1)]
    out += ["", "### Success criteria", ""]
    out += [f"- [{'x' if c.met else ' '}] {c.description} (actual {c.actual:g})" for c in d.criteria]
    return out


def debrief_markdown(d: Debrief) -> str:
    """The debrief alone as Markdown (what ``coach practice`` prints on /end)."""
    return "\n".join(_debrief_md(d)).rstrip() + "\n"


def session_markdown(session: SessionInfo, turns: Sequence[TurnRecord], debrief: Debrief | None = None,
                     scenario: Scenario | None = None) -> str:
    """A readable transcript with coaching notes, and the debrief when given."""
    name = scenario.persona.name if scenario else "Employee"
    title = scenario.title if scenario else session.scenario_id
    out = [f"# Rehearsal: {title}", "",
           f"- session: `{session.id}`", f"- scenario: `{session.scenario_id}`", f"- started: {session.started_at}"]
    if session.ended_at:
        out.append(f"- ended: {session.ended_at}")
    if session.parent_session_id:
        out.append(f"- branched from `{session.parent_session_id}` at turn {session.fork_index}")
    out += ["", "## Conversation", ""]
    for t in turns:
        who = "Manager" if t.role == "manager" else name
        out += [f"**{t.index}. {who}**", "", _quote_block(t.text), ""]
        if t.analysis and t.analysis.findings:
            out += [f"- {f.kind} ({f.polarity}, {f.principle}): \u201c{f.text}\u201d" for f in t.analysis.findings]
        out += [f"- {c.note()}" for c in t.changes]
        if t.state is not None:
            out.append(f"- state: trust {t.state.trust}, stress {t.state.stress}")
        if t.role == "manager" and (t.state is not None or (t.analysis and t.analysis.findings)):
            out.append("")
    if debrief:
        out += _debrief_md(debrief)
    return "\n".join(out).rstrip() + "\n"
