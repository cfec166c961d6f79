"""The persona's rule data (``knowledge/persona.yaml``) and the pure checker of its replies.

A small chat model plays the employee. Whatever it says passes :func:`check_reply` before the
manager sees it: the reply must stay in character (no talk of being an AI, of its instructions or
prompt, no coaching of the manager, no lines for the manager, no copy of the prompt's wording).
Everything here is pure: same text and guard, same verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from coach.config import get_settings
from coach.errors import UsageError
from coach.rehearsal.models import STRESS_BANDS, EmployeeState, StressBand


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckGroup(_Strict):
    """Regular expressions that each fail a reply with the same message."""

    message: str = Field(min_length=1)
    patterns: tuple[str, ...] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in value:
            try:
                re.compile(pattern, re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from None
        return value


class Overlap(_Strict):
    """A reply fails when it shares ``words`` consecutive words with a source text."""

    words: int = Field(ge=3, le=40)
    message: str = Field(min_length=1)


class ToneBand(_Strict):
    band: StressBand
    max: int = Field(ge=0, le=100)
    tone: str = Field(min_length=1)


class OpennessRow(_Strict):
    max: int = Field(ge=0, le=100)
    openness: str = Field(min_length=1)


class PersonaStyle(_Strict):
    """Everything in ``knowledge/persona.yaml``."""

    version: int
    history_messages: int = Field(ge=0, le=40)
    max_sentences: int = Field(default=3, ge=1, le=20)
    stress_tones: tuple[ToneBand, ...] = Field(min_length=1)
    trust_openness: tuple[OpennessRow, ...] = Field(min_length=1)
    default_counterpart: str = Field(min_length=1)
    fallback_lines: dict[StressBand, tuple[str, ...]]
    checks: dict[str, CheckGroup]
    leak: Overlap
    echo: Overlap
    facts_intro: str = Field(min_length=1)
    no_facts: str = Field(min_length=1)
    stop: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _complete(self) -> PersonaStyle:
        for name, rows in (("stress_tones", self.stress_tones), ("trust_openness", self.trust_openness)):
            tops = [r.max for r in rows]
            if tops != sorted(tops) or tops[-1] != 100:
                raise ValueError(f"{name}: rows must be in increasing 'max' order and end at max 100")
        missing = [b for b in STRESS_BANDS if not self.fallback_lines.get(b)]
        if missing:
            raise ValueError(f"fallback_lines: give lines for every band; missing {', '.join(missing)}")
        return self


def load_persona_style(path: Path) -> PersonaStyle:
    """Read and validate a persona rule file; errors name the file and the field."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise UsageError(f"persona rules {path}: cannot read: {exc}") from exc
    try:
        return PersonaStyle.model_validate(data)
    except ValidationError as exc:
        lines = [f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in exc.errors()]
        raise UsageError(f"persona rules {path}: " + "; ".join(lines)) from None


@lru_cache(maxsize=4)
def _cached_style(path: str, mtime_ns: int) -> PersonaStyle:
    return load_persona_style(Path(path))


def default_persona_style() -> PersonaStyle:
    """The rules under the configured knowledge directory (re-read when the file changes)."""
    path = get_settings().knowledge_dir / "persona.yaml"
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise UsageError(f"persona rules {path}: cannot read: {exc.strerror or exc}") from exc
    return _cached_style(str(path), mtime)


def stress_band(state: EmployeeState, style: PersonaStyle) -> ToneBand:
    """The tone band for the state's stress."""
    return next(row for row in style.stress_tones if state.stress <= row.max)


def openness(state: EmployeeState, style: PersonaStyle) -> str:
    """How openly the persona talks at the state's trust."""
    return next(row.openness for row in style.trust_openness if state.trust <= row.max)


# --- the checker ---------------------------------------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


def _words(text: str) -> list[str]:
    # Apostrophes are dropped, not split on, so "don't" and "dont" match as one word.
    return _WORD.findall(text.lower().replace("'", "").replace("\u2019", ""))


def _runs(text: str, n: int) -> list[tuple[str, ...]]:
    words = _words(text)
    return [tuple(words[i:i + n]) for i in range(len(words) - n + 1)]


def ngrams(text: str, n: int) -> frozenset[tuple[str, ...]]:
    """Every run of ``n`` consecutive words of ``text`` (lower-cased, punctuation ignored)."""
    return frozenset(_runs(text, n))


def first_shared_run(text: str, grams: frozenset[tuple[str, ...]], n: int) -> str | None:
    """The first run of ``n`` words of ``text`` that is in ``grams``, or None."""
    return next((" ".join(run) for run in _runs(text, n) if run in grams), None)


@dataclass(frozen=True)
class Problem:
    """Why a reply failed: the check's name, its message and the words that triggered it."""

    check: str
    message: str
    evidence: str

    def __str__(self) -> str:
        return f"{self.check}: {self.message} (\u201c{self.evidence}\u201d)"


@dataclass(frozen=True)
class Verdict:
    """The checker's answer. ``ok`` is True when there is no problem."""

    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the reply can be shown."""
        return not self.problems


@dataclass(frozen=True)
class ReplyGuard:
    """What one reply is checked against (build it with :func:`make_guard`)."""

    name: str                                   # the persona's full name
    style: PersonaStyle
    leak_grams: frozenset[tuple[str, ...]]      # word runs of the system prompt the reply must not copy
    echo_grams: frozenset[tuple[str, ...]]      # word runs of the manager's line
    label: re.Pattern[str]                      # a leading "Jordan:" the model may prefix (removed)
    self_address: re.Pattern[str]               # "Sorry, Jordan." : the persona talking to itself
    echo_words: int = 8                         # run length of echo_grams


def echo_size(manager_line: str, style: PersonaStyle) -> int:
    """Words in a row that count as repeating the manager: ``style.echo.words``, or the whole line
    when it is shorter (but at least 4 words, so "I see what you mean" stays sayable)."""
    return max(4, min(style.echo.words, len(_words(manager_line))))


def make_guard(name: str, system_prompt: str, manager_line: str, style: PersonaStyle,
               allowed: tuple[str, ...] = ()) -> ReplyGuard:
    """A guard for one reply. ``allowed`` texts (facts the persona may share, its own opening
    line) may be repeated; every other run of ``style.leak.words`` words of the prompt may not."""
    n = style.leak.words
    permitted = frozenset().union(*(ngrams(text, n) for text in allowed)) if allowed else frozenset()
    names = [re.escape(part) for part in {name, name.split()[0]} if part]
    label = re.compile(r"^\s*\**\s*(?:" + "|".join(names + ["employee", "me"]) + r")\s*\**\s*:\s*", re.IGNORECASE)
    first = re.escape(name.split()[0]) if name.split() else "(?!)"
    # Addressing its own name ("I'm sorry, Jordan.") means the model is speaking as the manager.
    self_address = re.compile(
        rf",\s*{first}\b\s*[.!?,]|^\W*(?:hi|hey|hello|oh|look|listen|sorry|thanks|thank you|yes|no|okay|ok|well),?\s+{first}\b",
        re.IGNORECASE,
    )
    return ReplyGuard(
        echo_words=echo_size(manager_line, style), name=name, style=style, leak_grams=ngrams(system_prompt, n) - permitted,
        echo_grams=ngrams(manager_line, echo_size(manager_line, style)), label=label, self_address=self_address,
    )


_QUOTES = "\"\u201c\u201d"
_SPACES = re.compile(r"\s+")
#: Stage directions a small model likes to add: "(I sigh)", "*looks away*", "[pauses]".
_STAGE = re.compile(r"\([^()]*\)|\*[^*]*\*|\[[^\[\]]*\]")


def balanced(raw: str) -> bool:
    """True when no stage direction is left open (only then can a prefix be cleaned for good)."""
    return raw.count("(") <= raw.count(")") and raw.count("[") <= raw.count("]") and raw.count("*") % 2 == 0


def clean_reply(raw: str, guard: ReplyGuard) -> str:
    """The reply as shown: a leading "Name:" label, stage directions and wrapping double quotes
    removed, whitespace collapsed. Prefix-stable at sentence ends of :func:`balanced` prefixes (where
    the stream gate cuts): cleaning a longer such prefix only adds to the end, so streamed pieces are
    never taken back."""
    text = guard.label.sub("", raw.lstrip(), count=1)
    text = _STAGE.sub(" ", text).lstrip()
    text = guard.label.sub("", text, count=1)
    if text[:1] in _QUOTES:
        text = "".join(ch for ch in text if ch not in _QUOTES)
    return _SPACES.sub(" ", text).strip()


def check_reply(text: str, guard: ReplyGuard) -> Verdict:
    """Every reason ``text`` cannot be shown as the persona's line (none means it can)."""
    problems: list[Problem] = []
    if not re.search(r"[^\W\d_]", text):
        problems.append(Problem("empty", "says nothing", text.strip()[:40]))
    for name, group in guard.style.checks.items():
        for pattern in group.patterns:
            found = re.search(pattern, text, re.IGNORECASE)
            if found:
                problems.append(Problem(name, group.message, found.group(0).strip()[:80]))
                break
    addressed = guard.self_address.search(text)
    if addressed and not any(p.check == "speaker" for p in problems):
        speaker = guard.style.checks.get("speaker")
        problems.append(Problem("speaker", speaker.message if speaker else "speaks as the manager",
                                addressed.group(0).strip()))
    for check, grams, size, message in (
        ("leak", guard.leak_grams, guard.style.leak.words, guard.style.leak.message),
        ("echo", guard.echo_grams, guard.echo_words, guard.style.echo.message),
    ):
        hit = first_shared_run(text, grams, size) if grams else None
        if hit:
            problems.append(Problem(check, message, hit))
    return Verdict(tuple(problems))
