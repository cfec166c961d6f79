"""Draft advice -> verified first-person rewrite: segment, retrieve, generate, verify, repair, fall back.

:func:`rewrite_stream` is the one implementation (a generator of :class:`RewriteEvent`);
:func:`rewrite` drains it and returns the final :class:`RewriteResult`. Nothing unverified is ever
returned: when the model's pieces fail, the deterministic fallback replaces them, and when even the
assembled fallback fails a check, quoted pieces replace it; if that failed too we would raise rather
than show an unverified text (tests run the fallback on every draft of the eval set).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from coach.analyzer.model import AnalysisContext
from coach.analyzer.rules import RuleSet, rules_for
from coach.config import Settings, get_settings
from coach.errors import CoachError, ModelError, UsageError
from coach.llm import ChatModel, get_chat_model
from coach.rewrite.config import RewriteConfig, load_config, pick
from coach.rewrite.fallback import fallback_piece, quoted_piece
from coach.rewrite.generate import (
    Attempt, max_tokens_for, prompt_text, repair_messages, story_messages, stream_attempt,
)
from coach.rewrite.retrieve import cards_for
from coach.rewrite.segment import Advice, Segmented, context_licenses_advice, segment
from coach.rewrite.types import CardRef, Check, Piece, Problem, RewriteEvent, RewriteResult
from coach.rewrite.verify import Span, check_piece, verify_rewrite

_I_START = ("I ", "I'", "I\u2019")


def validate_draft(draft: object, settings: Settings) -> tuple[str, list[str]]:
    """The draft to rewrite and notices; raises :class:`UsageError` on unusable input."""
    if not isinstance(draft, str):
        raise UsageError(f"the draft must be text, not {type(draft).__name__}")
    if not draft:
        raise UsageError("nothing to rewrite: the draft is empty")
    if draft.isspace():
        raise UsageError("nothing to rewrite: the draft contains only whitespace")
    if len(draft) > settings.max_draft_chars:
        raise UsageError(
            f"the draft has {len(draft):,} characters, over the limit of {settings.max_draft_chars:,} "
            "(COACH_MAX_DRAFT_CHARS); shorten it or rewrite it in parts"
        )
    if "\x00" in draft:
        raise UsageError("the draft contains NUL characters; rewrite takes plain text")
    clean = draft.encode("utf-8", "replace").decode("utf-8")
    notices = [] if clean == draft else ["characters that are not valid Unicode were replaced with '?'"]
    return clean, notices


@dataclass
class _Run:
    """State of one rewrite while it streams."""

    draft: str
    settings: Settings
    config: RewriteConfig
    rules: RuleSet
    seg: Segmented
    cards: list[CardRef]
    instructions: str
    licensed: bool
    notices: list[str] = field(default_factory=list)
    model: ChatModel | None = None
    model_error: ModelError | None = None


def _with_address(address: str, text: str) -> str:
    if not address or not text:
        return text
    first = text.split(" ", 1)[0]
    if first in ("I", "I'm", "I've", "I'd") or first.startswith(("I'", "I\u2019")):
        return address + text
    return address + text[:1].lower() + text[1:]


def _piece_from_model(run: _Run, advice: Advice, position: int) -> Iterator[RewriteEvent | Piece]:
    """Attempts with the model for one piece; yields events, and finally the accepted Piece (if any)."""
    assert run.model is not None
    prompts_dir = run.settings.prompts_dir
    base = story_messages(advice.content, run.cards, prompts_dir)
    messages = base
    max_tokens = max_tokens_for(run.model, advice.content, run.config)
    failures: list[str] = []
    for attempt in range(1, run.config.attempts + 1):
        # A new seed per attempt (and per piece), reproducible for a given settings.seed.
        seed = run.settings.seed + 7919 * (attempt - 1) + 104729 * position
        stream = stream_attempt(run.model, messages, max_tokens, seed, run.config)
        try:
            while True:
                try:
                    token = next(stream)
                except StopIteration as done:
                    answer: Attempt = done.value
                    break
                yield RewriteEvent("token", piece=advice.index, attempt=attempt, text=token)
        except ModelError as exc:
            run.model_error = exc
            return
        finally:
            # A consumer that stops reading mid-answer must not keep the local model locked.
            stream.close()
        sentence = answer.sentence
        leads = run.config.leads_first if position == 0 else run.config.leads_next
        text = pick(leads, run.draft, advice.index, "lead") + sentence if sentence.startswith(_I_START) else sentence
        problems, score = check_piece(advice, text, sentence, sentence, run.config, run.rules, run.instructions, run.draft)
        if not answer.finished:
            problems.append(Problem("length_ok", "the answer was cut off before the end of the sentence"))
        if not problems:
            yield Piece(
                index=advice.index, original=advice.sentence, content=advice.content, text=text, carried=sentence,
                path="model" if attempt == 1 else "model-repaired", attempts=attempt, similarity=round(score, 4),
                specifics=advice.specifics, failures=tuple(failures),
            )
            return
        reasons = tuple(dict.fromkeys(p.message for p in problems))
        failures.append(f"attempt {attempt}: {'; '.join(reasons)}")
        yield RewriteEvent("attempt_failed", piece=advice.index, attempt=attempt, text=sentence, reasons=reasons)
        if attempt <= len(run.config.repairs) and run.config.repairs[attempt - 1] == "feedback":
            messages = repair_messages(base, answer.raw.strip(), problems, advice.content, prompts_dir)
        else:
            messages = base


def _fallback(run: _Run, advice: Advice, position: int, attempts: int, failures: tuple[str, ...],
              quoted: bool = False) -> tuple[Piece, list[Problem]]:
    """The deterministic piece (quoted form when asked, or when the templated one fails a check)."""
    text, carried = quoted_piece(advice, run.config) if quoted else fallback_piece(advice, run.config, run.draft, position)
    problems, score = check_piece(advice, text, carried, text, run.config, run.rules, run.instructions, run.draft,
                                  quoted=quoted)
    if problems and not quoted:
        return _fallback(run, advice, position, attempts, failures, quoted=True)
    piece = Piece(
        index=advice.index, original=advice.sentence, content=advice.content, text=text, carried=carried,
        path="fallback", attempts=attempts, similarity=round(score, 4), specifics=advice.specifics, failures=failures,
    )
    return piece, problems


def _assemble(run: _Run, pieces: dict[int, Piece]) -> tuple[str, list[Span]]:
    """The draft with advice sentences replaced, the opener before the first and the hand-back after the last."""
    seg, text = run.seg, run.draft
    opener = None if seg.permission_before_advice else pick(
        run.config.openers_many if len(seg.pieces) > 1 else run.config.openers_one, run.draft, "opener")
    handback = None if seg.handback_after_advice else pick(run.config.handbacks, run.draft, "handback")
    out, spans, cursor = "", [], 0
    if not seg.advice:
        if seg.story_start is None or seg.story_end is None:
            return text, []
        out = text[:seg.story_start]
        if opener:
            spans.append(Span("opener", len(out), len(out) + len(opener)))
            out += opener + " "
        start = len(out)
        # The story often runs on past its last marked sentence ("Now I brief them a week ahead."),
        # so the hand-back goes at the end of the draft.
        out += text[seg.story_start:].rstrip()
        spans.append(Span("story", start, len(out)))
        if handback:
            out += " "
            spans.append(Span("handback", len(out), len(out) + len(handback)))
            out += handback
        return out + text[len(text.rstrip()):], spans
    for n, advice in enumerate(seg.advice):
        out += text[cursor:advice.start]
        cursor = advice.end
        parts: list[tuple[str, str, int]] = []
        if n == 0 and opener:
            parts.append(("opener", opener, -1))
        piece = pieces.get(advice.index)
        if piece is not None:
            parts.append(("piece", _with_address(advice.address, piece.text), advice.index))
        if n == len(seg.advice) - 1 and handback and pieces:
            parts.append(("handback", handback, -1))
        if not parts:
            # A bare announcement ("Let me give you some advice.") goes, with the space after it.
            while cursor < len(text) and text[cursor].isspace():
                cursor += 1
            continue
        for k, (role, part, index) in enumerate(parts):
            out += " " if k else ""
            spans.append(Span(role, len(out), len(out) + len(part), index))
            out += part
    out += text[cursor:]
    trailing = text[len(text.rstrip()):]
    return out.rstrip() + trailing, spans


def _verify(run: _Run, pieces: dict[int, Piece], problems: dict[int, list[Problem]]) -> tuple[str, list[Check]]:
    text, spans = _assemble(run, pieces)
    checks = verify_rewrite(
        text, run.seg, spans, problems, {i: p.similarity for i, p in pieces.items()}, run.licensed,
        run.config, run.rules, run.instructions,
    )
    return text, checks


def _overall_path(run: _Run, pieces: dict[int, Piece]) -> str:
    if not pieces:
        return "fallback" if run.seg.advice else "unchanged"
    paths = {p.path for p in pieces.values()}
    for path in ("fallback", "model-repaired"):
        if path in paths:
            return path
    return "model"


def rewrite_stream(
    draft: str,
    settings: Settings | None = None,
    context: AnalysisContext | None = None,
    model: ChatModel | None = None,
    use_model: bool = True,
) -> Iterator[RewriteEvent]:
    """Rewrite ``draft``, yielding events as it goes; the last event is ``result`` (see RewriteEvent).

    ``context`` says whether permission was asked earlier in a conversation; ``model`` overrides the
    chat model of ``settings`` (tests, evals); ``use_model=False`` gives the deterministic rewrite
    only (instant, no model loaded). Raises :class:`UsageError` for an empty, whitespace-only
    or over-long draft (limit: COACH_MAX_DRAFT_CHARS) when iteration starts (this is a generator: call
    :func:`validate_draft` first for an immediate check). A model failure is never an error: the
    deterministic rewrite is used and a ``notice`` event says so.
    """
    started = time.perf_counter()
    settings = settings or get_settings()
    draft, notices = validate_draft(draft, settings)
    rules = rules_for(settings.knowledge_dir)
    config = load_config(settings.knowledge_dir)
    context = context or AnalysisContext()
    seg = segment(draft, rules, config, context)
    cards, card_notices = cards_for(seg, settings)
    run = _Run(draft=draft, settings=settings, config=config, rules=rules, seg=seg, cards=cards,
               instructions=prompt_text(cards, settings.prompts_dir),
               licensed=context_licenses_advice(context, rules), notices=notices + card_notices)
    for notice in run.notices:
        yield RewriteEvent("notice", text=notice)
    yield RewriteEvent("start", pieces=len(seg.pieces), cards=tuple(cards))
    pieces: dict[int, Piece] = {}
    problems: dict[int, list[Problem]] = {}
    used_before = (0, 0)
    if seg.pieces and use_model:
        try:
            run.model = model or get_chat_model(settings)
            used_before = (run.model.usage.prompt_tokens, run.model.usage.completion_tokens)
        except ModelError as exc:
            run.model_error = exc
    for position, advice in enumerate(seg.pieces):
        accepted: Piece | None = None
        failures: tuple[str, ...] = ()
        attempts = 0
        if run.model is not None and run.model_error is None:
            for item in _piece_from_model(run, advice, position):
                if isinstance(item, Piece):
                    accepted = item
                else:
                    if item.type == "attempt_failed":
                        attempts = item.attempt
                        failures += (f"attempt {item.attempt}: {'; '.join(item.reasons)}",)
                    yield item
            if run.model_error is not None:
                notice = (f"the model is unavailable ({run.model_error}); "
                          "used the deterministic rewrite (analyzer fixes + story templates)")
                run.notices.append(notice)
                yield RewriteEvent("notice", text=notice)
        elif run.model_error is not None and position == 0:
            notice = f"the model is unavailable ({run.model_error}); used the deterministic rewrite"
            run.notices.append(notice)
            yield RewriteEvent("notice", text=notice)
        if accepted is None:
            accepted, problems[advice.index] = _fallback(run, advice, position, attempts, failures)
        else:
            problems[advice.index] = []
        pieces[advice.index] = accepted
        yield RewriteEvent("piece_done", piece=advice.index, text=accepted.text, path=accepted.path)
    text, checks = _verify(run, pieces, problems)
    if not all(c.passed for c in checks) and pieces:
        failed = ", ".join(c.label for c in checks if not c.passed)
        run.notices.append(f"the assembled rewrite failed verification ({failed}); used the deterministic rewrite")
        for quoted in (False, True):
            for position, advice in enumerate(seg.pieces):
                old = pieces[advice.index]
                pieces[advice.index], problems[advice.index] = _fallback(
                    run, advice, position, old.attempts, old.failures, quoted=quoted)
            text, checks = _verify(run, pieces, problems)
            if all(c.passed for c in checks):
                break
    if not all(c.passed for c in checks):
        failed = "; ".join(f"{c.label}: {c.detail}" for c in checks if not c.passed)
        raise CoachError(f"could not produce a verified rewrite of this draft ({failed}); please report it")
    if not seg.advice:
        run.notices.append(_unchanged_notice(seg, text, draft))
    run.notices.extend(_kept_judgmental(seg))
    result = RewriteResult(
        draft=draft, text=text, path=_overall_path(run, pieces), pieces=[pieces[i] for i in sorted(pieces)],
        checklist=checks, cards=cards, notices=run.notices,
        model=f"{run.model.provider}:{run.model.model}" if run.model is not None else "",
        seconds=time.perf_counter() - started,
    )
    if run.model is not None:
        # The ledger belongs to the model object, which callers may share between rewrites.
        result.prompt_tokens = run.model.usage.prompt_tokens - used_before[0]
        result.completion_tokens = run.model.usage.completion_tokens - used_before[1]
    yield RewriteEvent("result", result=result)


def _unchanged_notice(seg: Segmented, text: str, draft: str) -> str:
    if seg.story_start is None:
        return "found no advice to rewrite: the draft is returned as it is"
    if text == draft:
        return "the advice already asks permission, speaks from experience and gives no orders: kept as it is"
    return "your story is kept word for word; added a permission question and a hand-back line around it"


def _kept_judgmental(seg: Segmented) -> list[str]:
    """Notices for judgmental wording in text the rewrite keeps verbatim (it is not advice)."""
    notices = []
    for f in seg.findings:
        inside_advice = any(a.start <= f.offset < a.end for a in seg.advice)
        if f.kind == "judgmental" and not inside_advice:
            notices.append(f'kept as you wrote it, but "{f.text.strip()}" reads as judgmental ({f.principle}); '
                           "`coach critique` suggests what to say instead")
    return notices


def rewrite(
    draft: str,
    settings: Settings | None = None,
    context: AnalysisContext | None = None,
    model: ChatModel | None = None,
    use_model: bool = True,
) -> RewriteResult:
    """Rewrite ``draft`` and return the verified result (see :func:`rewrite_stream`)."""
    result: RewriteResult | None = None
    for event in rewrite_stream(draft, settings, context, model, use_model):
        if event.type == "result":
            result = event.result
    assert result is not None  # rewrite_stream always ends with a result or raises
    return result
