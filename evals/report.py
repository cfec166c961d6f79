"""The run report as one JSON-ready dict (the source of every other format) and the exit code.

Exit codes: 0 every gate passed; 1 a gate failed or a baseline metric dropped beyond noise;
2 a gating case errored (target not available, crash), a model was unreachable, or the cost
ceiling stopped the run; 130 interrupted (the partial report is still written).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from evals.baseline import Comparison
from evals.results import CaseResult, SuiteSummary
from evals.runner import RunResult
from evals.thresholds import GateResult

FORMAT = "coach-eval-report"
VERSION = 1
#: Structured output data larger than this (as JSON) is left out of reports; the text is kept.
MAX_DATA_CHARS = 4000


def exit_code(run: RunResult, summaries: Mapping[str, SuiteSummary], gates: Sequence[GateResult],
              comparison: Comparison | None, gating_suites: set[str]) -> int:
    """The process exit code for this run (see module docstring)."""
    if run.interrupted:
        return 130
    errored = any(r.status == "error" for r in run.results if r.case.suite in gating_suites)
    # A model that stopped answering is a broken setup even when only non-gating verdicts needed it.
    if errored or run.stop_reason or run.guard.down:
        return 2
    if any(g.gating and not g.ok for g in gates):
        return 1
    if comparison and any(c.suite in gating_suites for c in comparison.regressions):
        return 1
    return 0


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat(timespec="seconds")


def _data(value: Any) -> Any:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return None
    return value if len(text) <= MAX_DATA_CHARS else None


def case_dict(result: CaseResult) -> dict[str, Any]:
    """One case with all its attempts and assertion verdicts."""
    case = result.case
    return {
        "suite": case.suite, "id": case.id, "target": case.target, "where": case.where,
        "status": result.status, "reason": result.reason, "pass_rule": result.pass_rule,
        "passes": result.passes, "attempts_run": len(result.attempts), "rubric_status": result.rubric_status,
        "input": case.input, "metadata": dict(case.metadata),
        "attempts": [
            {
                "repeat": a.repeat, "status": a.status, "output": a.output, "data": _data(a.data), "error": a.error,
                "seconds": round(a.seconds, 4), "totals": a.totals.to_dict(),
                "assertions": [
                    {"type": x.type, "description": x.description, "outcome": x.outcome, "reason": x.reason,
                     "score": x.score, "model_graded": x.model_graded, "gating": x.gating}
                    for x in a.assertions
                ],
            }
            for a in result.attempts
        ],
    }


def build_report(run: RunResult, summaries: Mapping[str, SuiteSummary], gates: Sequence[GateResult],
                 comparison: Comparison | None, code: int, options: Mapping[str, Any],
                 models: Mapping[str, Any], notices: Sequence[str] = ()) -> dict[str, Any]:
    """Everything about the run, JSON-ready."""
    status = {0: "pass", 1: "fail", 2: "error", 130: "interrupted"}.get(code, "error")
    totals: dict[str, float] = {}
    for summary in summaries.values():
        for key, value in summary.totals.to_dict().items():
            totals[key] = totals.get(key, 0) + value
    return {
        "format": FORMAT, "version": VERSION, "status": status, "exit_code": code,
        "started": _iso(run.started), "finished": _iso(run.finished), "seconds": round(run.finished - run.started, 3),
        "interrupted": run.interrupted, "stop_reason": run.stop_reason,
        "options": dict(options), "models": dict(models), "totals": totals,
        "unpriced_models": sorted(run.guard.unpriced), "unreachable": dict(run.guard.down),
        "suites": {name: s.to_dict() for name, s in summaries.items()},
        "gates": [g.to_dict() for g in gates],
        "baseline": comparison.to_dict() if comparison else None,
        "notices": list(notices),
        "cases": [case_dict(r) for r in run.results],
    }
