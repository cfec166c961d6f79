"""Retrieval quality: recall@k and MRR of knowledge search on evals/datasets/retrieval.jsonl."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coach.errors import UsageError

DATASET = Path(__file__).parent / "datasets" / "retrieval.jsonl"


@dataclass(frozen=True)
class RetrievalCase:
    """A situation as a manager would describe it, and the card ids that should come back."""

    query: str
    expected: tuple[str, ...]
    line: int


@dataclass
class RetrievalScore:
    """Aggregate figures plus the cases that missed the top k."""

    k: int
    cases: int
    recall_at_k: float
    mrr: float
    misses: list[dict] = field(default_factory=list)


def load_cases(path: Path = DATASET) -> list[RetrievalCase]:
    """Read a JSONL dataset; errors name the file and line."""
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            query, expected = row["query"], row["expected"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise UsageError(f"{path}:{number}: each line needs JSON with 'query' and 'expected' ({exc})") from exc
        if not str(query).strip() or not expected:
            raise UsageError(f"{path}:{number}: 'query' and 'expected' must be non-empty")
        cases.append(RetrievalCase(str(query), tuple(expected), number))
    return cases


def reciprocal_rank(ranked: Sequence[str], expected: Sequence[str]) -> float:
    """1/rank of the first expected id in the ranking, 0 when none is present."""
    for rank, item in enumerate(ranked, 1):
        if item in expected:
            return 1.0 / rank
    return 0.0


def hit_at_k(ranked: Sequence[str], expected: Sequence[str], k: int) -> bool:
    """True when any expected id is within the first k."""
    return any(item in expected for item in ranked[:k])


def score(cases: Sequence[RetrievalCase], rank: Callable[[str], list[str]], k: int = 3) -> RetrievalScore:
    """Score a ranking function (query -> ids, best first) on the cases."""
    if not cases:
        raise UsageError("the retrieval dataset has no cases")
    hits, rr, misses = 0, 0.0, []
    for case in cases:
        ranked = rank(case.query)
        hit = hit_at_k(ranked, case.expected, k)
        hits += hit
        rr += reciprocal_rank(ranked, case.expected)
        if not hit:
            misses.append({"line": case.line, "query": case.query, "expected": list(case.expected), "got": ranked[:k]})
    return RetrievalScore(k=k, cases=len(cases), recall_at_k=hits / len(cases), mrr=rr / len(cases), misses=misses)
