"""``coach rewrite [FILE|-] [--json] [--stream]``: turn "you should" advice into a verified first-person rewrite.

Output (text): the rewrite, then the checklist, the path that produced it, the cards used and any
notices. ``--json``: one JSON object (the :class:`coach.rewrite.RewriteResult`); with ``--stream``,
one JSON event per line. ``--stream`` (text): the model's attempts appear as they are written, marked
as drafts; only the final verified rewrite is printed as the result.

Exit codes: 0 = verified rewrite printed; 1 = the model or store failed in a way the fallback could
not cover; 2 = bad input (empty, whitespace only, over COACH_MAX_DRAFT_CHARS, binary or not UTF-8).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from coach.analyzer.model import AnalysisContext
from coach.config import get_settings
from coach.errors import UsageError
from coach.textinput import BOM, read_utf8
from coach.rewrite import RewriteResult, rewrite_stream

_BOM = BOM


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``rewrite`` subcommand."""
    parser = subparsers.add_parser(
        "rewrite",
        help="rewrite advice as a first-person story that asks permission (verified)",
        description="Rewrite a draft of advice: ask permission first, share the advice as your own "
        "experience, hand the choice back. Every rewrite is verified by the analyzer; if the model's "
        "attempts fail, a deterministic rewrite is used and the result says so.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="UTF-8 text file, or - for stdin (default)")
    parser.add_argument("--json", action="store_true", help="print JSON (with --stream: one event per line)")
    parser.add_argument("--stream", action="store_true", help="show the model's attempts as they are written")
    parser.add_argument("--permission-asked", action="store_true",
                        help="permission to advise was already asked earlier in the conversation")
    parser.add_argument("--no-model", action="store_true", help="deterministic rewrite only (instant, no model)")
    parser.set_defaults(func=handle)


def read_draft(file: str, max_chars: int) -> str:
    """The draft from FILE or stdin; raises :class:`UsageError` on unusable input."""
    max_bytes = max_chars * 4 + len(_BOM.encode())  # UTF-8 needs at most 4 bytes per character
    text = read_utf8(
        file, max_bytes, reader="rewrite",
        too_large=f"is longer than the draft limit of {max_chars:,} characters "
                  "(COACH_MAX_DRAFT_CHARS); shorten it or rewrite it in parts",
    )
    return text.removeprefix(_BOM)


def format_result(result: RewriteResult) -> str:
    """The human-readable report of a result."""
    lines = [result.text.strip(), ""]
    lines.append(f"Path: {result.path}" + (f" ({result.model})" if result.model else ""))
    lines.append("Checks:")
    for check in result.checklist:
        lines.append(f"  [{'x' if check.passed else ' '}] {check.label}: {check.detail}")
    if result.pieces:
        lines.append("Pieces:")
        for piece in result.pieces:
            lines.append(f"  {piece.index + 1}. {piece.path}, similarity {piece.similarity:.2f}: {piece.original}")
            for failure in piece.failures:
                lines.append(f"       {failure}")
    if result.cards:
        lines.append("Cards used:")
        for card in result.cards:
            lines.append(f"  - {card.id}: {card.title}" + (" (cited by a finding)" if card.cited else ""))
    for notice in result.notices:
        lines.append(f"Notice: {notice}")
    return "\n".join(lines) + "\n"


def handle(args: argparse.Namespace) -> int:
    """Run the rewrite; returns the exit code."""
    settings = get_settings()
    draft = read_draft(args.file, settings.max_draft_chars)
    context = AnalysisContext(permission_asked=args.permission_asked)
    events = rewrite_stream(draft, settings, context, use_model=not args.no_model)
    result: RewriteResult | None = None
    out = sys.stdout
    for event in events:
        if event.type == "result":
            result = event.result
        if args.json and args.stream:
            out.write(json.dumps(event.to_dict(), ensure_ascii=False) + "\n")
            out.flush()
        elif args.stream and not args.json:
            # Drafts go to stderr, so stdout holds only the verified rewrite.
            if event.type == "token":
                sys.stderr.write(event.text)
            elif event.type == "attempt_failed":
                sys.stderr.write(f"\n  [attempt {event.attempt} failed: {'; '.join(event.reasons)}]\n")
            elif event.type == "piece_done":
                sys.stderr.write(f"\n  [piece {event.piece + 1}: {event.path}]\n")
            sys.stderr.flush()
    assert result is not None
    if args.json and not args.stream:
        out.write(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n")
    elif not args.json:
        out.write(format_result(result))
    return 0
