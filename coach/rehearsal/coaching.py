"""Per-turn coaching: what the manager's words did, the principle behind it, one line to try instead.

No model is called: the notes come from the analyzer's findings and the state changes (both quote
the manager's words), the cards from the card index (by id, for cited principles) and the knowledge
search (for what just happened), and the "try instead" line from the analyzer's fix, the scenario's
tip or a template per finding kind (``knowledge/coaching.yaml``). Everything but the search is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from coach.analyzer.fixes import apply_fixes
from coach.analyzer.model import KINDS, Analysis, Finding
from coach.analyzer.text import split_sentences
from coach.cards import PrincipleCard
from coach.config import get_settings
from coach.errors import CoachError, UsageError
from coach.rehearsal.models import EmployeeState, Scenario, StateChange
from coach.rehearsal.state import KindRule

_LEVEL_RANK = {"error": 3, "warning": 2, "suggestion": 1}
_POLARITY_RANK = {"bad": 0, "good": 1, "neutral": 2}
QUOTE_CHARS = 160


class CoachingRules(BaseModel):
    """``knowledge/coaching.yaml``: how many cards, and the "try instead" templates."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    max_cards: int = Field(ge=1, le=5)
    instead: dict[str, str]
    next: dict[str, str]
    none: str = Field(min_length=1)

    @model_validator(mode="after")
    def _every_kind(self) -> CoachingRules:
        unknown = sorted(k for k in [*self.instead, *self.next] if k not in KINDS)
        if unknown:
            raise ValueError(f"unknown finding kinds {', '.join(unknown)}; valid: {', '.join(KINDS)}")
        missing = [k for k in KINDS if k not in self.instead and k not in self.next]
        if missing:  # a new analyzer kind must get a line, or its turns would get no advice
            raise ValueError(f"give an 'instead' or 'next' line for {', '.join(missing)}")
        return self


def load_coaching_rules(path: Path) -> CoachingRules:
    """Read and validate the coaching templates; errors name the file and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        return CoachingRules.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"coaching rules {path}: cannot read: {exc}") from exc
    except ValidationError as exc:
        lines = [f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()]
        raise UsageError(f"coaching rules {path}: " + "; ".join(lines)) from None


@lru_cache(maxsize=4)
def _cached(path: str) -> CoachingRules:
    return load_coaching_rules(Path(path))


def default_coaching_rules() -> CoachingRules:
    """The templates under the configured knowledge directory (read once per path)."""
    return _cached(str(get_settings().knowledge_dir / "coaching.yaml"))


# --- types -----------------------------------------------------------------------------------------


def _short(text: str, limit: int = QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


@dataclass(frozen=True)
class Note:
    """One finding explained, quoting the manager's words."""

    kind: str
    polarity: str
    level: str
    principle: str
    quote: str
    message: str
    offset: int
    length: int

    def text(self) -> str:
        """The note as one line."""
        return f"\u201c{self.quote}\u201d: {self.message}"


@dataclass(frozen=True)
class CardRef:
    """A principle card shown with a turn, and why it was picked."""

    id: str
    title: str
    summary: str
    reason: str
    cited: bool          # True: a finding in this turn names it; False: found by search
    score: float | None = None


@dataclass(frozen=True)
class TryInstead:
    """One concrete line to try, and where it came from."""

    text: str
    principle: str | None
    source: Literal["fix", "scenario-tip", "template"]
    quote: str = ""      # the manager's words it replaces or builds on


@dataclass(frozen=True)
class Coaching:
    """Everything shown after one manager turn, before the persona answers."""

    turn_index: int            # stored index of the manager turn
    turn_number: int           # 1-based count of manager turns (what /rewind N takes)
    text: str
    notes: tuple[Note, ...]
    findings: tuple[Finding, ...]
    cards: tuple[CardRef, ...]
    try_instead: TryInstead
    changes: tuple[StateChange, ...]
    before: EmployeeState
    after: EmployeeState
    opened_up: int             # hidden facts unlocked by this turn (their text stays hidden)
    behaviour: str
    notices: tuple[str, ...] = ()

    def change_notes(self) -> list[str]:
        """Each state change explained, quoting the manager's words."""
        return [c.note() for c in self.changes]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["before"], data["after"] = self.before.to_dict(), self.after.to_dict()
        return data


# --- pure parts ------------------------------------------------------------------------------------


def rank_findings(findings: Sequence[Finding], kind_rules: dict[str, KindRule]) -> list[Finding]:
    """Findings, most important first: broken principles (by level), then good moves (by how much
    they move the state), then neutral ones; ties in text order."""

    def key(f: Finding) -> tuple:
        rule = kind_rules.get(f.kind)
        weight = abs(rule.trust) + abs(rule.stress) if rule else 0
        return (_POLARITY_RANK.get(f.polarity, 3), -_LEVEL_RANK.get(f.level, 0), -weight, f.offset)

    return sorted(findings, key=key)


def notes(analysis: Analysis) -> list[Note]:
    """One note per finding in text order (the same message on the same words only once)."""
    seen: set[tuple[str, int, int]] = set()
    out = []
    for f in sorted(analysis.findings, key=lambda f: (f.offset, f.kind)):
        key = (f.message, f.offset, f.length)
        if key in seen:
            continue
        seen.add(key)
        out.append(Note(kind=f.kind, polarity=f.polarity, level=f.level, principle=f.principle,
                        quote=_short(f.text), message=f.message, offset=f.offset, length=f.length))
    return out


def _sentence_of(text: str, finding: Finding) -> tuple[int, int]:
    for start, end in split_sentences(text):
        if start <= finding.offset < end:
            return start, end
    return 0, len(text)


def fixed_sentence(text: str, finding: Finding, findings: Sequence[Finding]) -> tuple[str, str] | None:
    """(sentence, the sentence with every fix inside it applied), or None when nothing changes.

    Only when a fix replaces the finding's own words ("just" inside the fixed "You should just"):
    a fix elsewhere in the sentence would leave the problem standing ("Stop whining" is not fixed
    by turning "Stop" into a story).
    """
    covered = any(f.fix is not None and f.offset <= finding.offset and finding.offset + finding.length <= f.offset + f.length
                  for f in findings)
    if not covered:
        return None
    start, end = _sentence_of(text, finding)
    inside = [replace(f, offset=f.offset - start) for f in findings
              if f.fix is not None and start <= f.offset and f.offset + f.length <= end]
    if not inside:
        return None
    sentence = text[start:end]
    rewritten = apply_fixes(sentence, inside).strip()
    return (sentence.strip(), rewritten) if rewritten and rewritten != sentence.strip() else None


def _fill(template: str, words: dict[str, str]) -> str:
    try:
        return template.format(**words)
    except (KeyError, IndexError, ValueError):
        return template  # unknown braces are shown as written; a turn never crashes on a template


def try_instead(analysis: Analysis, ranked: Sequence[Finding], scenario: Scenario,
                rules: CoachingRules) -> TryInstead:
    """The one line to try: for the most important finding, its fix, the scenario's tip for its
    principle, or the kind's template; for a turn with nothing found, the ``none`` line."""
    words = scenario.persona.words()
    if not ranked:
        return TryInstead(text=_fill(rules.none, words), principle=None, source="template")
    top = ranked[0]
    quote = _short(top.text)
    filled = {**words, "quote": quote}
    if top.kind in rules.instead:
        fixed = fixed_sentence(analysis.text, top, analysis.findings)
        if fixed:
            before, after = fixed
            return TryInstead(text=f"Instead of \u201c{_short(before)}\u201d, try \u201c{_short(after, 300)}\u201d",
                              principle=top.principle, source="fix", quote=_short(before))
        if top.principle in scenario.tips:
            return TryInstead(text=scenario.tips[top.principle], principle=top.principle, source="scenario-tip",
                              quote=quote)
        return TryInstead(text=_fill(rules.instead[top.kind], filled), principle=top.principle, source="template",
                          quote=quote)
    template = rules.next.get(top.kind) or rules.none
    return TryInstead(text=_fill(template, filled), principle=top.principle, source="template", quote=quote)


def search_query(text: str, ranked: Sequence[Finding], cards: dict[str, PrincipleCard]) -> str:
    """What just happened, as a search query: the findings' kinds and principle titles, then the
    manager's words (bounded, so the query stays short and fast)."""
    parts: list[str] = []
    for f in ranked[:3]:
        title = cards[f.principle].title if f.principle in cards else f.principle
        for part in (f.kind.replace("-", " "), title):
            if part not in parts:
                parts.append(part)
    parts.append(_short(text, 300))
    return ". ".join(parts)


#: ``search(query, k, applies_to) -> [(card id, score)]``; raises on a missing store.
Searcher = Callable[[str, int, str], list[tuple[str, float]]]


def pick_cards(text: str, ranked: Sequence[Finding], cards: dict[str, PrincipleCard], *, max_cards: int,
               applies_to: str, search: Searcher | None) -> tuple[list[CardRef], list[str]]:
    """Cards for the turn: cited principles by id (most important finding first), then the best
    search hits for what just happened. Returns the cards and any notice (e.g. no store yet)."""
    out: list[CardRef] = []
    notices: list[str] = []
    for f in ranked:
        card = cards.get(f.principle)
        if card and all(c.id != card.id for c in out) and len(out) < max_cards:
            out.append(CardRef(id=card.id, title=card.title, summary=card.summary, cited=True,
                               reason=f"you said \u201c{_short(f.text, 80)}\u201d ({f.kind})"))
    if len(out) < max_cards and search is not None:
        try:
            hits = search(search_query(text, ranked, cards), max_cards + len(out), applies_to)
        except CoachError as exc:  # a missing or broken store must not cost the turn its coaching
            notices.append(f"related cards unavailable: {exc}")
            hits = []
        for card_id, score in hits:
            card = cards.get(card_id)
            if card and all(c.id != card_id for c in out) and len(out) < max_cards:
                out.append(CardRef(id=card.id, title=card.title, summary=card.summary, cited=False, score=score,
                                   reason="related to what you just said"))
    return out, notices
