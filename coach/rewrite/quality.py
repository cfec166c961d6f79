"""Quality figures of the rewriter over a set of drafts (used by scripts/rewrite_quality.py and
benchmarks/models.py): verification pass rate, share of each path, meaning similarity, latency.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coach.config import Settings
from coach.errors import CoachError
from coach.llm import ChatModel
from coach.rewrite.pipeline import rewrite
from coach.rewrite.types import PATHS, RewriteResult


@dataclass(frozen=True)
class Draft:
    """One draft of evals/datasets/rewrite.jsonl."""

    id: str
    draft: str
    tags: tuple[str, ...] = ()
    expect: str = "rewrite"   # rewrite | keep (already good or no advice) | frame (story: add opener/hand-back)


def load_drafts(path: Path) -> list[Draft]:
    """Read the drafts file; errors name the line."""
    drafts = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CoachError(f"{path}:{number}: not valid JSON: {exc}") from exc
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not isinstance(row.get("draft"), str):
            raise CoachError(f"{path}:{number}: each line needs an 'id' and a 'draft' string")
        drafts.append(Draft(row["id"], row["draft"], tuple(row.get("tags", ())), str(row.get("expect", "rewrite"))))
    return drafts


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Outcome:
    """One draft's result (or the error it raised)."""

    draft: Draft
    result: RewriteResult | None
    seconds: float
    error: str = ""


@dataclass
class QualityReport:
    """Figures over a run."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def returned(self) -> list[RewriteResult]:
        """Results that came back (not errors)."""
        return [o.result for o in self.outcomes if o.result is not None]

    def pass_rate(self) -> float:
        """Share of drafts whose returned rewrite passed every check (errors count as failures)."""
        return sum(r.verified for r in self.returned) / len(self.outcomes) if self.outcomes else math.nan

    def path_shares(self) -> dict[str, float]:
        """Share of drafts per path (drafts the rewriter refused count as ``error``)."""
        counts = Counter(r.path for r in self.returned)
        counts["error"] = len(self.outcomes) - len(self.returned)
        return {p: counts.get(p, 0) / len(self.outcomes) for p in (*PATHS, "error")} if self.outcomes else {}

    def piece_shares(self) -> dict[str, float]:
        """Share of rewritten pieces per path."""
        counts = Counter(p.path for r in self.returned for p in r.pieces)
        total = sum(counts.values())
        return {p: counts.get(p, 0) / total for p in ("model", "model-repaired", "fallback")} if total else {}

    def model_share_of_rewritten(self) -> float:
        """Of drafts that had advice to rewrite, the share produced by the model (model + model-repaired)."""
        rewritten = [r for r in self.returned if r.pieces]
        return sum(r.path in ("model", "model-repaired") for r in rewritten) / len(rewritten) if rewritten else math.nan

    def similarity_mean(self, paths: Sequence[str] = ("model", "model-repaired", "fallback")) -> float:
        """Mean meaning similarity of the pieces on the given paths."""
        values = [p.similarity for r in self.returned for p in r.pieces if p.path in paths]
        return sum(values) / len(values) if values else math.nan

    def latencies(self, only_rewritten: bool = False) -> list[float]:
        """Seconds per draft."""
        return [o.seconds for o in self.outcomes if o.result is not None and (o.result.pieces or not only_rewritten)]

    def expectation_misses(self) -> list[str]:
        """Drafts whose outcome does not match the dataset's ``expect`` (ids with what happened)."""
        misses = []
        for o in self.outcomes:
            if o.result is None:
                continue
            got = o.result.path
            if o.draft.expect == "rewrite" and got == "unchanged":
                misses.append(f"{o.draft.id}: expected a rewrite, the analyzer found no directive")
            elif o.draft.expect == "keep" and o.result.text != o.draft.draft:
                misses.append(f"{o.draft.id}: expected to stay unchanged, got path {got}")
        return misses


def measure(
    drafts: Sequence[Draft],
    settings: Settings,
    model: ChatModel | None = None,
    progress: Callable[[Outcome], None] | None = None,
) -> QualityReport:
    """Rewrite every draft with ``model`` (default: the settings' model) and collect the figures."""
    report = QualityReport()
    for draft in drafts:
        started = time.perf_counter()
        try:
            result, error = rewrite(draft.draft, settings=settings, model=model), ""
        except CoachError as exc:
            result, error = None, str(exc)
        outcome = Outcome(draft, result, time.perf_counter() - started, error)
        report.outcomes.append(outcome)
        if progress:
            progress(outcome)
    return report
