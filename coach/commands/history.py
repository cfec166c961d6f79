"""``coach history [SESSION]``: past rehearsal sessions with their scores, newest first.

With SESSION: that session as Markdown (or ``--json``), transcript, coaching notes and debrief.
With ``--progress``: each principle's score over time, across ended sessions.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from coach.config import get_settings
from coach.errors import UsageError
from coach.rehearsal.debrief import debrief
from coach.rehearsal.export import session_json, session_markdown
from coach.rehearsal.models import SessionInfo
from coach.rehearsal.scenarios import get_scenario
from coach.store import Store


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``history`` subcommand."""
    parser = sub.add_parser("history", help="list past rehearsal sessions and their scores",
                            description="Past rehearsal sessions, newest first, with their scores.")
    parser.add_argument("session", nargs="?", help="show one session (transcript, notes and debrief)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--limit", type=int, default=50, help="most sessions to list (default 50)")
    parser.add_argument("--scenario", help="only sessions of this scenario id")
    parser.add_argument("--progress", action="store_true", help="scores per principle over time")
    parser.set_defaults(func=run)


def overall(session: SessionInfo) -> int | None:
    """Mean of the session's principle scores (None before it ended or when nothing was scored)."""
    return round(sum(session.scores.values()) / len(session.scores)) if session.scores else None


def session_rows(store: Store, limit: int, scenario_id: str | None = None) -> list[dict[str, Any]]:
    """One JSON-ready row per session, newest first."""
    rows = []
    for s in store.list_sessions(limit=limit, scenario_id=scenario_id):
        turns = store.turns(s.id)
        rows.append({
            "id": s.id,
            "scenario_id": s.scenario_id,
            "started_at": s.started_at,
            "ended_at": s.ended_at,
            "parent_session_id": s.parent_session_id,
            "fork_index": s.fork_index,
            "manager_turns": sum(t.role == "manager" for t in turns),
            "overall": overall(s),
            "scores": s.scores,
        })
    return rows


def show_session(store: Store, session_id: str, *, as_json: bool = False) -> str:
    """One session exported as Markdown or JSON; with its debrief once ended. A session whose
    scenario file is gone is still shown (transcript, notes and scores, without the debrief)."""
    session = store.get_session(session_id)
    turns = store.turns(session_id)
    try:
        scenario = get_scenario(session.scenario_id)
    except UsageError:
        scenario = None
    result = debrief(scenario, turns, session.initial_state) if scenario and session.ended_at else None
    if as_json:
        return json.dumps(session_json(session, turns, result, scenario), indent=2, ensure_ascii=False)
    return session_markdown(session, turns, result, scenario).rstrip("\n")


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("No rehearsal sessions yet. Start one with: coach practice SCENARIO_ID")
        return
    print(f"{'SESSION':12}  {'STARTED (UTC)':16}  {'SCENARIO':32}  {'LINES':>5}  {'STATUS':8}  {'SCORE':>5}  SCORES")
    for row in rows:
        status = "ended" if row["ended_at"] else "open"
        score = "-" if row["overall"] is None else str(row["overall"])
        scores = ", ".join(f"{p} {v}" for p, v in sorted(row["scores"].items(), key=lambda kv: -kv[1]))
        branch = f"  (rewind of {row['parent_session_id']})" if row["parent_session_id"] else ""
        print(f"{row['id']:12}  {row['started_at'][:16].replace('T', ' '):16}  {row['scenario_id'][:32]:32}  "
              f"{row['manager_turns']:>5}  {status:8}  {score:>5}  {scores}{branch}")


def run(args: argparse.Namespace) -> int:
    """Print the list, one session, or the progress table."""
    settings = get_settings()
    with Store(settings.db_path) as store:
        if args.session:
            print(show_session(store, args.session, as_json=args.json))
            return 0
        if args.progress:
            points = [vars(p) for p in store.progress()]
            if args.json:
                print(json.dumps(points, indent=2, ensure_ascii=False))
            elif not points:
                print("No ended sessions yet: scores are written when a session ends (/end in coach practice).")
            for p in points if not args.json else []:
                print(f"{p['at'][:16].replace('T', ' ')}  {p['principle']:32} {p['score']:>3}  "
                      f"({p['evidence']} evidence, {p['scenario_id']}, session {p['session_id']})")
            return 0
        rows = session_rows(store, max(1, args.limit), args.scenario)
    if args.json:
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_table(rows)
    return 0
