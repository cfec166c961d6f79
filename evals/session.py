"""One ``coach eval`` run from request to report: load cases and config, run, summarise, gate, compare.

The CLI (:mod:`coach.commands.eval`) parses arguments into an :class:`EvalRequest` and prints; the
pytest plugin and the benchmark call the same functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.analyzer.yamlsrc import RuleFileError
from coach.config import PROJECT_ROOT, Settings
from coach.errors import UsageError
from evals.baseline import Comparison, compare, load_baseline
from evals.cache import model_identity
from evals.cases import load_cases, suites_of
from evals.model import Case
from evals.report import build_report, case_dict, exit_code
from evals.results import CaseResult, summarise
from evals.runner import Runner, RunOptions, RunResult
from evals.stats import parse_pass_rule
from evals.targets import knowledge_ids
from evals.thresholds import EvalConfig, check_gates, load_config

DEFAULT_SUITES = PROJECT_ROOT / "evals" / "suites"
DEFAULT_CONFIG = PROJECT_ROOT / "evals" / "thresholds.yaml"


@dataclass
class EvalRequest:
    """What the user asked for; ``None`` means "take it from the config file"."""

    paths: Sequence[Path] = (DEFAULT_SUITES,)
    suites: Sequence[str] = ()
    config_path: Path = DEFAULT_CONFIG
    repeat: int | None = None
    pass_rule: str | None = None
    jobs: int | None = None
    use_cache: bool = True
    max_cost_usd: float | None = None
    baseline: Path | None = None
    rubric_gating: bool | None = None
    options_shown: dict[str, Any] = field(default_factory=dict)


@dataclass
class Prepared:
    """Everything resolved before the first case runs."""

    cases: list[Case]
    config: EvalConfig
    options: RunOptions
    settings: Settings
    models: dict[str, dict[str, str]]
    notices: list[str]
    baseline: dict[str, Any] | None


def grader_is_bundled(settings: Settings) -> bool:
    """True when the grader is the bundled SmolLM2 (then rubric verdicts do not gate unless asked)."""
    from coach.llm import resolve

    provider, model = resolve(settings, "grader")
    return provider == "local" and model is None


def select(cases: list[Case], suites: Sequence[str]) -> list[Case]:
    """Cases of the named suites; an unknown name is a usage error listing the known ones."""
    if not suites:
        return cases
    known = suites_of(cases)
    unknown = [s for s in suites if s not in known]
    if unknown:
        raise UsageError(f"unknown suite {unknown[0]!r}; suites in these files: {', '.join(known)}")
    return [c for c in cases if c.suite in suites]


def prepare(request: EvalRequest, settings: Settings) -> Prepared:
    """Load and validate everything; raises :class:`UsageError` (exit 2) on any problem."""
    config = load_config(Path(request.config_path))
    try:
        ids = knowledge_ids(settings.knowledge_dir)
    except RuleFileError as exc:
        raise UsageError(str(exc)) from exc
    cases = select(load_cases([Path(p) for p in request.paths], ids), request.suites)
    repeat = request.repeat or config.repeat
    if repeat < 1:
        raise UsageError("--repeat must be at least 1")
    try:
        pass_rule = parse_pass_rule(request.pass_rule or config.pass_rule, repeat)
        for case in cases:
            if case.pass_rule:
                parse_pass_rule(case.pass_rule, repeat)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    jobs = request.jobs or config.jobs
    if jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if config.max_tokens:
        settings = settings.model_copy(update={"max_tokens": config.max_tokens})
    bundled = grader_is_bundled(settings)
    if request.rubric_gating is not None:
        rubric_gating = request.rubric_gating
    else:
        rubric_gating = {"true": True, "false": False}.get(config.rubric_gating, not bundled)
    notices = []
    if bundled and not rubric_gating and any(s.type == "rubric" for c in cases for s in c.expect):
        notices.append("model-graded (rubric) verdicts come from the bundled local grader (SmolLM2-135M): they are "
                       "reported apart and do not gate; set COACH_GRADER_PROVIDER/COACH_GRADER_MODEL to a stronger model "
                       "and check it with `coach eval --calibrate`")
    max_cost = request.max_cost_usd if request.max_cost_usd is not None else settings.eval_max_cost_usd
    options = RunOptions(repeat=repeat, pass_rule=pass_rule, jobs=jobs, use_cache=request.use_cache,
                         max_cost_usd=max_cost, rubric_gating=rubric_gating)
    models = {}
    for role in ("coach", "grader"):
        provider, model, _ = model_identity(settings, role)  # type: ignore[arg-type]
        models[role] = {"provider": provider, "model": model}
    baseline = load_baseline(Path(request.baseline)) if request.baseline else None
    return Prepared(cases, config, options, settings, models, notices, baseline)


def execute(prepared: Prepared, request: EvalRequest,
            on_case: Callable[[CaseResult], None] | None = None) -> tuple[dict[str, Any], RunResult]:
    """Run the prepared cases and build the report (whatever happened: errors, budget, Ctrl-C)."""
    prepared.options.on_case = on_case
    run = Runner(prepared.settings, prepared.options).run(prepared.cases)
    rubric_gating = prepared.options.rubric_gating
    summaries = {name: summarise(name, [r for r in run.results if r.case.suite == name], rubric_gating)
                 for name in suites_of(prepared.cases)}
    gates = check_gates(prepared.config, summaries, rubric_gating)
    cases = [case_dict(r) for r in run.results]
    comparison: Comparison | None = None
    if prepared.baseline is not None:
        comparison = compare(prepared.baseline, str(request.baseline), summaries, cases)
    gating_suites = {name for name in summaries if prepared.config.gate_for(name).gating}
    code = exit_code(run, summaries, gates, comparison, gating_suites)
    options = {"repeat": prepared.options.repeat, "pass_rule": prepared.options.pass_rule, "jobs": prepared.options.jobs,
               "cache": prepared.options.use_cache, "max_cost_usd": prepared.options.max_cost_usd,
               "rubric_gating": rubric_gating, "config": str(prepared.config.path),
               "paths": [str(p) for p in request.paths], "suites": list(request.suites), **request.options_shown}
    notices = list(prepared.notices)
    if run.guard.unpriced:
        notices.append(f"cost unknown for {', '.join(sorted(run.guard.unpriced))}: the cost ceiling cannot count these "
                       "calls (add the model to coach/data/prices.yaml)")
    report = build_report(run, summaries, gates, comparison, code, options, prepared.models, notices)
    return report, run
