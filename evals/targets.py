"""Targets (solvers): what turns a case's input into the output its assertions judge.

``retrieval`` -> :func:`coach.knowledge.search` on a private store synced from the knowledge folder;
``analyzer`` -> :func:`coach.analyzer.find_spans`; ``annomi`` -> the analyzer's accuracy on AnnoMI's
test split (skipped with the reason when the data is absent); ``chat`` -> one call to the coach model
(a prompt file or literal messages); ``static`` -> the input *is* the output (recorded outputs, e.g.
from production logs); ``rewrite``, ``persona``, ``coaching`` -> the rewriter and the rehearsal engine
(:mod:`evals.product_targets`), imported lazily so a build without them reports "target not available".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from coach.config import Settings
from coach.llm import ChatModel
from evals.model import Case, Output

T = TypeVar("T")


class TargetUnavailable(Exception):
    """The code a target evaluates is not in this build (its cases are errored, not failed)."""


class TargetSkipped(Exception):
    """A target cannot run here for a reason that is not a failure (e.g. optional data missing)."""


class SolveContext(Protocol):
    """What a target may use: settings, the (cached) coach model for this attempt, run-wide memos."""

    settings: Settings
    repeat: int

    def coach_model(self) -> ChatModel:
        """The coach model for this attempt (cached, counted, guarded)."""
        ...

    def shared(self, name: str, build: Callable[[], T]) -> T:
        """A value built once per run (under a lock) and shared by every attempt."""
        ...


Solve = Callable[[Case, SolveContext], Output]


@dataclass(frozen=True)
class Target:
    """A registered target. ``requires`` (module, attribute) must import for it to run (checked once per run)."""

    name: str
    description: str
    solve: Solve
    uses_model: bool = False
    requires: tuple[str, str] | None = None

    def unavailable(self) -> str | None:
        """Why this target cannot run in this build, or None."""
        if self.requires is None:
            return None
        module, attribute = self.requires
        try:
            loaded = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
                return f"target not available: {module} is not in this build"
            return f"target not available: importing {module} failed: {exc}"
        except Exception as exc:  # noqa: BLE001 - a broken module is reported, not raised
            return f"target not available: importing {module} failed: {type(exc).__name__}: {exc}"
        if not hasattr(loaded, attribute):
            return f"target not available: {module} has no {attribute} yet"
        return None


TARGETS: dict[str, Target] = {}


def register(target: Target) -> Target:
    """Add ``target`` to the registry (teams may register their own before running)."""
    TARGETS[target.name] = target
    return target


def _field(case: Case, key: str, kinds: type | tuple[type, ...], default: Any = None) -> Any:
    value = case.input.get(key, default) if isinstance(case.input, Mapping) else default
    if value is not None and not isinstance(value, kinds):
        raise ValueError(f"case {case.id!r}: input field {key!r} has the wrong type ({type(value).__name__})")
    return value


# --- retrieval -------------------------------------------------------------------------------------

def retrieval_store(ctx: SolveContext) -> Settings:
    """A private store synced from ``settings.knowledge_dir``, so the eval measures the cards on disk.

    One store per knowledge folder (keyed by its resolved path): chunk ids carry the file path, so
    syncing a second checkout into the same store would add every card twice and skew the ranking
    (it once cost the retrieval suite 7 of 132 cases on a machine with two clones).
    """
    import hashlib

    from coach.knowledge import ingest

    base = ctx.settings
    folder = base.knowledge_dir.resolve()
    key = hashlib.sha256(str(folder).encode("utf-8")).hexdigest()[:12]
    private = base.model_copy(update={"home": base.cache_dir / "retrieval-store" / key, "chroma_host": None})
    ingest([folder], private)
    return private


def _retrieval(case: Case, ctx: SolveContext) -> Output:
    from coach.knowledge import search

    settings = ctx.shared("retrieval-store", lambda: retrieval_store(ctx))
    query = case.input_text()
    role = _field(case, "role", str)
    response = search(query, settings, k=10, applies_to=role)
    ranked = tuple(r.id for r in response.results)
    lines = [f"{n}. {r.id}  ({r.title}, score {r.score:.2f})" for n, r in enumerate(response.results, 1)]
    return Output(text="\n".join(lines), data=[r.to_dict() for r in response.results], ranked=ranked,
                  principles=ranked, notices=tuple(response.notices))


# --- analyzer --------------------------------------------------------------------------------------

def _analyzer(case: Case, ctx: SolveContext) -> Output:
    from coach.analyzer import find_spans
    from coach.analyzer.model import AnalysisContext

    text = case.input_text()
    turns = _field(case, "previous_manager_turns", list, [])
    context = AnalysisContext(
        prev_client_text=_field(case, "prev_client_text", str, ""),
        permission_asked=bool(_field(case, "permission_asked", bool, False)),
        previous_manager_turns=tuple(str(t) for t in turns),
    )
    findings = tuple(find_spans(text, context))
    lines = [f"{f.line}:{f.column} {f.level} {f.rule} [{f.kind}, {f.principle}] {f.text!r}" for f in findings]
    return Output(text="\n".join(lines) or "(no findings)", data=[f.to_dict() for f in findings], findings=findings,
                  principles=tuple(dict.fromkeys(f.principle for f in findings)))


def _annomi(case: Case, ctx: SolveContext) -> Output:
    from evals.annomi_target import annomi_metrics

    folder = _field(case, "annomi_dir", str)
    metrics = ctx.shared(f"annomi-metrics:{folder}", lambda: annomi_metrics(ctx.settings, folder))
    name = str(_field(case, "metric", str) or case.input_text())
    value = metrics.get(name)
    shown = f"{name} = {value:.4f}" if isinstance(value, (int, float)) else f"{name}: not reported"
    return Output(text=shown, data=metrics)


# --- generic ---------------------------------------------------------------------------------------

def _static(case: Case, ctx: SolveContext) -> Output:
    if isinstance(case.input, Mapping) and "output" in case.input:
        return Output(text=str(case.input["output"]), data=case.input.get("data"))
    if not isinstance(case.input, str):
        raise ValueError(f"case {case.id!r}: a static case's input is the output text, or a mapping with 'output'")
    return Output(text=case.input)


def _chat(case: Case, ctx: SolveContext) -> Output:
    from coach.llm import system, user
    from coach.prompts import chat_messages

    if isinstance(case.input, str):
        messages = [user(case.input)]
    elif isinstance(case.input, Mapping) and "prompt" in case.input:
        messages = chat_messages(str(case.input["prompt"]), **dict(_field(case, "variables", dict, {})))
    elif isinstance(case.input, Mapping) and "user" in case.input:
        messages = ([system(str(case.input["system"]))] if "system" in case.input else []) + [user(str(case.input["user"]))]
    else:
        raise ValueError(f"case {case.id!r}: chat input is text, {{prompt, variables}} or {{system, user}}")
    done = ctx.coach_model().complete(messages, max_tokens=_field(case, "max_tokens", int),
                                      temperature=_field(case, "temperature", (int, float)))
    return Output(text=done.text, notices=done.notices)


register(Target("retrieval", "knowledge search; output = ranked card ids", _retrieval))
register(Target("analyzer", "analyzer rules (find_spans); output = findings", _analyzer))
register(Target("annomi", "analyzer accuracy on AnnoMI's test split; input = metric name", _annomi))
register(Target("static", "the input is the output (check recorded outputs)", _static))
register(Target("chat", "one coach-model call: text, {prompt, variables} or {system, user}", _chat, uses_model=True))


def _product(name: str) -> Solve:
    def solve(case: Case, ctx: SolveContext) -> Output:
        from evals import product_targets

        return getattr(product_targets, name)(case, ctx)
    return solve


register(Target("rewrite", "the verified advice rewriter (coach.rewrite)", _product("rewrite"), True,
                ("coach.rewrite", "rewrite")))
register(Target("persona", "the rehearsal persona's checked replies (coach.rehearsal.engine)", _product("persona"), True,
                ("coach.rehearsal.engine", "Rehearsal")))
register(Target("coaching", "per-turn coaching of the rehearsal engine (no model)", _product("coaching"), False,
                ("coach.rehearsal.engine", "Rehearsal")))


def knowledge_ids(knowledge_dir: Path) -> frozenset[str]:
    """Principle card ids of a knowledge folder (the analyzer's reader of IDS.txt)."""
    from coach.analyzer.rules import read_principle_ids

    return read_principle_ids(knowledge_dir)

