"""Rehearsal speed: per-turn coaching latency (no model) and full-turn latency with the local model.

Run: .venv/bin/python benchmarks/rehearsal.py [--turns 200] [--model-turns 12] [--max-tokens 160] [--threads 1]

Coaching = validate + analyze (rules and behaviour classifier) + state update + SQLite commit
(synchronous=FULL) + cards (by id and knowledge search) + "try instead". Full turn = coaching +
the persona's streamed, checked reply (first shown piece and complete). Everything runs in a fresh
temporary COACH_HOME with the bundled knowledge ingested.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINES = [
    "It sounds like that call really got to you. What happened?",
    "You should just send the email tomorrow and move on.",
    "Would it help if I shared something that happened to me?",
    "When I was new, I lost a big account and it took me weeks to get over it.",
    "So you feel nobody noticed how hard you worked this quarter.",
    "What would help most right now?",
    "Calm down, it's not a big deal.",
    "I was wrong about that, sorry. What do you think we should try?",
    "Let's agree on one next step and check in on Friday.",
    "I have every confidence you can handle this.",
    "Okay.",
    "It's your call. What feels right to you?",
]
SCENARIOS = ["customer-blowup", "not-cut-out-for-sales", "career-switcher", "top-performer-promotion",
             "advice-then-resists", "ask-senior-leader-to-mentor"]
TURNS_PER_SESSION = 8


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] * 1000


def summary(name: str, values: list[float]) -> str:
    return (f"{name:38} n={len(values):4}  p50 {pct(values, 50):8.1f} ms  p95 {pct(values, 95):8.1f} ms  "
            f"max {max(values) * 1000:8.1f} ms")


def coaching_latency(turns: int, with_search: bool) -> list[float]:
    from coach.config import get_settings
    from coach.rehearsal.engine import Rehearsal, card_searcher
    from coach.store import Store

    settings = get_settings()
    searcher = card_searcher(settings) if with_search else None
    out: list[float] = []
    with Store(settings.db_path) as store:
        r = None
        for n in range(turns):
            if n % TURNS_PER_SESSION == 0:
                scenario = SCENARIOS[(n // TURNS_PER_SESSION) % len(SCENARIOS)]
                r = Rehearsal.start(scenario, store=store, searcher=searcher)
                if n == 0:
                    r.warm_up()
                    r.coach_turn("Warm-up line: what happened?")  # first commit and card lookups
            text = LINES[n % len(LINES)]
            started = time.perf_counter()
            r.coach_turn(text)
            out.append(time.perf_counter() - started)
            store.add_turn(r.id, "employee", "Okay.")  # keep the conversation alternating, outside the timing
    return out


def full_turns(turns: int) -> tuple[list[float], list[float], list[float], Counter]:
    from coach.config import get_settings
    from coach.rehearsal.engine import Rehearsal
    from coach.store import Store

    settings = get_settings()
    coach_s, first_s, total_s, sources = [], [], [], Counter()
    with Store(settings.db_path) as store:
        r = None
        for n in range(turns):
            if n % 4 == 0:
                r = Rehearsal.start(SCENARIOS[(n // 4) % len(SCENARIOS)], store=store)
                if n == 0:
                    r.warm_up()
                    _ = r.model  # resolve (and load) the model before timing
                    list(r.say("Hello, thanks for coming in.")[1])
            started = time.perf_counter()
            r.coach_turn(LINES[n % len(LINES)])
            coached = time.perf_counter()
            reply = r.persona_reply()
            first = None
            for _ in reply:
                if first is None:
                    first = time.perf_counter()
            done = time.perf_counter()
            coach_s.append(coached - started)
            first_s.append((first or done) - started)
            total_s.append(done - started)
            sources[reply.outcome.source] += 1
    return coach_s, first_s, total_s, sources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="coaching-only turns (default 200)")
    parser.add_argument("--model-turns", type=int, default=12, help="full turns with the local model (default 12)")
    parser.add_argument("--max-tokens", type=int, default=None, help="COACH_MAX_TOKENS for the replies")
    parser.add_argument("--threads", type=int, default=None, help="COACH_THREADS for llama.cpp")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="coach-bench-rehearsal-") as scratch:
        run(args, Path(scratch))


def run(args: argparse.Namespace, home: Path) -> None:
    """Every measurement, with ``home`` as COACH_HOME."""
    # A benchmark script owns its process: pointing it at a scratch home through the environment is
    # how every component (settings are read once) sees the same folder.
    os.environ["COACH_HOME"] = str(home)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    if args.max_tokens:
        os.environ["COACH_MAX_TOKENS"] = str(args.max_tokens)
    if args.threads:
        os.environ["COACH_THREADS"] = str(args.threads)

    from coach.config import get_settings
    from coach.knowledge import ingest

    settings = get_settings()
    ingest([ROOT / "knowledge"], settings)
    print(f"cpu count {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}; "
          f"llama.cpp threads {settings.threads}; max_tokens {settings.max_tokens}")

    print(summary("coaching per turn (cards by id + search)", coaching_latency(args.turns, with_search=True)))
    print(summary("coaching per turn (cards by id only)", coaching_latency(max(20, args.turns // 4), with_search=False)))
    if args.model_turns > 0:
        coach_s, first_s, total_s, sources = full_turns(args.model_turns)
        print(summary("full turn: coaching", coach_s))
        print(summary("full turn: first reply piece shown", first_s))
        print(summary("full turn: reply complete", total_s))
        print(f"reply sources: {dict(sources)} (fallback = scripted line after two rejected replies)")


if __name__ == "__main__":
    main()
