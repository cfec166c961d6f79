"""``coach ingest [PATH ...]``: load principle cards and your own notes into the knowledge store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coach.config import get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ingest`` subcommand."""
    parser = sub.add_parser("ingest", help="load principle cards and your .md/.txt notes into the knowledge store")
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the bundled knowledge/)")
    parser.add_argument("--if-missing", action="store_true", help="only ingest when the store is empty")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Ingest and print what changed; skipped files are named on stderr."""
    from tqdm import tqdm

    from coach.knowledge import ingest, is_empty
    from coach.vectorstore import describe_location

    settings = get_settings()
    if args.if_missing and not is_empty(settings):
        print(f"knowledge store ready at {describe_location(settings)}")
        return 0
    paths = args.paths or [settings.knowledge_dir]

    def progress(items):
        return tqdm(items, desc="ingest", unit="file", disable=args.quiet or None, file=sys.stderr)

    report = ingest(paths, settings, progress=progress)
    for line in report.skipped:
        print(f"skipped {line}", file=sys.stderr)
    print(f"{report.summary()} -> {describe_location(settings)}")
    return 0
