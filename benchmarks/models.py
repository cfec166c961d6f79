"""Local chat-model speed and memory: load time, time to first token, tokens/s, peak RSS.

Run: .venv/bin/python benchmarks/models.py [--runs N] [--max-tokens N] [--json]
Uses the active local model (COACH_LOCAL_MODEL or the bundled SmolLM2-135M) through coach.llm, so the
figures include our adapter (trimming, LangChain, lock). Then rewrite latency p50/p95 of coach.rewrite
over 20 drafts of evals/datasets/rewrite.jsonl (--rewrite-drafts N, 0 to skip).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Benchmark input (not a product prompt): a typical manager message in a rehearsal.
SYSTEM = "You are Sam, a junior analyst talking to your manager. Answer in two or three sentences."
# Each run sends a different manager line: llama.cpp reuses an identical prompt prefix, so repeating
# one message would time only the cached case. The shared system prompt is cached, as in a rehearsal.
USERS = [
    "I noticed the weekly report went out late again. Can we talk about what got in the way?",
    "You handled the client call well yesterday. What do you want to try differently next time?",
    "Would it help if I shared how I prepared for my first board presentation?",
    "I have some thoughts on the release plan. Is now a good time, or later today?",
    "How are you feeling about the workload since Dana moved to the other team?",
]


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="streamed answers to time (default 5)")
    parser.add_argument("--max-tokens", type=int, default=64, help="tokens per answer (default 64)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--rewrite-drafts", type=int, default=20, help="drafts for rewrite latency (0: skip)")
    args = parser.parse_args()

    from coach.config import get_settings
    from coach.llm import get_chat_model, system, user
    from coach.llm_local import LocalChat

    settings = get_settings().model_copy(update={"provider": "local"})
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    model = get_chat_model(settings)
    load_s = time.perf_counter() - started
    assert isinstance(model, LocalChat)
    rss_loaded = peak_rss_mb()

    model.complete([system(SYSTEM), user("Hello.")], max_tokens=4)  # warm-up: first evaluation pays one-off allocations
    first_token: list[float] = []
    speeds: list[float] = []
    totals: list[float] = []
    for run in range(args.runs):
        started = time.perf_counter()
        messages = [system(SYSTEM), user(USERS[run % len(USERS)])]
        stream = model.stream(messages, max_tokens=args.max_tokens, seed=1000 + run)
        first: float | None = None
        for _ in stream:
            if first is None:
                first = time.perf_counter()
        ended = time.perf_counter()
        assert first is not None
        tokens = stream.completion.usage.completion_tokens
        first_token.append(first - started)
        totals.append(ended - started)
        if tokens > 1 and ended > first:
            speeds.append((tokens - 1) / (ended - first))

    figures = {
        "model": model.model,
        "threads": settings.threads,
        "context_size": settings.context_size,
        "cpu_count": os.cpu_count(),
        "load_s": round(load_s, 3),
        "first_token_s_median": round(statistics.median(first_token), 3),
        "first_token_s_max": round(max(first_token), 3),
        "tokens_per_s_median": round(statistics.median(speeds), 1) if speeds else None,
        "answer_s_median": round(statistics.median(totals), 3),
        "max_tokens": args.max_tokens,
        "runs": args.runs,
        "rss_mb_before_load": round(rss_before, 1),
        "peak_rss_mb_after_load": round(rss_loaded, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    if args.rewrite_drafts:
        figures.update(rewrite_latency(settings, model, args.rewrite_drafts))
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"local chat model: {figures['model']} ({figures['threads']} threads, context {figures['context_size']}, "
          f"{figures['cpu_count']} CPUs)")
    print(f"  load time:                 {figures['load_s']:.3f} s")
    print(f"  time to first token:       {figures['first_token_s_median']:.3f} s median, "
          f"{figures['first_token_s_max']:.3f} s max over {args.runs} runs")
    print(f"  generation speed:          {figures['tokens_per_s_median']} tokens/s median")
    print(f"  answer time ({args.max_tokens} tokens max): {figures['answer_s_median']:.3f} s median")
    print(f"  peak RSS:                  {figures['peak_rss_mb']:.1f} MB "
          f"(before load {figures['rss_mb_before_load']:.1f} MB, after load {figures['peak_rss_mb_after_load']:.1f} MB)")
    if args.rewrite_drafts:
        print(f"  rewrite latency:           {figures['rewrite_s_p50']:.2f} s p50, {figures['rewrite_s_p95']:.2f} s p95 "
              f"over {figures['rewrite_drafts']} drafts (paths: {figures['rewrite_paths']})")


def rewrite_latency(settings, model, drafts: int = 20) -> dict:
    """Seconds per ``coach.rewrite.rewrite`` call over the first ``drafts`` drafts with advice.

    Drafts come from evals/datasets/rewrite.jsonl; the knowledge cards are ingested into a temporary
    COACH_HOME first, so each rewrite includes retrieval as it does for a user who ran ``coach ingest``.
    """
    import tempfile
    from collections import Counter

    from coach.knowledge import ingest
    from coach.rewrite import rewrite
    from coach.rewrite.quality import load_drafts, percentile

    chosen = [d for d in load_drafts(ROOT / "evals" / "datasets" / "rewrite.jsonl") if d.expect == "rewrite"][:drafts]
    seconds: list[float] = []
    paths: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="coach-bench-rewrite-") as home:
        local = settings.model_copy(update={"home": Path(home)})
        ingest([local.knowledge_dir], local)
        for draft in chosen:
            started = time.perf_counter()
            result = rewrite(draft.draft, settings=local, model=model)
            seconds.append(time.perf_counter() - started)
            paths[result.path] += 1
    return {
        "rewrite_drafts": len(chosen),
        "rewrite_s_p50": round(percentile(seconds, 50), 3),
        "rewrite_s_p95": round(percentile(seconds, 95), 3),
        "rewrite_paths": dict(paths),
    }


if __name__ == "__main__":
    main()
