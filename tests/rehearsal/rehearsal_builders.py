"""Hand-built analyzer output for rehearsal tests (the real analyzer is tested on its own)."""

from __future__ import annotations

from coach.analyzer.model import Analysis, Finding
from coach.rehearsal.models import EmployeeState, StateChange, TurnRecord

BAD_KINDS = {"directive", "advice-unasked", "judgmental"}
NEUTRAL_KINDS = {"question-closed"}
PRINCIPLE_OF = {
    "directive": "first-person-story",
    "advice-unasked": "ask-permission",
    "permission": "ask-permission",
    "story": "first-person-story",
    "question-open": "dramatic-listening",
    "question-closed": "dramatic-listening",
    "reflection-simple": "dramatic-listening",
    "reflection-complex": "dramatic-listening",
    "summary": "listen-intently",
    "reassurance": "reassurance-and-confidence",
    "action-plan": "action-plan",
    "judgmental": "level-the-learning-field",
    "humility": "confident-humility",
    "effort": "celebrate-effort",
    "purpose": "anchor-to-purpose",
    "handback": "expertise-last",
}


def finding(kind: str, text: str, offset: int = 0, *, level: str | None = None, fix: str | None = None,
            principle: str | None = None) -> Finding:
    """A finding of ``kind`` over ``text`` at ``offset``."""
    polarity = "bad" if kind in BAD_KINDS else "neutral" if kind in NEUTRAL_KINDS else "good"
    return Finding(
        rule=f"test-{kind}", principle=principle or PRINCIPLE_OF[kind],
        level=level or ("warning" if polarity == "bad" else "suggestion"), kind=kind, polarity=polarity,
        message=f"{kind} message", line=1, column=offset + 1, offset=offset, length=len(text), text=text, fix=fix,
    )


def analysis(text: str, *spans: tuple[str, str], behaviour: str = "other", permission_asked: bool = False,
             fixes: dict[str, str] | None = None, levels: dict[str, str] | None = None) -> Analysis:
    """An Analysis of ``text`` with one finding per (kind, quoted part); offsets are found in the text."""
    found = []
    for kind, part in spans:
        offset = text.index(part)
        found.append(finding(kind, part, offset, fix=(fixes or {}).get(part), level=(levels or {}).get(part)))
    return Analysis(text=text, findings=found, behaviour=behaviour,
                    permission_asked=permission_asked or any(k == "permission" for k, _ in spans))


def turn(index: int, role: str, text: str, *, analysis: Analysis | None = None, state: EmployeeState | None = None,
         changes: tuple[StateChange, ...] = (), session_id: str = "s1") -> TurnRecord:
    """A stored-turn record."""
    return TurnRecord(session_id=session_id, index=index, role=role, text=text, created_at="2026-01-01T00:00:00.000+00:00",
                      analysis=analysis, state=state, changes=changes)
