"""The end-of-session debrief: pure functions over the stored turns (no model, no I/O).

- a scorecard per exercised principle (0-100) with the manager's words as evidence,
- MI-style ratios (reflections : questions, open-question share, advice with vs without
  permission, directives, manager talk share),
- the biggest trust swings and the turns that caused them,
- three concrete things to try next time, each linked to its principle card,
- the scenario's success criteria, checked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from coach.analyzer.model import Finding
from coach.rehearsal.coaching import fixed_sentence
from coach.rehearsal.models import EmployeeState, Scenario, TurnRecord

#: How much a bad finding weighs against a good one, by level (an error costs more than a hint).
BAD_WEIGHT = {"suggestion": 0.5, "warning": 1.0, "error": 1.5}
TOP_SWINGS = 3
NEXT_STEPS = 3
QUOTE_CHARS = 200


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


@dataclass(frozen=True)
class Evidence:
    """A quoted span of a manager turn that followed (good) or broke (bad) a principle."""

    turn: int        # stored turn index
    quote: str
    polarity: str    # good / bad
    kind: str        # finding kind or sequence id
    message: str


@dataclass(frozen=True)
class PrincipleScore:
    """Score 0-100 of one principle: (good + 0.5) / (good + weighted bad + 1), so more evidence moves it further."""

    principle: str
    score: int
    good: int
    bad: int
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Ratios:
    """MI-style counts and ratios over the manager's turns (None where the denominator is 0)."""

    reflections: int
    questions: int
    open_questions: int
    reflection_to_question: float | None
    open_question_share: float | None
    advice_with_permission: int
    advice_without_permission: int
    directives: int
    manager_talk_share: float | None  # percent of all words spoken by the manager


@dataclass(frozen=True)
class Swing:
    """A manager turn that moved trust a lot, with the changes that did it."""

    turn: int
    trust_delta: int
    stress_delta: int
    quote: str
    causes: tuple[str, ...]


@dataclass(frozen=True)
class Tip:
    """Something concrete to try next time, linked to its principle card."""

    principle: str
    text: str
    because: str


@dataclass(frozen=True)
class CriterionResult:
    """One success criterion of the scenario, checked against the session's metrics."""

    description: str
    metric: str
    actual: float
    met: bool


@dataclass(frozen=True)
class Debrief:
    """Everything shown at the end of a session."""

    scenario_id: str
    scorecard: tuple[PrincipleScore, ...]
    unexercised: tuple[str, ...]       # scenario principles with no evidence either way
    ratios: Ratios
    positive_swings: tuple[Swing, ...]
    negative_swings: tuple[Swing, ...]
    next_steps: tuple[Tip, ...]
    criteria: tuple[CriterionResult, ...]
    metrics: dict[str, float]
    overall: int | None                # mean of the scorecard, None when nothing was exercised
    final_state: EmployeeState

    def score_map(self) -> dict[str, int]:
        """principle -> score, for :meth:`coach.store.Store.end_session`."""
        return {s.principle: s.score for s in self.scorecard}

    def evidence_counts(self) -> dict[str, int]:
        """principle -> number of evidence items."""
        return {s.principle: len(s.evidence) for s in self.scorecard}

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


def _manager_turns(turns: Sequence[TurnRecord]) -> list[TurnRecord]:
    return [t for t in turns if t.role == "manager"]


def _findings(turn: TurnRecord) -> list[Finding]:
    return list(turn.analysis.findings) if turn.analysis else []


def _advice_counts(turns: Sequence[TurnRecord]) -> tuple[int, int]:
    """(with permission, without permission) over manager turns that gave advice.

    Without: an advice-unasked finding or the analyzer's advice-without-permission behaviour.
    With: otherwise, the advice-with-permission behaviour, or a first-person story once
    permission has been asked (the story is the recommended way to advise).
    """
    with_p = without_p = 0
    asked = False
    for turn in _manager_turns(turns):
        kinds = {f.kind for f in _findings(turn)}
        behaviour = turn.analysis.behaviour if turn.analysis else "other"
        asked = asked or "permission" in kinds or bool(turn.analysis and turn.analysis.permission_asked)
        if "advice-unasked" in kinds or behaviour == "advice-without-permission":
            without_p += 1
        elif behaviour == "advice-with-permission" or (asked and "story" in kinds):
            with_p += 1
    return with_p, without_p


def _words(text: str) -> int:
    return len(text.split())


def final_state(turns: Sequence[TurnRecord], initial: EmployeeState) -> EmployeeState:
    """State after the last manager turn that has one, else the initial state."""
    for turn in reversed(turns):
        if turn.state is not None:
            return turn.state
    return initial


def session_metrics(turns: Sequence[TurnRecord], initial: EmployeeState) -> dict[str, float]:
    """Every metric a success criterion may name (see ``METRICS`` in models)."""
    counts: dict[str, int] = {}
    for turn in _manager_turns(turns):
        for f in _findings(turn):
            counts[f.kind] = counts.get(f.kind, 0) + 1
    c = counts.get
    reflections = c("reflection-simple", 0) + c("reflection-complex", 0) + c("summary", 0)
    questions = c("question-open", 0) + c("question-closed", 0)
    with_p, without_p = _advice_counts(turns)
    manager_words = sum(_words(t.text) for t in turns if t.role == "manager")
    all_words = sum(_words(t.text) for t in turns)
    end = final_state(turns, initial)
    return {
        "reflections": reflections,
        "open_questions": c("question-open", 0),
        "closed_questions": c("question-closed", 0),
        "questions": questions,
        "summaries": c("summary", 0),
        "permission_asks": c("permission", 0),
        "stories": c("story", 0),
        "reassurances": c("reassurance", 0),
        "action_plans": c("action-plan", 0),
        "directives": c("directive", 0),
        "judgmental": c("judgmental", 0),
        "advice_without_permission": without_p,
        "advice_with_permission": with_p,
        "facts_unlocked": len([f for f in end.unlocked if f not in initial.unlocked]),
        "final_trust": end.trust,
        "final_stress": end.stress,
        "manager_talk_share": round(100.0 * manager_words / all_words, 1) if all_words else 0.0,
        "reflection_to_question": round(reflections / questions, 2) if questions else 0.0,
    }


def ratios(turns: Sequence[TurnRecord], initial: EmployeeState) -> Ratios:
    """MI-style ratios of the session."""
    m = session_metrics(turns, initial)
    q = int(m["questions"])
    return Ratios(
        reflections=int(m["reflections"]),
        questions=q,
        open_questions=int(m["open_questions"]),
        reflection_to_question=round(m["reflections"] / q, 2) if q else None,
        open_question_share=round(m["open_questions"] / q, 2) if q else None,
        advice_with_permission=int(m["advice_with_permission"]),
        advice_without_permission=int(m["advice_without_permission"]),
        directives=int(m["directives"]),
        manager_talk_share=m["manager_talk_share"] if any(t.text.split() for t in turns) else None,
    )


def scorecard(turns: Sequence[TurnRecord]) -> list[PrincipleScore]:
    """A score per principle that has evidence, best-evidenced first."""
    good: dict[str, list[Evidence]] = {}
    bad: dict[str, list[tuple[Evidence, float]]] = {}
    for turn in _manager_turns(turns):
        for f in _findings(turn):
            ev = Evidence(turn=turn.index, quote=_short(f.text), polarity=f.polarity, kind=f.kind, message=f.message)
            if f.polarity == "good":
                good.setdefault(f.principle, []).append(ev)
            elif f.polarity == "bad":
                bad.setdefault(f.principle, []).append((ev, BAD_WEIGHT.get(f.level, 1.0)))
        for ch in turn.changes:  # a paid-out sequence (asked, then told a story) is evidence too
            if ch.kind == "sequence" and ch.trust > 0:
                good.setdefault(ch.principle, []).append(
                    Evidence(turn=turn.index, quote=_short(ch.quote), polarity="good", kind=ch.source, message=ch.explanation))
    out = []
    for principle in set(good) | set(bad):
        g = good.get(principle, [])
        b = bad.get(principle, [])
        weight = sum(w for _, w in b)
        score = round(100 * (len(g) + 0.5) / (len(g) + weight + 1))
        evidence = tuple(sorted([*g, *(e for e, _ in b)], key=lambda e: (e.turn, e.polarity)))
        out.append(PrincipleScore(principle=principle, score=score, good=len(g), bad=len(b), evidence=evidence))
    out.sort(key=lambda s: (-len(s.evidence), s.principle))
    return out


def swings(turns: Sequence[TurnRecord], initial: EmployeeState) -> tuple[list[Swing], list[Swing]]:
    """The biggest positive and negative trust moves (up to three each) with their causes."""
    moves: list[Swing] = []
    before = initial
    for turn in turns:
        if turn.role != "manager" or turn.state is None:
            continue
        dt, ds = turn.state.trust - before.trust, turn.state.stress - before.stress
        sign = 1 if dt > 0 else -1
        causes = tuple(c.note() for c in turn.changes if c.trust * sign > 0)
        moves.append(Swing(turn=turn.index, trust_delta=dt, stress_delta=ds, quote=_short(turn.text), causes=causes))
        before = turn.state
    positive = sorted((m for m in moves if m.trust_delta > 0), key=lambda m: (-m.trust_delta, m.turn))
    negative = sorted((m for m in moves if m.trust_delta < 0), key=lambda m: (m.trust_delta, m.turn))
    return positive[:TOP_SWINGS], negative[:TOP_SWINGS]


def next_steps(scenario: Scenario, turns: Sequence[TurnRecord], cards: Sequence[PrincipleScore]) -> list[Tip]:
    """Three things to try next time: first what went wrong (worst first), then scenario principles
    never used, then the lowest scores. Each tip quotes the manager where it can."""
    tips: list[Tip] = []
    used: set[str] = set()

    def add(tip: Tip) -> None:
        if tip.principle not in used and len(tips) < NEXT_STEPS:
            used.add(tip.principle)
            tips.append(tip)

    worst: dict[str, tuple[float, int, Finding, TurnRecord]] = {}
    for turn in _manager_turns(turns):
        for f in _findings(turn):
            if f.polarity != "bad":
                continue
            weight, first_turn, first, where = worst.get(f.principle, (0.0, turn.index, f, turn))
            worst[f.principle] = (weight + BAD_WEIGHT.get(f.level, 1.0), first_turn, first, where)
    for principle, (_, _, f, where) in sorted(worst.items(), key=lambda kv: (-kv[1][0], kv[1][1], kv[0])):
        quote = _short(f.text, 120)
        if f.fix:
            # The whole sentence with its fixes applied reads as something to say, not a fragment.
            fixed = fixed_sentence(where.text, f, _findings(where))
            before, after = fixed if fixed else (quote, f.fix)
            text = f"Instead of \u201c{_short(before, 120)}\u201d, try \u201c{_short(after, 240)}\u201d"
        else:
            text = scenario.tips.get(principle) or f.message
        add(Tip(principle=principle, text=text, because=f"you said \u201c{quote}\u201d: {f.message}"))
    scored = {s.principle: s for s in cards}
    for principle in scenario.principles:
        if principle not in scored:
            add(Tip(principle=principle, text=scenario.tips[principle],
                    because=f"this scenario exercises {principle} and you did not use it"))
    for s in sorted(cards, key=lambda s: (s.score, s.principle)):
        text = scenario.tips.get(s.principle) or (s.evidence[0].message if s.evidence else "")
        if text:
            add(Tip(principle=s.principle, text=text, because=f"it scored {s.score}, one of your lowest"))
    for principle in scenario.principles:  # everything went well: deepen the scenario's own principles
        add(Tip(principle=principle, text=scenario.tips[principle], because=f"to go further with {principle}"))
    return tips


def check_criteria(scenario: Scenario, metrics: dict[str, float]) -> list[CriterionResult]:
    """Each success criterion with the measured value and whether it was met."""
    results = []
    for c in scenario.success_criteria:
        actual = float(metrics[c.metric])
        met = (c.min is None or actual >= c.min) and (c.max is None or actual <= c.max)
        results.append(CriterionResult(description=c.describe(), metric=c.metric, actual=actual, met=met))
    return results


def debrief(scenario: Scenario, turns: Sequence[TurnRecord], initial: EmployeeState) -> Debrief:
    """The whole debrief of a session (``turns`` as returned by ``Store.turns``)."""
    cards = scorecard(turns)
    metrics = session_metrics(turns, initial)
    positive, negative = swings(turns, initial)
    exercised = {s.principle for s in cards}
    return Debrief(
        scenario_id=scenario.id,
        scorecard=tuple(cards),
        unexercised=tuple(p for p in scenario.principles if p not in exercised),
        ratios=ratios(turns, initial),
        positive_swings=tuple(positive),
        negative_swings=tuple(negative),
        next_steps=tuple(next_steps(scenario, turns, cards)),
        criteria=tuple(check_criteria(scenario, metrics)),
        metrics=metrics,
        overall=round(sum(s.score for s in cards) / len(cards)) if cards else None,
        final_state=final_state(turns, initial),
    )
