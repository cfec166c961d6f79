"""``coach practice [SCENARIO]``: rehearse a hard conversation in the terminal.

Reads one line per manager turn from stdin (so a conversation can be piped in), prints the coaching
notes for it, then streams the persona's reply. Commands: ``/rewind N`` (take your N-th line again,
on a new branch), ``/end`` (end and print the debrief), ``/state``, ``/help``, ``/quit``. The
session is saved turn by turn; ``--resume ID`` continues it after a restart. Without SCENARIO the
scenarios are listed (and, on a terminal, one can be picked).
"""

from __future__ import annotations

import argparse
import sys
from typing import BinaryIO, TextIO

from coach.config import get_settings
from coach.errors import ModelError, UsageError
from coach.rehearsal.coaching import Coaching
from coach.rehearsal.engine import Rehearsal, last_employee_line, list_scenarios
from coach.rehearsal.export import debrief_markdown
from coach.rehearsal.models import Scenario

HELP = ("Type what you would say and press Enter. Commands: /rewind N (take your N-th line again), "
        "/end (finish and see the debrief), /state, /help, /quit.")
_MARK = {"good": "+", "bad": "-", "neutral": "~"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``practice`` subcommand."""
    parser = sub.add_parser("practice", help="rehearse a hard conversation with coaching on every turn",
                            description="Rehearse a mentoring conversation. " + HELP)
    parser.add_argument("scenario", nargs="?", help="scenario id or path to a scenario .yaml (omit to list them)")
    parser.add_argument("--resume", metavar="SESSION", help="continue a saved session (see `coach history`)")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.set_defaults(func=run)


def _print_scenarios(scenarios: list[Scenario], out: TextIO) -> None:
    for n, s in enumerate(scenarios, 1):
        print(f"{n:2}. {s.id:34} {s.family:12} {s.title}", file=out)


def _pick(scenarios: list[Scenario], stdin: BinaryIO) -> str:
    _print_scenarios(scenarios, sys.stdout)
    print("Scenario number or id: ", end="", flush=True)
    answer = (read_line(stdin, 1000) or "").strip()
    if answer.isdigit() and 1 <= int(answer) <= len(scenarios):
        return scenarios[int(answer) - 1].id
    return answer


def read_line(stream: BinaryIO, max_bytes: int) -> str | None:
    """One line of stdin as text (None at end of input). Over-long lines are read to their end and
    cut at ``max_bytes`` (the length check then rejects them); undecodable bytes raise UsageError."""
    raw = stream.readline(max_bytes + 1)
    if not raw:
        return None
    if len(raw) > max_bytes and not raw.endswith(b"\n"):
        while (rest := stream.readline(1 << 16)) and not rest.endswith(b"\n"):
            pass  # drop the rest of the over-long line so it is not read as further turns
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise UsageError(f"that line is not UTF-8 text (byte 0x{raw[exc.start]:02x}); nothing was recorded") from None


def _state_line(r: Rehearsal) -> str:
    s = r.state
    return f"trust {s.trust}/100 · stress {s.stress}/100 · opened up {len(s.unlocked)} of {len(r.scenario.hidden_facts)}"


def print_coaching(c: Coaching, name: str, out: TextIO) -> None:
    """The coaching notes of one turn, as indented text."""
    print(f"  coach · your line {c.turn_number} · {c.behaviour}", file=out)
    for note in c.notes:
        print(f"  {_MARK.get(note.polarity, '~')} {note.text()}", file=out)
    if not c.notes:
        print("  ~ no principle-related words found in that line", file=out)
    for line in c.change_notes():
        print(f"  = {line}", file=out)
    for card in c.cards:
        print(f"  card: {card.title} [{card.id}] ({card.reason})", file=out)
        print(f"        {card.summary}", file=out)
    print(f"  try: {c.try_instead.text}", file=out)
    opened = f" · {name} opened up" if c.opened_up else ""
    print(f"  trust {c.before.trust} -> {c.after.trust} · stress {c.before.stress} -> {c.after.stress}{opened}", file=out)
    for notice in c.notices:
        print(f"  notice: {notice}", file=out)


def _reply(r: Rehearsal, name: str, out: TextIO) -> None:
    reply = r.persona_reply()
    print(f"{name}: ", end="", file=out, flush=True)
    try:
        for piece in reply:
            print(piece, end="", file=out, flush=True)
    except ModelError as exc:
        print(file=out)
        print(f"coach: error: {exc}", file=sys.stderr)
        return
    print(file=out)
    outcome = reply.outcome
    if outcome.source == "fallback":
        print(f"  (the model's reply broke character twice; {name} said a scripted line instead)", file=out)


def _command(r: Rehearsal, line: str, name: str, out: TextIO) -> tuple[Rehearsal, bool]:
    """Run a /command; returns the (maybe new) rehearsal and whether to stop."""
    word, _, arg = line[1:].partition(" ")
    word = word.lower()
    if word in ("quit", "exit", "q"):
        return r, True
    if word == "help":
        print(HELP, file=out)
    elif word == "state":
        print(f"  {_state_line(r)}", file=out)
    elif word == "end":
        result = r.end()
        print(debrief_markdown(result), file=out)
        print(f"Session {r.id} ended and saved. /rewind N to try another path from your N-th line, /quit to leave.",
              file=out)
    elif word == "rewind":
        if not arg.strip().isdigit():
            raise UsageError("/rewind takes the number of one of your lines, e.g. /rewind 2")
        r = r.rewind(int(arg))
        print(f"Rewound: new branch {r.id} (the first path is kept). Say your line {arg.strip()} again.", file=out)
        print(f"  {_state_line(r)}", file=out)
        print(f"{name}: {last_employee_line(r.turns())}", file=out)
    else:
        raise UsageError(f"unknown command /{word}. {HELP}")
    return r, False


def run(args: argparse.Namespace) -> int:
    """The interactive (or piped) rehearsal loop."""
    settings = get_settings()
    out = sys.stdout
    if hasattr(out, "reconfigure"):
        out.reconfigure(errors="replace")  # a terminal that cannot show a character gets '?', not a crash
    interactive = sys.stdin is not None and sys.stdin.isatty()
    if args.list or (not args.scenario and not args.resume and not interactive):
        _print_scenarios(list_scenarios(settings), out)
        if not args.list:
            print("Start one with: coach practice SCENARIO_ID", file=out)
        return 0
    if args.resume:
        r = Rehearsal.resume(args.resume, settings=settings)
    else:
        r = Rehearsal.start(args.scenario or _pick(list_scenarios(settings), sys.stdin.buffer), settings=settings)
    name = r.scenario.persona.words()["name"]
    print(f"# {r.scenario.title}  (session {r.id})", file=out)
    print(r.scenario.brief.strip(), file=out)
    print(f"You are talking with {r.scenario.persona.name}, {r.scenario.persona.role}. {HELP}", file=out)
    print(f"{name}: {last_employee_line(r.turns())}", file=out, flush=True)
    stdin = sys.stdin.buffer
    max_bytes = settings.max_turn_chars * 4 + 2
    while True:
        if interactive:
            print("you> ", end="", file=out, flush=True)
        try:
            line = read_line(stdin, max_bytes)
            if line is None:
                break
            if line.strip().startswith("/"):
                r, stop = _command(r, line.strip(), name, out)
                if stop:
                    break
                continue
            coaching = r.coach_turn(line)
        except UsageError as exc:
            print(f"coach: {exc}", file=sys.stderr, flush=True)
            continue
        print_coaching(coaching, name, out)
        _reply(r, name, out)
    state = "ended" if r.ended else f"saved; continue with: coach practice --resume {r.id}"
    print(f"Session {r.id} {state}", file=out)
    return 0
