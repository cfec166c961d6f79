"""Retrieval speed and memory: cold start, full ingest, query latency, embedding throughput, peak RSS.

Run: .venv/bin/python benchmarks/retrieval.py   (prints figures; targets on 2 cores in README)
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

COLD_START = """
import time, sys
t0 = time.perf_counter()
from pathlib import Path
from coach.config import Settings
from coach.knowledge import search
r = search("my rep keeps interrupting me with excuses when I give feedback", Settings(home=Path(sys.argv[1])), k=3)
print(time.perf_counter() - t0, r.results[0].id)
"""


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    from coach.config import Settings
    from coach.embeddings import embed, get_encoder
    from coach.knowledge import ingest, search
    from coach.vectorstore import open_collection
    from evals.retrieval import load_cases

    home = Path(tempfile.mkdtemp(prefix="coach-bench-"))
    settings = Settings(home=home)
    get_encoder()  # model load is part of cold start below, not of ingest

    t0 = time.perf_counter()
    report = ingest([ROOT / "knowledge"], settings)
    ingest_s = time.perf_counter() - t0

    cold = subprocess.run([sys.executable, "-c", COLD_START, str(home)], capture_output=True, text=True, cwd=ROOT)
    cold_s = float(cold.stdout.split()[0]) if cold.returncode == 0 else float("nan")

    queries = [case.query for case in load_cases()]
    queries = (queries * (200 // len(queries) + 1))[:200]
    collection = open_collection(settings)
    search(queries[0], settings, k=3, collection=collection)  # warm-up
    latencies = []
    for query in queries:
        start = time.perf_counter()
        search(query, settings, k=3, collection=collection)
        latencies.append((time.perf_counter() - start) * 1000)
    latencies.sort()

    sentences = [f"{q} ({i})" for i, q in enumerate(queries)]
    start = time.perf_counter()
    embed(sentences)
    per_second = len(sentences) / (time.perf_counter() - start)

    figures = {
        "cold_start_to_first_result_s": round(cold_s, 2),
        "full_ingest_s": round(ingest_s, 2),
        "chunks": report.added,
        "files": report.files,
        "query_p50_ms": round(statistics.median(latencies), 2),
        "query_p95_ms": round(latencies[int(0.95 * len(latencies)) - 1], 2),
        "embedding_sentences_per_s": round(per_second, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }
    for key, value in figures.items():
        print(f"{key:32s} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
