"""Judge calibration: how far the rubric grader agrees with a person's verdicts.

Files ``evals/calibration/*.jsonl`` hold one item a line::

    {"id": "perm-01", "rubric": "...", "input": "...", "output": "...", "human": "pass", "note": "why"}

``coach eval --calibrate`` grades every output with the grader (through the normal runner, so calls
are cached and counted) and reports accuracy and Cohen's kappa against ``human``. Answers the grader
could not put into a valid verdict count against its accuracy and are listed apart.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coach.errors import UsageError
from evals.cases import CaseFileError, discover
from evals.model import AssertionSpec, Case
from evals.results import CaseResult
from evals.stats import Agreement, cohen_kappa

DEFAULT_DIR = Path(__file__).parent / "calibration"
_KEYS = {"id", "rubric", "input", "output", "human", "note", "principle"}


def load_items(paths: Sequence[Path]) -> list[Case]:
    """Calibration items as static cases with one rubric assertion; ``metadata.human`` holds the label."""
    cases: list[Case] = []
    seen: set[str] = set()
    for path in discover(paths):
        if path.suffix != ".jsonl":
            raise CaseFileError(f"{path}: calibration files are JSONL (one item a line)")
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError as exc:
                raise CaseFileError(f"{path}:{number}: invalid JSON: {exc}") from None
            if not isinstance(item, dict):
                raise CaseFileError(f"{path}:{number}: each line must be a JSON object")
            unknown = set(item) - _KEYS
            if unknown:
                raise CaseFileError(f"{path}:{number}: unknown field {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(_KEYS))}")
            for key in ("id", "rubric", "output"):
                if not isinstance(item.get(key), str) or not item[key].strip():
                    raise CaseFileError(f"{path}:{number}: field {key!r} is required (non-empty text)")
            if item.get("human") not in ("pass", "fail"):
                raise CaseFileError(f"{path}:{number}: field 'human' must be \"pass\" or \"fail\"")
            if item["id"] in seen:
                raise CaseFileError(f"{path}:{number}: id {item['id']!r} repeats")
            seen.add(item["id"])
            spec = AssertionSpec("rubric", {"rubric": item["rubric"]}, f"{path}:{number}")
            cases.append(Case(
                id=item["id"], suite="calibration", target="static",
                input={"output": item["output"], "text": item.get("input", "")}, expect=(spec,),
                metadata={"human": item["human"], "note": item.get("note", ""), "principle": item.get("principle", "")},
                source=str(path), line=number))
    if not cases:
        raise UsageError(f"no calibration items under {', '.join(map(str, paths))}")
    return cases


@dataclass
class Calibration:
    """Agreement of the grader with the human labels."""

    items: int
    judged: int
    agreement: Agreement | None
    accuracy_all: float  # unjudged items count as disagreements
    unjudged: list[str] = field(default_factory=list)
    disagreements: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        a = self.agreement
        return {"items": self.items, "judged": self.judged, "accuracy_all": self.accuracy_all,
                "accuracy_judged": a.accuracy if a else None, "kappa": a.kappa if a else None,
                "confusion": a.confusion if a else None, "unjudged": self.unjudged, "disagreements": self.disagreements}


def score(results: Sequence[CaseResult]) -> Calibration:
    """Compare each item's grader verdict (first attempt) with its human label."""
    human, graded, unjudged, disagreements = [], [], [], []
    for result in results:
        label = result.case.metadata["human"] == "pass"
        verdicts = [a for attempt in result.attempts[:1] for a in attempt.assertions]
        if not verdicts or verdicts[0].passed is None:
            reason = (verdicts[0].reason if verdicts else result.reason) or result.status
            unjudged.append(f"{result.case.id}: {reason}")
            continue
        human.append(label)
        graded.append(bool(verdicts[0].passed))
        if label != verdicts[0].passed:
            disagreements.append({"id": result.case.id, "human": result.case.metadata["human"],
                                  "grader": "pass" if verdicts[0].passed else "fail", "reason": verdicts[0].reason})
    agreement = cohen_kappa(human, graded) if human else None
    agreed = sum(h == g for h, g in zip(human, graded))
    return Calibration(len(results), len(human), agreement, agreed / len(results) if results else 0.0,
                       unjudged, disagreements)


def render(calibration: Calibration, grader_label: str) -> str:
    """Plain-text figures for the terminal."""
    a = calibration.agreement
    lines = [f"grader: {grader_label}",
             f"items: {calibration.items}; judged (valid JSON verdict): {calibration.judged}",
             f"accuracy over all items (unjudged count as wrong): {100 * calibration.accuracy_all:.1f}%"]
    if a:
        kappa = "undefined (one label only)" if a.kappa is None else f"{a.kappa:.3f}"
        lines += [f"accuracy over judged items: {100 * a.accuracy:.1f}%", f"Cohen's kappa: {kappa}",
                  "confusion: " + ", ".join(f"{k} {v}" for k, v in a.confusion.items())]
    for item in calibration.unjudged[:10]:
        lines.append(f"unjudged: {item}")
    return "\n".join(lines)
