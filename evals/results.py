"""Results of a run: per assertion, attempt, case and suite, and the suite figures that gates read.

Case verdicts follow the run's pass rule over repeats; suite figures are pass rates with a Wilson
95% interval and mean scores with their standard error. Model-graded (rubric) verdicts are kept
apart: they join a case's verdict only when rubric gating is on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from evals.cache import CallTotals
from evals.model import Case
from evals.stats import MeanSE, Proportion, case_passes, mean_se, wilson

#: Case statuses. ``ungated``: the case has only non-gating (model-graded) assertions.
STATUSES = ("pass", "fail", "error", "skip", "not-run", "ungated")


@dataclass(frozen=True)
class AssertionResult:
    """One assertion's verdict on one attempt."""

    type: str
    description: str
    passed: bool | None
    reason: str
    score: float | None = None
    model_graded: bool = False
    gating: bool = True

    @property
    def outcome(self) -> str:
        """``pass``, ``fail`` or ``error``."""
        return "error" if self.passed is None else ("pass" if self.passed else "fail")


@dataclass
class AttemptResult:
    """One repeat of one case."""

    repeat: int
    status: str  # pass / fail / error / skip / not-run / ungated (gating assertions only)
    output: str | None = None
    data: Any = None
    assertions: list[AssertionResult] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    totals: CallTotals = field(default_factory=CallTotals)

    @property
    def rubric_status(self) -> str | None:
        """Outcome of the model-graded assertions (None when there are none)."""
        graded = [a for a in self.assertions if a.model_graded]
        if not graded:
            return None
        if any(a.passed is None for a in graded):
            return "error"
        return "pass" if all(a.passed for a in graded) else "fail"


def attempt_status(assertions: Sequence[AssertionResult]) -> str:
    """Status of an attempt from its gating assertions."""
    gating = [a for a in assertions if a.gating]
    if not gating:
        return "ungated"
    if any(a.passed is None for a in gating):
        return "error"
    return "pass" if all(a.passed for a in gating) else "fail"


@dataclass
class CaseResult:
    """All attempts of one case and the verdict under its pass rule."""

    case: Case
    pass_rule: str
    attempts: list[AttemptResult] = field(default_factory=list)
    status: str = "not-run"
    reason: str = ""
    rubric_status: str | None = None

    def finish(self) -> CaseResult:
        """Compute ``status``, ``reason`` and ``rubric_status`` from the attempts."""
        statuses = [a.status for a in self.attempts]
        if not statuses:
            self.status = "not-run"
        elif "not-run" in statuses:
            self.status, self.reason = "not-run", self.reason or next(a.error or "" for a in self.attempts if a.status == "not-run")
        elif all(s == "skip" for s in statuses):
            self.status, self.reason = "skip", self.attempts[0].error or "skipped"
        elif "error" in statuses or "skip" in statuses:
            self.status = "error"
            self.reason = next((a.error for a in self.attempts if a.error), None) or _first_reason(self.attempts, None)
        elif all(s == "ungated" for s in statuses):
            self.status = "ungated"
        else:
            ok = case_passes([s == "pass" for s in statuses], self.pass_rule)
            self.status = "pass" if ok else "fail"
            if not ok:
                self.reason = _first_reason(self.attempts, False)
        rubric = [a.rubric_status for a in self.attempts if a.rubric_status is not None]
        if rubric and len(rubric) == len(self.attempts):
            if "error" in rubric:
                self.rubric_status = "error"
            else:
                self.rubric_status = "pass" if case_passes([r == "pass" for r in rubric], self.pass_rule) else "fail"
        return self

    @property
    def passes(self) -> int:
        """Attempts that passed."""
        return sum(a.status == "pass" for a in self.attempts)


def _first_reason(attempts: Sequence[AttemptResult], wanted: bool | None) -> str:
    for attempt in attempts:
        for result in attempt.assertions:
            if result.gating and result.passed is wanted:
                prefix = f"repeat {attempt.repeat + 1}: " if len(attempts) > 1 else ""
                return f"{prefix}{result.description}: {result.reason}"
    return ""


@dataclass
class SuiteSummary:
    """Figures of one suite."""

    name: str
    counts: dict[str, int]
    pass_rate: Proportion
    attempt_pass_rate: Proportion
    scores: dict[str, MeanSE]
    rubric: Proportion | None
    rubric_gating: bool
    totals: CallTotals
    seconds: float
    reasons: list[str]

    def metrics(self) -> dict[str, float]:
        """Named numbers that thresholds and baselines compare."""
        out: dict[str, float] = {"cases": float(self.pass_rate.n), "errors": float(self.counts.get("error", 0))}
        if self.pass_rate.n:
            out.update(pass_rate=self.pass_rate.rate, pass_rate_low=self.pass_rate.low)
        if self.attempt_pass_rate.n:
            out["attempt_pass_rate"] = self.attempt_pass_rate.rate
        for name, stat in self.scores.items():
            out[f"score.{name}"] = stat.mean
        if self.rubric and self.rubric.n:
            out["rubric_pass_rate"] = self.rubric.rate
        return out

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "name": self.name, "counts": self.counts, "pass_rate": self.pass_rate.to_dict(),
            "attempt_pass_rate": self.attempt_pass_rate.to_dict(),
            "scores": {k: v.to_dict() for k, v in self.scores.items()},
            "rubric": self.rubric.to_dict() if self.rubric else None, "rubric_gating": self.rubric_gating,
            "totals": self.totals.to_dict(), "seconds": self.seconds, "reasons": self.reasons,
            "metrics": self.metrics(),
        }


def summarise(name: str, results: Sequence[CaseResult], rubric_gating: bool) -> SuiteSummary:
    """Figures of one suite's case results."""
    counts = Counter(r.status for r in results)
    decided = [r for r in results if r.status in ("pass", "fail")]
    attempts = [a for r in decided for a in r.attempts if a.status in ("pass", "fail")]
    per_type: dict[str, list[float]] = {}
    for result in results:
        if result.status in ("error", "not-run", "skip"):
            continue
        by_type: dict[str, list[float]] = {}
        for attempt in result.attempts:
            for a in attempt.assertions:
                if a.score is not None:
                    by_type.setdefault(a.type, []).append(a.score)
        for kind, values in by_type.items():
            # One number per case (its mean over repeats), so a case with many repeats is not overweighted.
            per_type.setdefault(kind, []).append(sum(values) / len(values))
    rubric_cases = [r for r in results if r.rubric_status in ("pass", "fail")]
    totals = CallTotals()
    for result in results:
        for attempt in result.attempts:
            totals.add(attempt.totals)
    reasons = list(dict.fromkeys(r.reason for r in results if r.status in ("skip", "error", "not-run") and r.reason))
    return SuiteSummary(
        name=name,
        counts={s: counts.get(s, 0) for s in STATUSES},
        pass_rate=wilson(sum(r.status == "pass" for r in decided), len(decided)),
        attempt_pass_rate=wilson(sum(a.status == "pass" for a in attempts), len(attempts)),
        scores={k: mean_se(v) for k, v in sorted(per_type.items())},
        rubric=wilson(sum(r.rubric_status == "pass" for r in rubric_cases), len(rubric_cases)) if rubric_cases else None,
        rubric_gating=rubric_gating,
        totals=totals,
        seconds=sum(a.seconds for r in results for a in r.attempts),
        reasons=reasons[:10],
    )
