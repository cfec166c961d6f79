"""Data types of the rewriter's result and of its event stream. Pure data, JSON-ready.

The web UI and the CLI read these; they change only with care.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

#: Which path produced a rewrite (or one piece of it):
#: ``model``: the model's first attempt passed verification; ``model-repaired``: a later attempt,
#: after the verifier's findings were fed back; ``fallback``: the deterministic rewrite (analyzer
#: fixes + story templates); ``unchanged``: the draft has no directive advice, its sentences are kept
#: verbatim (at most a permission opener and a hand-back line are added around a story; see notices).
RewritePath = Literal["model", "model-repaired", "fallback", "unchanged"]
PATHS: tuple[str, ...] = ("model", "model-repaired", "fallback", "unchanged")

#: The verification checklist, in display order: (name, label).
CHECKS: tuple[tuple[str, str], ...] = (
    ("asks_permission", "Asks permission"),
    ("first_person", "First person"),
    ("no_directives", "No directives"),
    ("meaning_kept", "Meaning kept"),
    ("specifics_kept", "Specifics kept"),
    ("hands_back", "Hands the choice back"),
    ("no_judgmental", "No judgmental words"),
    ("no_prompt_leak", "No prompt text"),
    ("length_ok", "Not empty, bounded length"),
)
CHECK_LABELS: dict[str, str] = dict(CHECKS)

#: Event types of :func:`coach.rewrite.rewrite_stream`, in the order they can occur.
EVENT_TYPES: tuple[str, ...] = ("start", "token", "attempt_failed", "piece_done", "notice", "result")


@dataclass(frozen=True)
class Check:
    """One line of the verification checklist."""

    name: str      # one of CHECKS
    label: str
    passed: bool
    detail: str    # why it passed ("not needed: ..." when it does not apply) or what failed

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class Problem:
    """Why one attempt at a piece failed verification."""

    check: str     # one of CHECKS
    message: str


@dataclass(frozen=True)
class CardRef:
    """A principle card the rewrite used (cited by the draft's findings, or retrieved for it)."""

    id: str
    title: str
    summary: str
    cited: bool                   # a finding in the draft cites this principle
    score: float | None = None    # retrieval relevance, when it came from the search

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class Piece:
    """One rewritten advice sentence."""

    index: int
    original: str          # the draft sentence, verbatim
    content: str           # the advice it carries, without the directive phrase
    text: str              # the rewritten piece as it appears in the result
    carried: str           # the part of ``text`` that carries the advice (compared for meaning)
    path: str              # model | model-repaired | fallback
    attempts: int          # model attempts made (0 when the model was not used)
    similarity: float      # cosine(content, carried)
    specifics: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()   # why earlier attempts failed, one line per attempt

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class RewriteResult:
    """A verified rewrite. ``verified`` is always True for a result the rewriter returns."""

    draft: str
    text: str
    path: str
    pieces: list[Piece] = field(default_factory=list)
    checklist: list[Check] = field(default_factory=list)
    cards: list[CardRef] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    model: str = ""                 # "provider:model" used, or "" when no model was called
    seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def verified(self) -> bool:
        """True when every check passed."""
        return bool(self.checklist) and all(c.passed for c in self.checklist)

    @property
    def meaning_similarity(self) -> float | None:
        """Mean similarity of the pieces (None without pieces)."""
        return sum(p.similarity for p in self.pieces) / len(self.pieces) if self.pieces else None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "draft": self.draft,
            "text": self.text,
            "path": self.path,
            "verified": self.verified,
            "checklist": [c.to_dict() for c in self.checklist],
            "pieces": [p.to_dict() for p in self.pieces],
            "cards": [c.to_dict() for c in self.cards],
            "notices": list(self.notices),
            "model": self.model,
            "seconds": round(self.seconds, 3),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


@dataclass(frozen=True)
class RewriteEvent:
    """One event of the rewrite stream (see EVENT_TYPES).

    - ``start``: ``cards`` used and ``pieces`` (how many advice pieces will be rewritten);
    - ``token``: ``text`` is the next piece of the model's current attempt for piece ``piece``
      (a draft in progress: never show it as the result);
    - ``attempt_failed``: attempt ``attempt`` of piece ``piece`` failed verification, ``reasons`` say why;
    - ``piece_done``: piece ``piece`` is settled; ``text`` is its verified wording, ``path`` how;
    - ``notice``: ``text`` is something the user should know (model unavailable, store empty);
    - ``result``: the final verified :class:`RewriteResult` (always the last event).
    """

    type: str
    piece: int = -1
    attempt: int = 0
    text: str = ""
    path: str = ""
    reasons: tuple[str, ...] = ()
    pieces: int = 0
    cards: tuple[CardRef, ...] = ()
    result: RewriteResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (one line of ``coach rewrite --stream --json``)."""
        out: dict[str, Any] = {"type": self.type}
        if self.type == "start":
            out.update(pieces=self.pieces, cards=[c.to_dict() for c in self.cards])
        elif self.type == "token":
            out.update(piece=self.piece, attempt=self.attempt, text=self.text)
        elif self.type == "attempt_failed":
            out.update(piece=self.piece, attempt=self.attempt, reasons=list(self.reasons))
        elif self.type == "piece_done":
            out.update(piece=self.piece, path=self.path, text=self.text)
        elif self.type == "notice":
            out.update(text=self.text)
        elif self.type == "result" and self.result is not None:
            out.update(result=self.result.to_dict())
        return out
