"""Targets over the product: the rewriter, the rehearsal persona and the per-turn coaching.

Each drives the real code path a user gets (``coach.rewrite``, :class:`coach.rehearsal.engine.Rehearsal`)
with the run's cached coach model, in a throwaway session database, and returns what the user
would see plus the structured facts the assertions check (unlocked facts, cited principles).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from evals.cache import ModelUnreachable
from evals.model import Case, Output
from evals.targets import SolveContext, retrieval_store

DEFAULT_SCENARIO = "credit-dispute"


def _turns(case: Case) -> list[str]:
    """Manager lines of a case: ``input.turns`` (a list), ``input.text`` or the input string."""
    if isinstance(case.input, str):
        return [case.input]
    if isinstance(case.input, Mapping):
        turns = case.input.get("turns")
        if isinstance(turns, list) and turns and all(isinstance(t, str) for t in turns):
            return list(turns)
        if isinstance(case.input.get("text"), str):
            return [*case.input.get("before", []), case.input["text"]]
    raise ValueError(f"case {case.id!r}: input needs 'turns' (a list of manager lines) or 'text'")


def _scenario(case: Case) -> str:
    value = case.input.get("scenario", DEFAULT_SCENARIO) if isinstance(case.input, Mapping) else DEFAULT_SCENARIO
    return str(value)


@contextmanager
def _session(ctx: SolveContext, case: Case, **kwargs: Any) -> Iterator[Any]:
    """A rehearsal of the case's scenario in a private, temporary session database."""
    from coach.rehearsal.engine import Rehearsal
    from coach.store import Store

    folder = Path(tempfile.mkdtemp(prefix="coach-eval-"))
    store = Store(folder / "coach.db")
    try:
        yield Rehearsal.start(_scenario(case), settings=ctx.settings, store=store, **kwargs)
    finally:
        store.close()
        shutil.rmtree(folder, ignore_errors=True)


def persona(case: Case, ctx: SolveContext) -> Output:
    """Say each manager line and collect the persona's checked replies (text = all replies)."""
    replies, sources = [], []

    def no_cards(query: str, k: int, applies_to: str) -> list[tuple[str, float]]:
        return []  # persona cases judge the reply; related cards would only cost time

    model = ctx.coach_model()
    with _session(ctx, case, model=model, searcher=no_cards) as rehearsal:
        for line in _turns(case):
            rehearsal.coach_turn(line)
            outcome = rehearsal.persona_reply().finish()
            if outcome.source == "fallback":
                _no_hidden_model_failure(model)
            replies.append(outcome.text)
            sources.append(outcome.source)
        state = rehearsal.state
    data = {"replies": replies, "sources": sources, "unlocked": list(state.unlocked), "trust": state.trust,
            "stress": state.stress, "listening_moves": state.listening_moves}
    return Output(text="\n".join(replies), data=data)


def coaching(case: Case, ctx: SolveContext) -> Output:
    """The coaching shown after the case's last manager line (earlier lines set the context).

    ``principles`` lists the cited ids in the order a manager reads them: the "try instead" line's
    principle, then the cards (cited before searched), then the notes.
    """
    from coach.rehearsal.engine import card_searcher

    store_settings = ctx.shared("retrieval-store", lambda: retrieval_store(ctx))
    with _session(ctx, case, searcher=card_searcher(store_settings)) as rehearsal:
        result = None
        for line in _turns(case):
            result = rehearsal.coach_turn(line)
    assert result is not None
    ordered = [result.try_instead.principle] if result.try_instead.principle else []
    ordered += [c.id for c in result.cards] + [n.principle for n in result.notes]
    lines = [f"try instead: {result.try_instead.text}",
             *(f"card: {c.id} ({c.reason})" for c in result.cards),
             *(f"note: {n.text()} [{n.principle}]" for n in result.notes),
             *(f"state: {c}" for c in result.change_notes())]
    data = {"try_instead": {"text": result.try_instead.text, "principle": result.try_instead.principle,
                            "source": result.try_instead.source},
            "cards": [c.id for c in result.cards], "notes": [n.principle for n in result.notes],
            "trust": result.after.trust, "stress": result.after.stress}
    return Output(text="\n".join(lines), data=data, findings=result.findings,
                  principles=tuple(dict.fromkeys(ordered)))


def rewrite(case: Case, ctx: SolveContext) -> Output:
    """The rewriter's verified result for a draft; ``data`` holds its path, checklist and cards."""
    from coach.rewrite import rewrite as run_rewrite

    model = ctx.coach_model()
    result = run_rewrite(case.input_text(), settings=ctx.settings, model=model)
    if result.path in ("fallback", "unchanged"):
        _no_hidden_model_failure(model)
    return Output(text=result.text, data=result.to_dict(), principles=tuple(c.id for c in result.cards),
                  notices=tuple(result.notices))


def _no_hidden_model_failure(model: Any) -> None:
    """Raise when a scripted fallback covered an unreachable model: an eval must not score that as a pass.

    A fallback after a bad answer (empty, off-topic) is the product working as designed and is judged
    like any other output; only a model that could not be reached makes the case errored.
    """
    down = [f for f in getattr(model, "failures", ()) if isinstance(f, ModelUnreachable)]
    if down:
        raise ModelUnreachable(f"the model could not be reached and a scripted fallback answered instead: {down[-1]}")
