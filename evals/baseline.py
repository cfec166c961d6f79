"""Compare a run with an earlier report (``--baseline report.json``), flagging only drops beyond noise.

A pass rate counts as dropped when the two-proportion z-test says so at 95% (unpooled standard
error); a mean score when it fell by more than 1.96 combined standard errors. With no noise at all
(both runs deterministic, standard error 0) any drop is real. Cases that passed before and fail now
are listed too, for reading, but only the metric drops count as regressions.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coach.errors import UsageError
from evals.results import SuiteSummary
from evals.stats import Drop, MeanSE, mean_drop, proportion_drop


@dataclass(frozen=True)
class MetricChange:
    """One metric of one suite, then and now."""

    suite: str
    metric: str
    drop: Drop

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"suite": self.suite, "metric": self.metric, **self.drop.__dict__}


@dataclass
class Comparison:
    """What changed since the baseline."""

    path: str
    changes: list[MetricChange] = field(default_factory=list)
    newly_failing: list[str] = field(default_factory=list)
    newly_passing: list[str] = field(default_factory=list)
    missing_suites: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[MetricChange]:
        """Drops beyond noise."""
        return [c for c in self.changes if c.drop.significant]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"baseline": self.path, "changes": [c.to_dict() for c in self.changes],
                "regressions": [c.to_dict() for c in self.regressions], "newly_failing": self.newly_failing,
                "newly_passing": self.newly_passing, "missing_suites": self.missing_suites}


def load_baseline(path: Path) -> dict[str, Any]:
    """An earlier JSON report; a clear error when it is missing or not one of ours."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the baseline report: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise UsageError(f"{path}: the baseline is not JSON ({exc}); pass a report.json written by coach eval") from exc
    if not isinstance(data, dict) or not isinstance(data.get("suites"), dict) or data.get("format") != "coach-eval-report":
        raise UsageError(f"{path}: not a coach eval JSON report (pass the report.json of an earlier run)")
    return data


def compare(baseline: Mapping[str, Any], path: str, summaries: Mapping[str, SuiteSummary],
            cases: list[dict[str, Any]]) -> Comparison:
    """Changes of every suite present in both runs."""
    result = Comparison(path)
    for name, summary in summaries.items():
        old = baseline["suites"].get(name)
        if not isinstance(old, dict):
            result.missing_suites.append(name)
            continue
        old_rate, now_rate = old.get("pass_rate") or {}, summary.pass_rate
        if old_rate.get("n") and now_rate.n:
            drop = proportion_drop(int(old_rate["successes"]), int(old_rate["n"]), now_rate.successes, now_rate.n)
            result.changes.append(MetricChange(name, "pass_rate", drop))
        for kind, now in summary.scores.items():
            before = (old.get("scores") or {}).get(kind)
            if isinstance(before, dict) and before.get("n"):
                base = MeanSE(float(before["mean"]), float(before["se"]), int(before["n"]))
                result.changes.append(MetricChange(name, f"score.{kind}", mean_drop(base, now)))
    before = {(c.get("suite"), c.get("id")): c.get("status") for c in baseline.get("cases") or [] if isinstance(c, dict)}
    for case in cases:
        key = (case["suite"], case["id"])
        if before.get(key) == "pass" and case["status"] == "fail":
            result.newly_failing.append(f"{key[0]}/{key[1]}")
        elif before.get(key) == "fail" and case["status"] == "pass":
            result.newly_passing.append(f"{key[0]}/{key[1]}")
    return result
