"""Calibrate the rewriter's meaning threshold on hand-labelled pairs and print it.

Each line of evals/datasets/meaning_pairs.jsonl is ``{"original": advice content, "candidate": a
rewritten sentence, "kept": true|false}``. We embed both with all-MiniLM-L6-v2 (the verifier's
model), and pick the cosine threshold that maximises balanced accuracy (mean of the accuracy on kept
and on not-kept pairs); among equally good thresholds, the middle one. We also report the accuracy of
the whole meaning check (cosine + the negation rule + the verb rule), which is what the verifier
applies to action advice.

Usage::

    .venv/bin/python scripts/calibrate_meaning.py [--pairs FILE] [--write]

``--write`` records the threshold and the method in knowledge/rewrite.yaml (``verify.meaning_threshold``
and ``verify.meaning_calibration``), keeping the file's comments.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.config import get_settings  # noqa: E402
from coach.embeddings import embed  # noqa: E402
from coach.rewrite.config import FILE_NAME, load_config  # noqa: E402
from coach.rewrite.verify import polarity_problem, verb_problem  # noqa: E402

DEFAULT_PAIRS = ROOT / "evals" / "datasets" / "meaning_pairs.jsonl"


@dataclass(frozen=True)
class Pair:
    """One labelled pair."""

    original: str
    candidate: str
    kept: bool
    note: str


def load_pairs(path: Path) -> list[Pair]:
    """Read and validate the pairs file; errors name the line."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if not isinstance(row.get("original"), str) or not isinstance(row.get("candidate"), str) \
                or not isinstance(row.get("kept"), bool):
            raise SystemExit(f"{path}:{number}: needs 'original' and 'candidate' strings and a boolean 'kept'")
        pairs.append(Pair(row["original"], row["candidate"], row["kept"], str(row.get("note", ""))))
    return pairs


def balanced_accuracy(predicted: list[bool], truth: list[bool]) -> float:
    """Mean of the true-positive rate and the true-negative rate."""
    pos = [p for p, t in zip(predicted, truth) if t]
    neg = [p for p, t in zip(predicted, truth) if not t]
    tpr = sum(pos) / len(pos) if pos else 1.0
    tnr = sum(not p for p in neg) / len(neg) if neg else 1.0
    return (tpr + tnr) / 2


def best_threshold(scores: list[float], truth: list[bool]) -> tuple[float, float]:
    """``(threshold, balanced accuracy)``: the middle of the best-scoring thresholds."""
    values = sorted(set(scores))
    candidates = [values[0] - 1e-6] + [(a + b) / 2 for a, b in zip(values, values[1:])] + [values[-1] + 1e-6]
    scored = [(balanced_accuracy([s >= c for s in scores], truth), c) for c in candidates]
    best = max(acc for acc, _ in scored)
    winners = [c for acc, c in scored if acc == best]
    return winners[len(winners) // 2], best


def negated(original: str, negative_verbs: tuple[str, ...]) -> bool:
    """The advice content says not to do something ("not reply ...", "stop checking ...")."""
    first = original.split()[0].lower() if original.split() else ""
    return first == "not" or first in {v.lower() for v in negative_verbs}


def write_threshold(yaml_path: Path, threshold: float, method: str) -> None:
    """Replace the two calibration lines of knowledge/rewrite.yaml in place."""
    text = yaml_path.read_text(encoding="utf-8")
    text, n1 = re.subn(r"(?m)^(\s*meaning_threshold:).*$", rf"\g<1> {threshold:.3f}", text)
    text, n2 = re.subn(r"(?m)^(\s*meaning_calibration:).*$", lambda m: f"{m.group(1)} {json.dumps(method)}", text)
    if n1 != 1 or n2 != 1:
        raise SystemExit(f"{yaml_path}: expected one meaning_threshold and one meaning_calibration line")
    yaml_path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Print the calibrated threshold (and write it with --write)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument("--write", action="store_true", help="record the threshold in knowledge/rewrite.yaml")
    args = parser.parse_args(argv)
    settings = get_settings()
    config = load_config(settings.knowledge_dir)
    pairs = load_pairs(args.pairs)
    kept = sum(p.kept for p in pairs)
    vectors_a = embed([p.original for p in pairs])
    vectors_b = embed([p.candidate for p in pairs])
    scores = [float(a @ b) for a, b in zip(vectors_a, vectors_b)]
    truth = [p.kept for p in pairs]
    threshold, accuracy = best_threshold(scores, truth)
    cosine_only = [s >= threshold for s in scores]
    with_negation = [
        s >= threshold and polarity_problem(p.original, negated(p.original, config.negation.negative_verbs),
                                            p.candidate, config) is None
        for s, p in zip(scores, pairs)
    ]
    negation_accuracy = balanced_accuracy(with_negation, truth)
    # Every pair's original is an action ("ask Priya ..."), as the rewriter's action pieces are.
    full = [ok and verb_problem(p.original, "action", p.candidate, config) is None for ok, p in zip(with_negation, pairs)]
    full_accuracy = balanced_accuracy(full, truth)
    print(f"pairs: {len(pairs)} ({kept} kept, {len(pairs) - kept} not kept) from {args.pairs.relative_to(ROOT)}")
    mean_kept = sum(s for s, t in zip(scores, truth) if t) / max(1, kept)
    mean_not = sum(s for s, t in zip(scores, truth) if not t) / max(1, len(pairs) - kept)
    print(f"cosine mean: kept {mean_kept:.3f}, not kept {mean_not:.3f}")
    print(f"threshold (max balanced accuracy, cosine only): {threshold:.3f}")
    print(f"balanced accuracy, cosine only: {accuracy:.3f} (plain accuracy "
          f"{sum(c == t for c, t in zip(cosine_only, truth)) / len(pairs):.3f})")
    print(f"balanced accuracy, cosine + negation rule: {negation_accuracy:.3f}")
    print(f"balanced accuracy, cosine + negation rule + verb kept (what the verifier applies): {full_accuracy:.3f}")
    errors = [(s, p) for s, p, f in zip(scores, pairs, full) if f != p.kept]
    for s, p in errors:
        print(f"  miss ({'kept' if p.kept else 'not kept'}, cos {s:.3f}, {p.note}): {p.original!r} -> {p.candidate!r}")
    current = config.meaning_threshold
    print(f"knowledge/{FILE_NAME} has {current:.3f}")
    if args.write:
        method = (f"max balanced accuracy of cosine on {len(pairs)} labelled pairs ({kept} kept) in "
                  f"evals/datasets/meaning_pairs.jsonl: {accuracy:.3f} cosine only, {full_accuracy:.3f} with the "
                  "negation and verb rules (scripts/calibrate_meaning.py)")
        write_threshold(settings.knowledge_dir / FILE_NAME, threshold, method)
        print(f"wrote threshold {threshold:.3f} to knowledge/{FILE_NAME}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
