"""Data types of a rehearsal: scenario schema, employee state, state changes, stored turns.

Pure data, no I/O. The scenario types are pydantic models because they validate user-written
YAML; the runtime types are frozen dataclasses because they are built by code, compared in tests
and stored as JSON.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from coach.analyzer.model import KINDS, Analysis, Finding

#: Families of scenarios, used to group them and to pick one scripted test per family.
FAMILIES: tuple[str, ...] = ("self-doubt", "career", "conflict", "development", "resistance", "mentee-side")
Family = Literal["self-doubt", "career", "conflict", "development", "resistance", "mentee-side"]

#: Metrics a success criterion may check; computed by :func:`coach.rehearsal.debrief.session_metrics`.
METRICS: tuple[str, ...] = (
    "reflections",                # reflection-simple + reflection-complex + summary spans
    "open_questions",
    "closed_questions",
    "questions",
    "summaries",
    "permission_asks",
    "stories",
    "reassurances",
    "action_plans",
    "directives",
    "judgmental",
    "advice_without_permission",  # manager turns that advise with no permission asked
    "advice_with_permission",     # manager turns that advise after permission was asked
    "facts_unlocked",
    "final_trust",
    "final_stress",
    "manager_talk_share",         # percent of all words spoken by the manager
    "reflection_to_question",     # reflections per question (0 when no question was asked)
)
Metric = Literal[
    "reflections", "open_questions", "closed_questions", "questions", "summaries", "permission_asks",
    "stories", "reassurances", "action_plans", "directives", "judgmental", "advice_without_permission",
    "advice_with_permission", "facts_unlocked", "final_trust", "final_stress", "manager_talk_share",
    "reflection_to_question",
]

#: Bands of the persona's stress used for its tone and its scripted fallback lines (see knowledge/persona.yaml).
STRESS_BANDS: tuple[str, ...] = ("calm", "tense", "upset", "overwhelmed")
StressBand = Literal["calm", "tense", "upset", "overwhelmed"]

Role = Literal["manager", "employee"]
ROLES: tuple[str, ...] = ("manager", "employee")

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_PRONOUNS = {
    "she/her": {"they": "she", "them": "her", "their": "her"},
    "he/him": {"they": "he", "them": "him", "their": "his"},
    "they/them": {"they": "they", "them": "them", "their": "their"},
}


def _check_slug(value: str) -> str:
    if not _SLUG.match(value):
        raise ValueError("must be 2-64 characters of lowercase letters, digits and hyphens, e.g. 'customer-blowup'")
    return value


def _check_principle(value: str, info: ValidationInfo) -> str:
    """Principle ids are checked against knowledge/principles/IDS.txt when the loader passes them."""
    known = (info.context or {}).get("principle_ids")
    if known is not None and value not in known:
        raise ValueError(f"unknown principle card id {value!r}; see knowledge/principles/IDS.txt")
    return value


class _Strict(BaseModel):
    """Scenario parts reject unknown keys, so a typo in a user's file is reported, not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Persona(_Strict):
    """The employee (or, on the mentee side, the mentor) the manager talks to."""

    name: str = Field(min_length=1, max_length=80)
    pronouns: Literal["she/her", "he/him", "they/them"] = "they/them"
    role: str = Field(min_length=1, max_length=200)
    background: str = Field(min_length=1, max_length=2000)
    wants: str = Field(min_length=1, max_length=1000)
    fears: str = Field(min_length=1, max_length=1000)
    speech_style: str = Field(min_length=1, max_length=1000)

    def words(self) -> dict[str, str]:
        """Template words for explanations: name, they, them, their."""
        return {"name": self.name.split()[0], **_PRONOUNS[self.pronouns]}


class Unlock(_Strict):
    """When a hidden fact may be revealed. Every condition given must hold (at least one is required)."""

    listening_moves: int | None = Field(default=None, ge=0, le=50)
    trust: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _one_condition(self) -> Unlock:
        if self.listening_moves is None and self.trust is None:
            raise ValueError("give listening_moves, trust, or both")
        return self


class HiddenFact(_Strict):
    """Something the persona only says once the manager has listened enough or earned trust."""

    id: str
    fact: str = Field(min_length=1, max_length=1000)
    unlock: Unlock

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _check_slug(value)


class InitialState(_Strict):
    """Trust and stress of the persona when the conversation starts (0-100)."""

    trust: int = Field(ge=0, le=100)
    stress: int = Field(ge=0, le=100)


class SuccessCriterion(_Strict):
    """A checkable statement about the session, e.g. ``{metric: reflections, min: 2}``."""

    metric: Metric
    min: float | None = None
    max: float | None = None
    label: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _bounds(self) -> SuccessCriterion:
        if self.min is None and self.max is None:
            raise ValueError("give min, max, or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min is greater than max")
        return self

    def describe(self) -> str:
        """Human wording, e.g. 'reflections >= 2'."""
        if self.label:
            return self.label
        parts = []
        if self.min is not None:
            parts.append(f"{self.metric} >= {self.min:g}")
        if self.max is not None:
            parts.append(f"{self.metric} <= {self.max:g}")
        return " and ".join(parts)


class RuleOverride(_Strict):
    """A scenario's own weight for one finding kind (e.g. a busy VP values a small, clear ask)."""

    trust: int | None = Field(default=None, ge=-30, le=30)
    stress: int | None = Field(default=None, ge=-30, le=30)
    explain: str | None = Field(default=None, min_length=1, max_length=200)


class Scenario(_Strict):
    """One rehearsal: who the manager meets, what is hidden, what good looks like."""

    id: str
    title: str = Field(min_length=1, max_length=120)
    family: Family
    brief: str = Field(min_length=1, max_length=3000)
    persona: Persona
    opening_line: str = Field(min_length=1, max_length=1000)
    hidden_facts: tuple[HiddenFact, ...] = Field(min_length=1, max_length=12)
    initial_state: InitialState
    principles: tuple[str, ...] = Field(min_length=3, max_length=10)
    #: One concrete line to try per principle, used by the debrief's "next time" list.
    tips: dict[str, str]
    success_criteria: tuple[SuccessCriterion, ...] = Field(min_length=1, max_length=12)
    rule_overrides: dict[str, RuleOverride] = Field(default_factory=dict)
    source: str | None = Field(default=None, max_length=300, description="Seed the story comes from.")
    #: Who the persona is talking to, from the persona's side (default: "your manager"); the
    #: mentee-side scenarios set it because there the user is not the persona's manager.
    counterpart: str | None = Field(default=None, min_length=1, max_length=200)
    #: Safe in-character lines by stress band, used when the model's reply breaks character twice.
    #: Optional: the generic lines in knowledge/persona.yaml are used for any band not given here.
    fallback_lines: dict[StressBand, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        return _check_slug(value)

    @field_validator("principles")
    @classmethod
    def _principles(cls, value: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        for pid in value:
            _check_principle(pid, info)
        if len(set(value)) != len(value):
            raise ValueError("principle ids repeat")
        return value

    @field_validator("tips")
    @classmethod
    def _tips(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for pid, text in value.items():
            _check_principle(pid, info)
            if not text.strip():
                raise ValueError(f"tip for {pid!r} is empty")
        return value

    @field_validator("rule_overrides")
    @classmethod
    def _overrides(cls, value: dict[str, RuleOverride]) -> dict[str, RuleOverride]:
        for kind in value:
            if kind not in KINDS:
                raise ValueError(f"unknown finding kind {kind!r}; valid kinds: {', '.join(KINDS)}")
        return value

    @field_validator("fallback_lines")
    @classmethod
    def _fallbacks(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for band, lines in value.items():
            if not lines or any(not line.strip() or len(line) > 300 for line in lines):
                raise ValueError(f"{band}: give one or more non-empty lines of at most 300 characters")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        missing = [p for p in self.principles if p not in self.tips]
        if missing:
            raise ValueError(f"tips: add a tip for every principle; missing {', '.join(missing)}")
        ids = [f.id for f in self.hidden_facts]
        if len(set(ids)) != len(ids):
            raise ValueError("hidden_facts: fact ids repeat")
        return self

    def fact(self, fact_id: str) -> HiddenFact:
        """The hidden fact with this id (KeyError if absent)."""
        for item in self.hidden_facts:
            if item.id == fact_id:
                return item
        raise KeyError(fact_id)


# --- runtime types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EmployeeState:
    """The persona's state after some turns. Kept in code so even a weak model behaves consistently."""

    trust: int
    stress: int
    listening_moves: int = 0            # open questions, reflections and summaries heard so far
    unlocked: tuple[str, ...] = ()      # hidden-fact ids the persona may now reveal, in unlock order
    kinds_seen: tuple[str, ...] = ()    # finding kinds used by the manager so far (sorted)
    fired: tuple[str, ...] = ()         # once-only sequence ids that already paid out (sorted)
    turn: int = 0                       # manager turns taken so far

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EmployeeState:
        """Inverse of :meth:`to_dict`."""
        return cls(
            trust=int(data["trust"]),
            stress=int(data["stress"]),
            listening_moves=int(data.get("listening_moves", 0)),
            unlocked=tuple(data.get("unlocked", ())),
            kinds_seen=tuple(data.get("kinds_seen", ())),
            fired=tuple(data.get("fired", ())),
            turn=int(data.get("turn", 0)),
        )


ChangeKind = Literal["rule", "sequence", "unlock"]


@dataclass(frozen=True)
class StateChange:
    """One explained step of a state update, e.g. 'trust +8, stress -4: you reflected her feeling'."""

    kind: ChangeKind
    source: str          # finding kind, sequence id, or hidden-fact id
    trust: int           # applied delta, after modifiers, caps and clamping
    stress: int
    principle: str       # principle card id
    quote: str           # the manager's own words that caused it ("" for unlocks)
    explanation: str     # full sentence with the deltas
    capped: bool = False  # True when a per-turn cap or the 0-100 range cut the delta

    def note(self) -> str:
        """Explanation plus the quoted words, for coaching notes."""
        return f"{self.explanation} (\u201c{self.quote}\u201d)" if self.quote else self.explanation

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StateChange:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass(frozen=True)
class TurnRecord:
    """One stored turn of a session (a manager turn carries its analysis, state and changes)."""

    session_id: str      # the session (branch) the turn was recorded in
    index: int           # 0-based position in the conversation path
    role: Role
    text: str
    created_at: str      # ISO 8601 UTC
    analysis: Analysis | None = None
    state: EmployeeState | None = None       # state after this turn
    changes: tuple[StateChange, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "session_id": self.session_id,
            "index": self.index,
            "role": self.role,
            "text": self.text,
            "created_at": self.created_at,
            "analysis": self.analysis.to_dict() if self.analysis else None,
            "state": self.state.to_dict() if self.state else None,
            "changes": [c.to_dict() for c in self.changes],
        }


@dataclass(frozen=True)
class SessionInfo:
    """A stored session. A branch made by rewind has a parent and the turn index it forked at."""

    id: str
    scenario_id: str
    started_at: str
    initial_state: EmployeeState
    ended_at: str | None = None
    parent_session_id: str | None = None
    fork_index: int | None = None      # turns [0, fork_index) are shared with the parent
    scores: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["initial_state"] = self.initial_state.to_dict()
        return data


def analysis_from_dict(data: dict[str, Any]) -> Analysis:
    """Rebuild an :class:`Analysis` from its ``to_dict`` form (as stored)."""
    return Analysis(
        text=data["text"],
        findings=[Finding(**f) for f in data.get("findings", [])],
        behaviour=data.get("behaviour", "other"),
        behaviour_scores=dict(data.get("behaviour_scores", {})),
        permission_asked=bool(data.get("permission_asked", False)),
        notices=list(data.get("notices", [])),
    )
