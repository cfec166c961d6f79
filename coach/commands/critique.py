"""``coach critique [FILE|-]``: lint what a manager says against the mentoring principles.

Exit codes: 0 = no error-level findings, 1 = at least one error-level finding (after ``--fix``: one
that the fixes did not remove), 2 = bad input or usage (binary or non-UTF-8 input, empty input, text
over ``COACH_MAX_ANALYZE_CHARS``, ``--write`` without a file).

``--fix`` writes the fixed text to stdout and a unified diff to stderr; with ``--write`` it rewrites
FILE in place and prints the diff to stdout.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

from coach.analyzer import analyze, apply_fixes, default_rules, find_spans
from coach.analyzer.model import LEVELS, Analysis, AnalysisContext
from coach.analyzer.report import at_least, format_json, format_text, to_sarif
from coach.config import get_settings
from coach.errors import UsageError
from coach.textinput import BOM, read_utf8

_BOM = BOM


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``critique`` subcommand."""
    parser = subparsers.add_parser(
        "critique",
        help="check a text against the mentoring principles (spans, levels, fixes)",
        description="Report what follows or breaks the mentoring principles, span by span. "
        "Exit 1 only when an error-level finding remains.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="UTF-8 text file, or - for stdin (default)")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="output format (default text)")
    parser.add_argument("--min-level", choices=LEVELS, default="suggestion", help="hide findings below this level")
    parser.add_argument("--fix", action="store_true", help="apply deterministic fixes; print the fixed text and a diff")
    parser.add_argument("--write", action="store_true", help="with --fix: rewrite FILE in place")
    parser.add_argument("--permission-asked", action="store_true",
                        help="permission to advise was already asked earlier in the conversation")
    parser.add_argument("--no-behaviour", action="store_true",
                        help="rules only: skip the behaviour classifier (faster, no model is loaded)")
    parser.set_defaults(func=handle)


def read_input(file: str, max_chars: int) -> tuple[str, str, bool]:
    """``(display name, text, had_bom)`` of FILE or stdin; raises :class:`UsageError` on unusable input."""
    name = "stdin" if file == "-" else file
    # Bytes per character are at most 4 in UTF-8: anything larger cannot be within the limit.
    max_bytes = max_chars * 4
    if file == "-" and (sys.stdin is None or sys.stdin.isatty()):
        raise UsageError("no input: give a FILE, or pipe text on stdin")
    text = read_utf8(
        file, max_bytes, reader="critique",
        too_large=f"is larger than the analyzer limit of {max_chars} characters "
                  "(COACH_MAX_ANALYZE_CHARS); split it into smaller parts",
    )
    had_bom = text.startswith(_BOM)
    text = text.removeprefix(_BOM)
    if not text.strip():
        what = "empty" if not text else "only whitespace"
        raise UsageError(f"nothing to critique: {name} is {what}")
    if len(text) > max_chars:
        raise UsageError(f"{name} has {len(text)} characters, over the analyzer limit of {max_chars} "
                         "(COACH_MAX_ANALYZE_CHARS); split it into smaller parts")
    return name, text, had_bom


def _analysis(text: str, context: AnalysisContext, rules_only: bool) -> Analysis:
    if rules_only:
        findings = find_spans(text, context)
        return Analysis(text=text, findings=findings, behaviour="other",
                        permission_asked=context.permission_asked or any(f.kind == "permission" for f in findings),
                        notices=["behaviour not classified (--no-behaviour)"])
    return analyze(text, context)


def _write_in_place(path: Path, text: str) -> None:
    """Replace ``path`` atomically, so an interrupted write never leaves half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _fix(args: argparse.Namespace, name: str, text: str, had_bom: bool, analysis: Analysis,
         context: AnalysisContext) -> int:
    shown = at_least(analysis.findings, args.min_level)
    fixed = apply_fixes(text, shown)
    diff = "".join(difflib.unified_diff(
        text.splitlines(keepends=True), fixed.splitlines(keepends=True), fromfile=name, tofile=f"{name} (fixed)"
    ))
    applied = sum(1 for f in shown if f.fix is not None)
    remaining = find_spans(fixed, context)
    errors = sum(f.level == "error" for f in remaining)
    if args.write:
        if fixed != text:
            _write_in_place(Path(args.file), (_BOM if had_bom else "") + fixed)
        sys.stdout.write(diff)
    else:
        sys.stdout.write(fixed)
        sys.stderr.write(diff)
    print(f"coach critique: {applied} fix{'es' if applied != 1 else ''} available, "
          f"{'written to ' + name if args.write and fixed != text else 'applied'}; "
          f"{errors} error-level finding{'s' if errors != 1 else ''} remain", file=sys.stderr)
    return 1 if errors else 0


def handle(args: argparse.Namespace) -> int:
    """Run the critique; returns the exit code."""
    if args.write and not args.fix:
        raise UsageError("--write only makes sense with --fix")
    if args.write and args.file == "-":
        raise UsageError("--write needs a FILE; with stdin, --fix prints the fixed text instead")
    settings = get_settings()
    name, text, had_bom = read_input(args.file, settings.max_analyze_chars)
    context = AnalysisContext(permission_asked=args.permission_asked)
    # SARIF and --fix have no place for the behaviour label, so they skip loading the classifier.
    analysis = _analysis(text, context, args.no_behaviour or args.fix or args.format == "sarif")
    if args.fix:
        return _fix(args, name, text, had_bom, analysis, context)
    shown = at_least(analysis.findings, args.min_level)
    if args.format == "json":
        sys.stdout.write(format_json(analysis, shown, name))
    elif args.format == "sarif":
        uri = "stdin" if args.file == "-" else quote(Path(args.file).as_posix(), safe="/:._-~")
        json.dump(to_sarif([(uri, text, shown)], default_rules()), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_text(analysis, shown, name))
    return 1 if analysis.has_errors() else 0
