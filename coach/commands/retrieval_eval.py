"""``coach retrieval-eval``: recall@k and MRR of knowledge search on the labelled queries."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from coach.config import get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``retrieval-eval`` subcommand."""
    parser = sub.add_parser("retrieval-eval", help="measure retrieval quality (recall@k, MRR)")
    parser.add_argument("--dataset", type=Path, help="JSONL file of {query, expected} (default: evals/datasets/retrieval.jsonl)")
    parser.add_argument("-k", type=int, default=3, help="cut-off for recall (default 3)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--show-misses", action="store_true", help="list the queries that missed")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print recall@k and MRR."""
    from coach.knowledge import search
    from coach.vectorstore import open_collection
    from evals.retrieval import DATASET, load_cases, score

    settings = get_settings()
    collection = open_collection(settings)
    cases = load_cases(args.dataset or DATASET)

    def rank(query: str) -> list[str]:
        return [r.id for r in search(query, settings, k=10, collection=collection).results]

    result = score(cases, rank, k=args.k)
    if args.json:
        print(json.dumps(result.__dict__, indent=2))
        return 0
    print(f"cases {result.cases}  recall@{result.k} {result.recall_at_k:.3f}  MRR {result.mrr:.3f}")
    if args.show_misses:
        for miss in result.misses:
            print(f"  line {miss['line']}: {miss['query']!r} expected {miss['expected']} got {miss['got']}")
    return 0
