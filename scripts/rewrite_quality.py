"""Quality figures of ``coach rewrite`` with the configured model (default: the bundled local one).

Rewrites every draft of evals/datasets/rewrite.jsonl and prints: verification pass rate, share of
each path (draft level and piece level), meaning similarity mean, latency p50/p95, and drafts whose
outcome differs from the dataset's expectation. The knowledge cards are ingested into a temporary
COACH_HOME first, so retrieval works as it does for a user who ran ``coach ingest``.

Usage::

    .venv/bin/python scripts/rewrite_quality.py [--drafts FILE] [--limit N] [--json OUT] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coach.config import get_settings  # noqa: E402
from coach.llm import get_chat_model  # noqa: E402
from coach.rewrite.quality import Outcome, load_drafts, measure, percentile  # noqa: E402

DEFAULT_DRAFTS = ROOT / "evals" / "datasets" / "rewrite.jsonl"


def main(argv: list[str] | None = None) -> int:
    """Run the drafts and print the figures."""
    parser = argparse.ArgumentParser(description="Quality figures of coach rewrite on the eval drafts.")
    parser.add_argument("--drafts", type=Path, default=DEFAULT_DRAFTS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N drafts")
    parser.add_argument("--json", type=Path, help="also write every result to this JSON file")
    parser.add_argument("--verbose", action="store_true", help="print each rewrite")
    args = parser.parse_args(argv)

    from coach.knowledge import ingest

    drafts = load_drafts(args.drafts)[: args.limit or None]
    with tempfile.TemporaryDirectory(prefix="coach-rewrite-quality-") as home:
        settings = get_settings().model_copy(update={"home": Path(home)})
        ingest([settings.knowledge_dir], settings)
        started = time.perf_counter()
        model = get_chat_model(settings)
        load_seconds = time.perf_counter() - started

        def progress(o: Outcome) -> None:
            if not args.verbose:
                print(".", end="", flush=True)
                return
            if o.result is None:
                print(f"[error] {o.draft.id}: {o.error}")
                return
            print(f"[{o.result.path}] {o.draft.id} ({o.seconds:.2f}s)\n  draft:   {o.draft.draft}\n  rewrite: {o.result.text}")
            for piece in o.result.pieces:
                for failure in piece.failures:
                    print(f"    piece {piece.index + 1} {failure}")

        report = measure(drafts, settings, model, progress)
    print()
    n = len(report.outcomes)
    lat = report.latencies()
    lat_rw = report.latencies(only_rewritten=True)
    print(f"model: {model.provider}:{model.model} (loaded in {load_seconds:.2f}s), threads={settings.threads}")
    print(f"drafts: {n} from {args.drafts.relative_to(ROOT) if args.drafts.is_relative_to(ROOT) else args.drafts}")
    print(f"verification pass rate of returned rewrites: {report.pass_rate():.1%} "
          f"({sum(r.verified for r in report.returned)}/{n}; errors: {n - len(report.returned)})")
    shares = ", ".join(f"{p} {s:.1%}" for p, s in report.path_shares().items())
    print(f"paths (drafts): {shares}")
    print(f"produced by the model, of drafts with advice to rewrite: {report.model_share_of_rewritten():.1%}")
    pieces = ", ".join(f"{p} {s:.1%}" for p, s in report.piece_shares().items())
    total_pieces = sum(len(r.pieces) for r in report.returned)
    print(f"paths (advice pieces, {total_pieces}): {pieces}")
    print(f"meaning similarity mean: all pieces {report.similarity_mean():.3f}, "
          f"model pieces {report.similarity_mean(('model', 'model-repaired')):.3f}, "
          f"fallback pieces {report.similarity_mean(('fallback',)):.3f}")
    print(f"latency per draft: p50 {percentile(lat, 50):.2f}s, p95 {percentile(lat, 95):.2f}s; "
          f"drafts with advice: p50 {percentile(lat_rw, 50):.2f}s, p95 {percentile(lat_rw, 95):.2f}s")
    misses = report.expectation_misses()
    print(f"outcome differs from the dataset's expectation: {len(misses)}")
    for miss in misses:
        print(f"  {miss}")
    if args.json:
        rows = [{"id": o.draft.id, "seconds": round(o.seconds, 3), "error": o.error,
                 "result": o.result.to_dict() if o.result else None} for o in report.outcomes]
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"wrote {args.json}")
    return 0 if report.pass_rate() == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
