"""The employee's trust and stress, updated in code from the analyzer's findings.

The rule table is data (``knowledge/state_rules.yaml``); this module loads it and applies it.
:func:`update_state` is pure and deterministic: the same state, analysis and scenario always give
the same new state and the same explained changes, so even a weak chat model gets a consistent
persona ("trust +8, stress -4: you reflected what she meant").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from coach.analyzer.model import KINDS, Analysis, Finding
from coach.config import get_settings
from coach.errors import UsageError
from coach.rehearsal.models import EmployeeState, HiddenFact, Scenario, StateChange


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cap(_Strict):
    """Most one turn may raise (up) or lower (down) a value."""

    up: int = Field(ge=0, le=100)
    down: int = Field(ge=0, le=100)


class Caps(_Strict):
    trust: Cap
    stress: Cap


class Listening(_Strict):
    kinds: tuple[str, ...]
    max_per_turn: int = Field(ge=1, le=10)


class KindRule(_Strict):
    """Deltas for one finding kind."""

    trust: int = Field(ge=-30, le=30)
    stress: int = Field(ge=-30, le=30)
    max_count: int = Field(ge=1, le=10)
    explain: str = Field(min_length=1)


class Sequence(_Strict):
    """A bonus (or penalty) when ``then`` follows one of ``first``."""

    id: str
    first: tuple[str, ...] = Field(min_length=1)
    then: str
    scope: Literal["turn", "conversation"]
    once: bool = False
    trust: int = Field(ge=-30, le=30)
    stress: int = Field(ge=-30, le=30)
    principle: str
    explain: str = Field(min_length=1)


class When(_Strict):
    stress_at_least: int | None = Field(default=None, ge=0, le=100)
    trust_below: int | None = Field(default=None, ge=0, le=101)

    def holds(self, state: EmployeeState) -> bool:
        """True when every given condition holds for the state before the turn."""
        if self.stress_at_least is not None and state.stress < self.stress_at_least:
            return False
        if self.trust_below is not None and state.trust >= self.trust_below:
            return False
        return True


class Modifier(_Strict):
    """Scales some kinds' deltas when the state before the turn matches ``when``."""

    id: str
    when: When
    kinds: tuple[str, ...] = Field(min_length=1)
    factor: float = Field(gt=0, le=5)
    explain: str = Field(min_length=1)


class UnlockRule(_Strict):
    listening_principle: str
    trust_principle: str
    explain: str


class StateRules(_Strict):
    """The whole rule table (``knowledge/state_rules.yaml``)."""

    version: int
    caps: Caps
    listening: Listening
    kinds: dict[str, KindRule]
    sequences: tuple[Sequence, ...] = ()
    modifiers: tuple[Modifier, ...] = ()
    unlock: UnlockRule

    @model_validator(mode="after")
    def _known_kinds(self) -> StateRules:
        # Every analyzer kind needs a row so a new kind cannot silently do nothing, and a typo'd
        # kind name is an error rather than a dead rule.
        missing = [k for k in KINDS if k not in self.kinds]
        if missing:
            raise ValueError(f"kinds: missing rows for {', '.join(missing)}")
        used = [*self.kinds, *self.listening.kinds]
        for seq in self.sequences:
            used += [*seq.first, seq.then]
        for mod in self.modifiers:
            used += list(mod.kinds)
        unknown = sorted({k for k in used if k not in KINDS})
        if unknown:
            raise ValueError(f"unknown finding kinds {', '.join(unknown)}; valid: {', '.join(KINDS)}")
        return self


def load_state_rules(path: Path) -> StateRules:
    """Read and validate a rule table; errors name the file and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"state rules {path}: cannot read: {exc}") from exc
    try:
        return StateRules.model_validate(data)
    except ValidationError as exc:
        lines = [f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()]
        raise UsageError(f"state rules {path}: " + "; ".join(lines)) from None


@lru_cache(maxsize=4)
def _cached_rules(path: str) -> StateRules:
    return load_state_rules(Path(path))


def default_rules() -> StateRules:
    """The rule table under the configured knowledge directory (read once per path)."""
    return _cached_rules(str(get_settings().knowledge_dir / "state_rules.yaml"))


# --- applying the rules ----------------------------------------------------------------------


def _scale(delta: int, factor: float) -> int:
    """Round half away from zero so a penalty and the same bonus scale symmetrically."""
    magnitude = int(abs(delta) * factor + 0.5)
    return magnitude if delta >= 0 else -magnitude


def _fmt(template: str, words: dict[str, str]) -> str:
    try:
        return template.format(**words)
    except (KeyError, IndexError, ValueError):
        return template  # a template with unknown braces is shown as written, never crashes a turn


@dataclass
class _Budget:
    """Running values with per-turn caps and the 0-100 range."""

    trust: int
    stress: int
    caps: Caps
    used: dict[str, int]

    def take(self, name: str, delta: int) -> int:
        """Apply as much of ``delta`` as caps and range allow; return the applied part."""
        cap: Cap = getattr(self.caps, name)
        if delta > 0:
            delta = min(delta, cap.up - self.used[name + "+"])
        elif delta < 0:
            delta = max(delta, -(cap.down - self.used[name + "-"]))
        old = getattr(self, name)
        new = min(100, max(0, old + delta))
        applied = new - old
        setattr(self, name, new)
        self.used[name + ("+" if applied > 0 else "-")] += abs(applied)
        return applied


def _change(budget: _Budget, *, kind: str, source: str, trust: int, stress: int, principle: str,
            quote: str, reason: str) -> StateChange:
    applied_t = budget.take("trust", trust)
    applied_s = budget.take("stress", stress)
    parts, capped = [], False
    for name, raw, applied in (("trust", trust, applied_t), ("stress", stress, applied_s)):
        if raw:
            cut = applied != raw
            capped |= cut
            parts.append(f"{name} {applied:+d}" + (" (capped)" if cut else ""))
    return StateChange(kind=kind, source=source, trust=applied_t, stress=applied_s, principle=principle,
                       quote=quote, explanation=f"{', '.join(parts)}: {reason}", capped=capped)


def effective_kind_rules(rules: StateRules, scenario: Scenario) -> dict[str, KindRule]:
    """The rule table's kind rows with the scenario's overrides applied."""
    merged = dict(rules.kinds)
    for kind, over in scenario.rule_overrides.items():
        base = merged[kind]
        merged[kind] = base.model_copy(update={
            k: v for k, v in (("trust", over.trust), ("stress", over.stress), ("explain", over.explain)) if v is not None
        })
    return merged


def _unique(findings: list[Finding]) -> list[Finding]:
    """Findings in text order, without exact duplicates (same kind on the same span)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for f in sorted(findings, key=lambda f: (f.offset, f.length, f.kind)):
        key = (f.kind, f.offset, f.length)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _strongest_per_span(findings: list[Finding], kind_rules: dict[str, KindRule]) -> set[int]:
    """ids of the findings that move the state: one per identical span, the strongest.

    The analyzer may tag the same words twice (``You should`` is a directive and, before any
    permission, unasked advice). One utterance is one behaviour, as in MI coding, so it is
    weighed once; the other kinds still count for sequences and for what the manager has used.
    """
    best: dict[tuple[int, int], Finding] = {}
    for f in findings:
        rule = kind_rules.get(f.kind)
        if rule is None:
            continue
        key = (f.offset, f.length)
        current = best.get(key)
        weight = abs(rule.trust) + abs(rule.stress)
        if current is None or weight > abs(kind_rules[current.kind].trust) + abs(kind_rules[current.kind].stress):
            best[key] = f
    return {id(f) for f in best.values()}


def _unlock_ready(fact: HiddenFact, listening: int, trust: int) -> bool:
    cond = fact.unlock
    return (cond.listening_moves is None or listening >= cond.listening_moves) and (
        cond.trust is None or trust >= cond.trust
    )


def initial_state(scenario: Scenario) -> EmployeeState:
    """The state before the first turn; facts with no real condition are open from the start."""
    start = scenario.initial_state
    unlocked = tuple(f.id for f in scenario.hidden_facts if _unlock_ready(f, 0, start.trust))
    return EmployeeState(trust=start.trust, stress=start.stress, unlocked=unlocked)


def update_state(state: EmployeeState, analysis: Analysis, scenario: Scenario,
                 rules: StateRules | None = None) -> tuple[EmployeeState, list[StateChange]]:
    """Apply one manager turn's findings: new state plus every change explained, in text order.

    Each finding kind moves trust and stress per the rule table (scenario overrides first),
    scaled by modifiers that match the state *before* the turn, limited per turn by caps and kept
    within 0-100. Sequences (permission asked, then a story) add a bonus after the finding that
    completes them. Listening moves then open hidden facts whose conditions now hold. Findings
    on the identical span are weighed once (the strongest kind).
    """
    rules = rules or default_rules()
    words = scenario.persona.words()
    kind_rules = effective_kind_rules(rules, scenario)
    budget = _Budget(state.trust, state.stress, rules.caps, {"trust+": 0, "trust-": 0, "stress+": 0, "stress-": 0})
    modifiers = [m for m in rules.modifiers if m.when.holds(state)]
    changes: list[StateChange] = []
    counts: dict[str, int] = {}
    earlier: list[Finding] = []
    paid: set[str] = set()
    listening = 0

    findings = _unique(analysis.findings)
    weighed = _strongest_per_span(findings, kind_rules)
    for f in findings:
        rule = kind_rules.get(f.kind)
        if rule is None:  # a kind this rule table does not know (newer analyzer): no effect
            continue
        if id(f) in weighed:
            counts[f.kind] = counts.get(f.kind, 0) + 1
        if id(f) in weighed and counts[f.kind] <= rule.max_count:
            if f.kind in rules.listening.kinds and listening < rules.listening.max_per_turn:
                listening += 1
            trust, stress, reasons = rule.trust, rule.stress, [_fmt(rule.explain, words)]
            for mod in modifiers:
                if f.kind in mod.kinds:
                    trust, stress = _scale(trust, mod.factor), _scale(stress, mod.factor)
                    reasons.append(_fmt(mod.explain, words))
            if trust or stress:
                changes.append(_change(budget, kind="rule", source=f.kind, trust=trust, stress=stress,
                                       principle=f.principle, quote=f.text.strip(), reason="; ".join(reasons)))
        for seq in rules.sequences:
            if seq.then != f.kind or seq.id in paid or (seq.once and seq.id in state.fired):
                continue
            before_now = any(e.kind in seq.first and e.offset < f.offset for e in earlier)
            before_then = seq.scope == "conversation" and any(k in state.kinds_seen for k in seq.first)
            if before_now or before_then:
                paid.add(seq.id)
                changes.append(_change(budget, kind="sequence", source=seq.id, trust=seq.trust, stress=seq.stress,
                                       principle=seq.principle, quote=f.text.strip(), reason=_fmt(seq.explain, words)))
        earlier.append(f)

    moves = state.listening_moves + listening
    unlocked = list(state.unlocked)
    for fact in scenario.hidden_facts:
        if fact.id in unlocked or not _unlock_ready(fact, moves, budget.trust):
            continue
        unlocked.append(fact.id)
        principle = (rules.unlock.listening_principle if fact.unlock.listening_moves is not None
                     else rules.unlock.trust_principle)
        reason = _fmt(rules.unlock.explain, {**words, "count": str(len(unlocked)),
                                             "total": str(len(scenario.hidden_facts))})
        changes.append(StateChange(kind="unlock", source=fact.id, trust=0, stress=0, principle=principle,
                                   quote="", explanation=reason))

    new_state = replace(
        state,
        trust=budget.trust,
        stress=budget.stress,
        listening_moves=moves,
        unlocked=tuple(unlocked),
        kinds_seen=tuple(sorted(set(state.kinds_seen) | {f.kind for f in analysis.findings})),
        fired=tuple(sorted(set(state.fired) | {s.id for s in rules.sequences if s.once and s.id in paid})),
        turn=state.turn + 1,
    )
    return new_state, changes


def revealable_facts(state: EmployeeState, scenario: Scenario) -> list[HiddenFact]:
    """Hidden facts the persona may now reveal (for the persona prompt), in unlock order."""
    return [scenario.fact(fid) for fid in state.unlocked]


def newly_unlocked(before: EmployeeState, after: EmployeeState, scenario: Scenario) -> list[HiddenFact]:
    """Facts opened by the turn between ``before`` and ``after``."""
    return [scenario.fact(fid) for fid in after.unlocked if fid not in before.unlocked]
