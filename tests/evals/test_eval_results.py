"""Case verdicts over repeats, suite figures, and gates (pure: no model, no files)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.model import Case
from evals.results import AssertionResult, AttemptResult, CaseResult, summarise
from evals.thresholds import EvalConfig, SuiteGate, check_gates, load_config


def _case(name: str = "c", suite: str = "s") -> Case:
    return Case(id=name, suite=suite, target="static", input="x", expect=())


def _attempt(repeat: int, *outcomes: bool | None, graded: bool | None = None, score: float | None = None) -> AttemptResult:
    results = [AssertionResult("contains", "contains", o, "why", score) for o in outcomes]
    if graded is not None:
        results.append(AssertionResult("rubric", "rubric", graded, "grader says", 0.5, model_graded=True, gating=False))
    status = "error" if None in outcomes else ("pass" if all(outcomes) else "fail")
    return AttemptResult(repeat, status if outcomes else "ungated", assertions=results)


def _result(*attempts: AttemptResult, rule: str = "all", name: str = "c") -> CaseResult:
    return CaseResult(_case(name), rule, list(attempts)).finish()


def test_pass_rule_over_repeats_and_the_failing_reason() -> None:
    mixed = (_attempt(0, True), _attempt(1, False), _attempt(2, True))
    assert _result(*mixed, rule="majority").status == "pass"
    failed = _result(*mixed, rule="all")
    assert failed.status == "fail" and failed.reason == "repeat 2: contains: why"
    assert _result(*mixed, rule="pass@1").status == "pass"


def test_an_errored_attempt_errors_the_case() -> None:
    assert _result(_attempt(0, True), _attempt(1, None)).status == "error"


def test_model_graded_verdicts_are_kept_apart() -> None:
    result = _result(_attempt(0, True, graded=False))
    assert result.status == "pass" and result.rubric_status == "fail"
    only_graded = _result(_attempt(0, graded=True))
    assert only_graded.status == "ungated" and only_graded.rubric_status == "pass"


def test_suite_figures() -> None:
    results = [_result(_attempt(0, True, score=0.5), name="a"), _result(_attempt(0, False, score=1.0), name="b"),
               _result(_attempt(0, None), name="c"), CaseResult(_case("d"), "all", [AttemptResult(0, "skip", error="skipped: no data")]).finish()]
    summary = summarise("s", results, rubric_gating=False)
    assert summary.counts["pass"] == 1 and summary.counts["fail"] == 1 and summary.counts["error"] == 1
    assert summary.counts["skip"] == 1
    assert summary.pass_rate.n == 2 and summary.pass_rate.rate == 0.5
    assert summary.scores["contains"].mean == pytest.approx(0.75)
    metrics = summary.metrics()
    assert metrics["errors"] == 1 and metrics["score.contains"] == pytest.approx(0.75)
    assert "skipped: no data" in summary.reasons


def test_gates_and_a_skipped_suite() -> None:
    passing = summarise("a", [_result(_attempt(0, True))], rubric_gating=False)
    skipped = summarise("b", [CaseResult(_case("x", "b"), "all", [AttemptResult(0, "skip", error="skipped: no data")]).finish()],
                        rubric_gating=False)
    config = EvalConfig(suites={"a": SuiteGate(min={"pass_rate": 0.9, "rubric_pass_rate": 0.5}),
                                "b": SuiteGate(min={"pass_rate": 0.9})})
    gates = {(g.suite, g.metric): g for g in check_gates(config, {"a": passing, "b": skipped}, rubric_gating=False)}
    assert gates[("a", "pass_rate")].ok
    # No rubric verdicts were measured, and rubric gates do not gate with rubric gating off.
    assert gates[("a", "rubric_pass_rate")].ok and not gates[("a", "rubric_pass_rate")].gating
    assert gates[("b", "pass_rate")].ok and "suite skipped: skipped: no data" in gates[("b", "pass_rate")].note


def test_the_shipped_config_loads() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "evals" / "thresholds.yaml")
    assert set(config.suites) == {"retrieval", "analyzer", "annomi", "rewrite", "persona", "coaching"}
    assert config.rubric_gating == "auto" and config.max_tokens
