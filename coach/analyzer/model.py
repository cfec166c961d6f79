"""Data types of the analyzer: what it found in a manager's words. Pure data, no logic.

Every other part of the coach (rewriter, rehearsal, UI, evals) reads these types, so they change
only with care.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

Level = Literal["suggestion", "warning", "error"]
LEVELS: tuple[Level, ...] = ("suggestion", "warning", "error")
Polarity = Literal["good", "bad", "neutral"]

#: Span kinds, used for highlighting and for the employee-state rule table.
KINDS: tuple[str, ...] = (
    "directive",          # you should / must / why don't you / bare imperative at the listener
    "advice-unasked",     # advice given with no permission asked earlier in the turn or conversation
    "permission",         # asks before advising
    "story",              # first-person story / self-disclosure of experience
    "question-open",
    "question-closed",
    "reflection-simple",
    "reflection-complex",
    "summary",
    "reassurance",        # expresses confidence in the person
    "action-plan",        # next steps agreed together
    "judgmental",         # dismissive or judgmental wording
    "humility",           # admits own mistakes or limits
    "effort",             # celebrates effort over results
    "purpose",            # anchors learning to a why
    "handback",           # hands the choice back to the person
)

#: Main behaviour of one utterance (one label per utterance).
BEHAVIOURS: tuple[str, ...] = (
    "question-open",
    "question-closed",
    "reflection-simple",
    "reflection-complex",
    "advice-with-permission",
    "advice-without-permission",
    "information",
    "self-disclosure",
    "affirmation",
    "other",
)

#: How each behaviour maps onto AnnoMI's four main therapist behaviours.
ANNOMI_MAIN: dict[str, str] = {
    "question-open": "question",
    "question-closed": "question",
    "reflection-simple": "reflection",
    "reflection-complex": "reflection",
    "advice-with-permission": "therapist_input",
    "advice-without-permission": "therapist_input",
    "information": "therapist_input",
    "self-disclosure": "other",
    "affirmation": "other",
    "other": "other",
}


@dataclass(frozen=True)
class Finding:
    """One span of the input that follows or breaks a principle."""

    rule: str            # rule id, e.g. "directive-should"
    principle: str       # principle card id, e.g. "first-person-story"
    level: Level
    kind: str            # one of KINDS
    polarity: Polarity   # good = follows the principle, bad = breaks it
    message: str         # names the principle and says what to do instead
    line: int            # 1-based
    column: int          # 1-based, in characters
    offset: int          # 0-based character offset into the analysed text
    length: int          # in characters
    text: str            # the matched text, exactly text[offset:offset+length]
    fix: str | None = None  # deterministic replacement for the span, where one exists

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class AnalysisContext:
    """What came before the analysed utterance in a conversation."""

    prev_client_text: str = ""
    #: True once the manager has asked permission to advise earlier in the conversation.
    permission_asked: bool = False
    previous_manager_turns: tuple[str, ...] = ()


@dataclass
class Analysis:
    """Everything the analyzer says about one text."""

    text: str
    findings: list[Finding] = field(default_factory=list)
    behaviour: str = "other"                     # one of BEHAVIOURS
    behaviour_scores: dict[str, float] = field(default_factory=dict)
    permission_asked: bool = False               # in this text or (via context) before it
    notices: list[str] = field(default_factory=list)  # e.g. "input truncated to 200000 characters"

    def by_kind(self, kind: str) -> list[Finding]:
        """Findings of one kind, in text order."""
        return [f for f in self.findings if f.kind == kind]

    def has_errors(self) -> bool:
        """True when any finding is at error level."""
        return any(f.level == "error" for f in self.findings)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "text": self.text,
            "behaviour": self.behaviour,
            "behaviour_scores": self.behaviour_scores,
            "permission_asked": self.permission_asked,
            "notices": list(self.notices),
            "findings": [f.to_dict() for f in self.findings],
        }
