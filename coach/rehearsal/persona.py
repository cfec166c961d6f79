"""The persona the manager rehearses with: its prompt, and its streamed, checked reply.

The prompt comes from ``prompts/persona.system.md`` and ``prompts/persona.user.md``: the persona
sheet of the scenario, the state in words (stress -> tone, trust -> openness, the hidden facts it may
now share; locked facts are never in the prompt, so they cannot leak), and the last turns within a
token budget. The model's reply is released sentence by sentence, each only after
:func:`~coach.rehearsal.persona_rules.check_reply` passed on everything so far; a reply that fails
before any sentence was shown is regenerated once (new seed), then replaced by a scripted
in-character line (``fallback_lines``). A failure after some sentences ends the reply there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from coach.errors import ModelError
from coach.llm import ChatModel, Message, assistant, system, user
from coach.prompts import load_prompt
from coach.rehearsal.models import EmployeeState, HiddenFact, Scenario, TurnRecord
from coach.rehearsal.persona_rules import (
    PersonaStyle,
    ReplyGuard,
    Verdict,
    balanced,
    check_reply,
    clean_reply,
    default_persona_style,
    make_guard,
    openness,
    stress_band,
)
from coach.rehearsal.state import revealable_facts
from coach.tokens import MESSAGE_OVERHEAD, REPLY_OVERHEAD

#: Attempts at a model reply before the scripted line (the first try and one regeneration).
ATTEMPTS = 2
#: Seed step between attempts, so the regeneration is not the same text again.
_SEED_STEP = 7919
ReplySource = Literal["model", "retry", "fallback"]


@dataclass(frozen=True)
class PersonaPrompt:
    """The messages for one reply, the system text (for the leak check) and the reply's guard."""

    messages: tuple[Message, ...]
    system_text: str
    guard: ReplyGuard
    stop: tuple[str, ...]
    band: str              # stress band used for the tone and the fallback line
    dropped: int = 0       # earlier messages left out to fit the history length or token budget
    said_before: tuple[str, ...] = ()  # the persona's earlier lines (saying one again ends the reply)


def speaker(scenario: Scenario, style: PersonaStyle) -> str:
    """Who talks to the persona, capitalised for "Your manager says: ..."."""
    who = scenario.counterpart or style.default_counterpart
    return who[:1].upper() + who[1:]


def facts_block(facts: Sequence[HiddenFact], style: PersonaStyle) -> str:
    """The facts the persona may share now, as prompt text (or the line saying there are none)."""
    if not facts:
        return style.no_facts
    return style.facts_intro + "\n" + "\n".join(f"- {f.fact}" for f in facts)


def fallback_line(scenario: Scenario, state: EmployeeState, n: int, style: PersonaStyle | None = None) -> str:
    """A safe in-character line for the state's stress band (the scenario's own lines first)."""
    style = style or default_persona_style()
    band = stress_band(state, style).band
    lines = scenario.fallback_lines.get(band) or style.fallback_lines[band]
    return lines[n % len(lines)]


def _history(turns: Sequence[TurnRecord], speaker_name: str, first_name: str, render_user: Callable[..., str],
             limit: int) -> list[Message]:
    """Earlier turns as chat messages (the opening line is in the system prompt, so it is skipped)."""
    out: list[Message] = []
    for t in turns:
        if t.role == "employee" and t.index == 0:
            continue
        if t.role == "manager":
            out.append(user(render_user(speaker=speaker_name, line=t.text, name=first_name)))
        else:
            out.append(assistant(t.text))
    return out[-limit:] if limit else []


def build_prompt(scenario: Scenario, state: EmployeeState, history: Sequence[TurnRecord], manager_line: str, *,
                 count: Callable[[str], int], budget: int, style: PersonaStyle | None = None) -> PersonaPrompt:
    """Messages for the persona's answer to ``manager_line``.

    ``history`` is the stored conversation before that line; the newest ``style.history_messages``
    of it are kept, fewer when they do not fit ``budget`` tokens (``count`` is the model's
    tokenizer). The history always starts with a manager message, as chat templates expect.
    """
    style = style or default_persona_style()
    band = stress_band(state, style)
    facts = revealable_facts(state, scenario)
    persona = scenario.persona
    first = persona.words()["name"]
    counterpart = scenario.counterpart or style.default_counterpart
    system_text = load_prompt("persona.system").render(
        name=persona.name, role=persona.role, counterpart=counterpart, background=persona.background,
        wants=persona.wants, fears=persona.fears, speech_style=persona.speech_style, tone=band.tone,
        openness=openness(state, style), facts=facts_block(facts, style), opening_line=scenario.opening_line,
    )
    render_user = load_prompt("persona.user").render
    who = speaker(scenario, style)
    last = user(render_user(speaker=who, line=manager_line, name=first))
    earlier = _history(history, who, first, render_user, style.history_messages)
    total_before = len(earlier)
    fixed = count(system_text) + count(last.content) + 2 * MESSAGE_OVERHEAD + REPLY_OVERHEAD
    while earlier and fixed + sum(count(m.content) + MESSAGE_OVERHEAD for m in earlier) > budget:
        earlier.pop(0)
    while earlier and earlier[0].role != "user":
        earlier.pop(0)
    guard = make_guard(persona.name, system_text, manager_line, style,
                       allowed=(scenario.opening_line, *(f.fact for f in facts)))
    stop = (*style.stop, f"{who} says")
    said = tuple(t.text for t in history if t.role == "employee")
    return PersonaPrompt(messages=(system(system_text), *earlier, last), system_text=system_text, guard=guard,
                         stop=stop, band=band.band, dropped=total_before - len(earlier), said_before=said)


# --- the checked stream --------------------------------------------------------------------------

#: Where a sentence ends: closing punctuation (and quotes or brackets) before a space, or a newline.
_BOUNDARY = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*(?=\s)|\n")
_KEY = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class GateResult:
    """What one attempt produced: the text shown, and why it stopped early (if it did)."""

    shown: str
    failed: Verdict | None = None     # the check that stopped it
    repeated: bool = False            # the model started repeating a sentence
    cut: bool = False                 # a sentence cut at max_tokens was dropped
    enough: bool = False              # stopped after the most sentences a reply may have
    error: str | None = None          # the model failed mid-way


def _finish_reason(stream: object) -> str:
    try:
        return str(stream.completion.finish_reason)  # type: ignore[attr-defined]
    except (AttributeError, RuntimeError):
        return "stop"  # a plain iterator of pieces: it ended on its own


def sentence_keys(text: str) -> set[str]:
    """Normalised sentences of ``text`` (to spot a sentence said again)."""
    return {key for part in re.split(r"(?<=[.!?\u2026])\s+|\n", text) if (key := " ".join(_KEY.findall(part.lower())))}


def gate(pieces: Iterable[str], guard: ReplyGuard, said_before: Sequence[str] = ()) -> Generator[str, None, GateResult]:
    """Yield ``pieces`` a sentence at a time, each only after the text so far passed the checker.

    A sentence already said (in this reply or, from ``said_before``, in an earlier one) ends the
    reply, since small models loop; so does reaching ``guard.style.max_sentences``. Returns (as the
    generator's value) what was shown and why it stopped. Pure apart from consuming ``pieces``; a
    :class:`ModelError` while reading them ends the attempt, not the caller.
    """
    raw, done, shown, sentences = "", 0, "", 0
    seen: set[str] = set().union(*(sentence_keys(text) for text in said_before)) if said_before else set()

    def step(candidate: str) -> tuple[str | None, GateResult | None]:
        if not candidate.startswith(shown):  # cannot happen with clean_reply; end safely if it does
            return None, GateResult(shown)
        new = candidate[len(shown):]
        if not new.strip():
            return None, None
        key = " ".join(_KEY.findall(new.lower()))
        if key and key in seen:
            return None, GateResult(shown, repeated=True)
        verdict = check_reply(candidate, guard)
        if not verdict.ok:
            return None, GateResult(shown, failed=verdict)
        seen.add(key)
        return new, None

    try:
        for piece in pieces:
            raw += piece
            for match in _BOUNDARY.finditer(raw, done):
                if not balanced(raw[:match.end()]):
                    continue  # inside a stage direction: wait until it closes
                new, stop = step(clean_reply(raw[:match.end()], guard))
                if stop:
                    return stop
                done = match.end()
                if new:
                    shown += new
                    yield new
                    sentences += 1
                    if sentences >= guard.style.max_sentences:
                        return GateResult(shown, enough=True)
    except ModelError as exc:
        return GateResult(shown, error=str(exc))
    if raw[done:].strip():
        reason = _finish_reason(pieces)
        if reason == "length" and shown:
            return GateResult(shown, cut=True)
        candidate = clean_reply(raw if balanced(raw) else raw[:done], guard)
        if reason == "length":  # the only sentence was cut: show that it trails off
            candidate = candidate.rstrip(" ,;:-") + "\u2026"
        new, stop = step(candidate)
        if stop:
            return stop
        if new:
            shown += new
            yield new
    if not shown:
        return GateResult("", failed=check_reply("", guard))
    return GateResult(shown)


@dataclass(frozen=True)
class ReplyOutcome:
    """The reply the manager saw, where it came from, and what was rejected on the way."""

    text: str
    source: ReplySource
    problems: tuple[str, ...] = ()   # checker problems of rejected attempts or sentences
    notices: tuple[str, ...] = ()    # model failures, truncations
    attempts: int = 1

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"text": self.text, "source": self.source, "problems": list(self.problems),
                "notices": list(self.notices), "attempts": self.attempts}


def checked_reply(generate: Callable[[int], Iterable[str]], guard: ReplyGuard, fallback: str,
                  attempts: int = ATTEMPTS, said_before: Sequence[str] = ()) -> Generator[str, None, ReplyOutcome]:
    """Try ``generate(0)``, ``generate(1)``... through :func:`gate`; scripted ``fallback`` last.

    ``generate(n)`` returns the n-th attempt's pieces (a :class:`coach.llm.Stream` or any
    iterable); it is closed when the gate stops early, which frees the local model.
    """
    problems: list[str] = []
    notices: list[str] = []
    for attempt in range(attempts):
        try:
            pieces = generate(attempt)
        except ModelError as exc:
            notices.append(f"attempt {attempt + 1}: the model failed: {exc}")
            continue
        try:
            result = yield from gate(pieces, guard, said_before)
        finally:
            close = getattr(pieces, "close", None)
            if close:
                close()
        if result.failed:
            problems += [f"attempt {attempt + 1}: {p}" for p in result.failed.problems]
        if result.error:
            notices.append(f"attempt {attempt + 1}: the model failed: {result.error}")
        if result.repeated:
            notices.append(f"attempt {attempt + 1}: the model repeated a line it had already said")
        if result.cut:
            notices.append("a sentence cut at the token limit was left out")
        if result.shown:
            if result.failed:
                notices.append("the reply was ended before a sentence that broke character")
            return ReplyOutcome(text=result.shown, source="model" if attempt == 0 else "retry",
                                problems=tuple(problems), notices=tuple(notices), attempts=attempt + 1)
    yield fallback
    return ReplyOutcome(text=fallback, source="fallback", problems=tuple(problems), notices=tuple(notices),
                        attempts=attempts)


class PersonaReply(Iterator[str]):
    """The persona's reply, piece by piece; after the last piece :attr:`outcome` holds the result.

    ``on_done(outcome)`` runs once, when the reply is complete (the engine stores the turn there);
    its return value is kept in :attr:`record`. Closing the reply early runs nothing.
    """

    def __init__(self, pieces: Generator[str, None, ReplyOutcome],
                 on_done: Callable[[ReplyOutcome], object] | None = None, prompt: PersonaPrompt | None = None) -> None:
        self._pieces = pieces
        self._on_done = on_done
        self._outcome: ReplyOutcome | None = None
        self.record: object = None
        #: The prompt the reply was generated from (its guard re-checks any text; useful to inspect).
        self.prompt = prompt

    def __iter__(self) -> PersonaReply:
        return self

    def __next__(self) -> str:
        try:
            return next(self._pieces)
        except StopIteration as done:
            if self._outcome is None and done.value is not None:  # None: it was closed, nothing to store
                self._outcome = done.value
                if self._on_done is not None:
                    self.record = self._on_done(done.value)
            raise

    def finish(self) -> ReplyOutcome:
        """Read the rest of the reply and return the outcome."""
        for _ in self:
            pass
        return self.outcome

    def close(self) -> None:
        """Stop early (frees the model); nothing is stored."""
        self._pieces.close()

    @property
    def done(self) -> bool:
        """True once the reply is complete (and stored, for the engine's replies)."""
        return self._outcome is not None

    @property
    def outcome(self) -> ReplyOutcome:
        """The finished reply; only available once the pieces are exhausted."""
        if self._outcome is None:
            raise RuntimeError("the reply has not finished yet: iterate it to the end first")
        return self._outcome


@dataclass
class PersonaRequest:
    """Everything one reply needs (the engine builds it from the store)."""

    scenario: Scenario
    state: EmployeeState
    history: Sequence[TurnRecord]
    manager_line: str
    turn_number: int = 0
    style: PersonaStyle | None = None


def persona_reply(model: ChatModel, request: PersonaRequest, *, seed: int,
                  on_done: Callable[[ReplyOutcome], object] | None = None) -> PersonaReply:
    """Stream the persona's checked reply to ``request.manager_line`` from ``model``."""
    style = request.style or default_persona_style()
    budget = model.context_size - model.max_tokens
    prompt = build_prompt(request.scenario, request.state, request.history, request.manager_line,
                          count=model.count_tokens, budget=budget, style=style)
    stop = list(prompt.stop)

    def generate(attempt: int) -> Iterable[str]:
        return model.stream(prompt.messages, seed=seed + request.turn_number + attempt * _SEED_STEP, stop=stop)

    fallback = fallback_line(request.scenario, request.state, request.turn_number, style)
    return PersonaReply(checked_reply(generate, prompt.guard, fallback, said_before=prompt.said_before),
                        on_done=on_done, prompt=prompt)
