"""`coach eval` speed: wall time of the default suites (cold cache), and the speed-up of a second run
answered from the cache of model calls (target >= 10x).

Run: .venv/bin/python benchmarks/evals.py [--suite NAME ...] [--keep DIR]
Both runs are real `coach eval` processes against the bundled local model, in a fresh COACH_HOME
(so the first run starts with an empty cache and an empty retrieval store).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_eval(home: Path, out: Path, suites: list[str]) -> tuple[float, dict]:
    """One `coach eval` process; returns its wall time and its JSON report."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACH_")}
    env.update(COACH_HOME=str(home), ANONYMIZED_TELEMETRY="False", HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "coach.cli", "eval", "-q", "--out", str(out)]
    for suite in suites:
        command += ["--suite", suite]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if not (out / "report.json").is_file():
        raise SystemExit(f"coach eval wrote no report (exit {done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, json.loads((out / "report.json").read_text(encoding="utf-8"))


def describe(label: str, seconds: float, report: dict) -> None:
    """Print one run: wall time, exit code, and per suite its cases, time and model calls."""
    print(f"{label}: {seconds:.1f} s wall, exit {report['exit_code']} ({report['status']})")
    for name, suite in report["suites"].items():
        totals, counts = suite["totals"], suite["counts"]
        print(f"  {name:<10} {sum(counts.values()):>4} cases  pass {counts['pass']:>3}  fail {counts['fail']:>3}  "
              f"error {counts['error']:>3}  skip {counts['skip']:>3}  case time {suite['seconds']:7.1f} s  "
              f"model calls {totals['calls']:>4} (+{totals['cached_calls']} cached)  "
              f"tokens {totals['prompt_tokens'] + totals['completion_tokens']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", action="append", default=[], help="limit to these suites (default: all)")
    parser.add_argument("--keep", type=Path, help="use and keep this COACH_HOME instead of a temporary one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="coach-eval-bench-") as tmp:
        home = args.keep or Path(tmp) / "home"
        cold, first = run_eval(home, Path(tmp) / "first", args.suite)
        describe("first run (empty cache)", cold, first)
        warm, second = run_eval(home, Path(tmp) / "second", args.suite)
        describe("second run (cache hits)", warm, second)
    same = [c["status"] for c in first["cases"]] == [c["status"] for c in second["cases"]]
    print(f"cache speed-up: {cold / warm:.1f}x (target >= 10x); same verdicts on both runs: {same}")
    print(f"cpu count: {os.cpu_count()}, load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
