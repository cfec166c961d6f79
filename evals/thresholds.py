"""The eval config file (``evals/thresholds.yaml``): run defaults, rubric gating, thresholds per suite and metric.

::

    run: {repeat: 1, pass_rule: all, jobs: 2, max_tokens: 96}
    rubric: {gating: auto}          # auto: gating unless the grader is the bundled local model
    default_suite: {min: {pass_rate: 1.0}}
    suites:
      analyzer: {min: {pass_rate: 0.9}}
      retrieval: {min: {pass_rate: 0.85, score.retrieved: 0.7}}
      mysuite: {gating: false}

Metrics: ``cases``, ``errors``, ``pass_rate``, ``pass_rate_low`` (Wilson 95% lower bound),
``attempt_pass_rate``, ``rubric_pass_rate``, ``score.<assertion type>`` (mean score, e.g.
``score.similar``). Every error names the file, line and field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.analyzer.yamlsrc import LineDict, RuleFileError, load_yaml
from coach.errors import UsageError
from evals.assertions import TYPES
from evals.results import SuiteSummary
from evals.stats import parse_pass_rule

BASE_METRICS = ("cases", "errors", "pass_rate", "pass_rate_low", "attempt_pass_rate", "rubric_pass_rate")
_SCORE = re.compile(r"^score\.([a-z-]+)$")


class ConfigError(UsageError):
    """The eval config file is invalid (exit code 2)."""


@dataclass(frozen=True)
class SuiteGate:
    """Thresholds of one suite."""

    gating: bool = True
    min: Mapping[str, float] = field(default_factory=dict)
    max: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class EvalConfig:
    """Everything in the config file."""

    repeat: int = 1
    pass_rule: str = "all"
    jobs: int = 1
    max_tokens: int | None = None
    rubric_gating: str = "auto"  # auto / true / false
    default_suite: SuiteGate = field(default_factory=SuiteGate)
    suites: Mapping[str, SuiteGate] = field(default_factory=dict)
    path: Path | None = None

    def gate_for(self, suite: str) -> SuiteGate:
        """The thresholds of ``suite`` (the default ones when it is not listed)."""
        return self.suites.get(suite, self.default_suite)


@dataclass(frozen=True)
class GateResult:
    """One threshold checked against a run."""

    suite: str
    metric: str
    op: str  # ">=" or "<="
    threshold: float
    actual: float | None
    ok: bool
    gating: bool
    note: str = ""

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return self.__dict__.copy()


def _fail(path: Path, data: Any, key: str | None, message: str) -> ConfigError:
    line = data.line_of(key) if isinstance(data, LineDict) and key else getattr(data, "line", 1)
    return ConfigError(f"{path}:{line}: {message}")


def _keys(path: Path, data: Any, allowed: tuple[str, ...], what: str) -> LineDict:
    if not isinstance(data, dict):
        raise _fail(path, data, None, f"{what} must be a mapping")
    for key in data:
        if key not in allowed:
            raise _fail(path, data, key, f"{what} has an unknown field {key!r}; allowed: {', '.join(allowed)}")
    return data  # type: ignore[return-value]


def check_metric(name: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a metric a suite reports."""
    match = _SCORE.match(name)
    if name in BASE_METRICS or (match and match.group(1) in TYPES):
        return
    raise ValueError(f"unknown metric {name!r}; use {', '.join(BASE_METRICS)} or score.<assertion type> "
                     f"({', '.join(f'score.{t}' for t in ('retrieved', 'similar', 'rubric'))}, ...)")


def _bounds(path: Path, data: LineDict, key: str, where: str) -> dict[str, float]:
    raw = data.get(key) or {}
    _keys(path, raw, tuple(raw) if isinstance(raw, dict) else (), f"{where}.{key}")
    out = {}
    for metric, value in raw.items():
        try:
            check_metric(metric)
        except ValueError as exc:
            raise _fail(path, raw, metric, f"{where}.{key}: {exc}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, raw, metric, f"{where}.{key}.{metric} must be a number")
        out[metric] = float(value)
    return out


def _suite_gate(path: Path, data: Any, where: str) -> SuiteGate:
    data = _keys(path, data, ("gating", "min", "max"), where)
    gating = data.get("gating", True)
    if not isinstance(gating, bool):
        raise _fail(path, data, "gating", f"{where}.gating must be true or false")
    return SuiteGate(gating, _bounds(path, data, "min", where), _bounds(path, data, "max", where))


def load_config(path: Path) -> EvalConfig:
    """Read and validate the config file at ``path``."""
    if not path.is_file():
        raise ConfigError(f"{path}: eval config file not found (pass --config FILE)")
    try:
        data = load_yaml(path)
    except RuleFileError as exc:
        raise ConfigError(str(exc)) from exc
    data = _keys(path, data or LineDict(), ("run", "rubric", "default_suite", "suites"), "the config")
    run = _keys(path, data.get("run") or LineDict(), ("repeat", "pass_rule", "jobs", "max_tokens"), "run")
    for key in ("repeat", "jobs", "max_tokens"):
        value = run.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise _fail(path, run, key, f"run.{key} must be a whole number of at least 1")
    try:
        pass_rule = parse_pass_rule(str(run.get("pass_rule", "all")), int(run.get("repeat", 1)))
    except ValueError as exc:
        raise _fail(path, run, "pass_rule", f"run.pass_rule: {exc}") from None
    rubric = _keys(path, data.get("rubric") or LineDict(), ("gating",), "rubric")
    gating = rubric.get("gating", "auto")
    gating = {True: "true", False: "false"}.get(gating, gating)
    if gating not in ("auto", "true", "false"):
        raise _fail(path, rubric, "gating", "rubric.gating must be auto, true or false")
    suites_raw = _keys(path, data.get("suites") or LineDict(), tuple(data.get("suites") or ()), "suites")
    suites = {name: _suite_gate(path, value, f"suites.{name}") for name, value in suites_raw.items()}
    default = _suite_gate(path, data["default_suite"], "default_suite") if "default_suite" in data else SuiteGate()
    return EvalConfig(repeat=int(run.get("repeat", 1)), pass_rule=pass_rule, jobs=int(run.get("jobs", 1)),
                      max_tokens=run.get("max_tokens"), rubric_gating=gating, default_suite=default, suites=suites,
                      path=path)


def check_gates(config: EvalConfig, summaries: Mapping[str, SuiteSummary], rubric_gating: bool) -> list[GateResult]:
    """Every threshold of the suites that ran, checked. Rubric gates count only when rubric gating is on."""
    results = []
    for name, summary in summaries.items():
        gate = config.gate_for(name)
        metrics = summary.metrics()
        evaluated = summary.counts.get("pass", 0) + summary.counts.get("fail", 0) + summary.counts.get("ungated", 0)
        skipped_only = evaluated == 0 and summary.counts.get("skip", 0) > 0 and summary.counts.get("error", 0) == 0
        for op, bounds in ((">=", gate.min), ("<=", gate.max)):
            for metric, threshold in bounds.items():
                gating = gate.gating and (metric != "rubric_pass_rate" or rubric_gating)
                actual = metrics.get(metric)
                if actual is None:
                    note = ("suite skipped: " + "; ".join(summary.reasons)) if skipped_only else "not measured in this run"
                    results.append(GateResult(name, metric, op, threshold, None, skipped_only or not gating, gating, note))
                    continue
                ok = actual >= threshold if op == ">=" else actual <= threshold
                note = "" if gating else ("not gating: model-graded with the local grader" if metric == "rubric_pass_rate"
                                          else "not gating (gating: false)")
                results.append(GateResult(name, metric, op, threshold, actual, ok, gating, note))
    return results
