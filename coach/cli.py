"""The ``coach`` command. Each subcommand lives in its own module under ``coach/commands/``.

A command module exposes ``register(subparsers) -> None``; it adds its parser and sets
``func=handler`` where ``handler(args) -> int`` returns the exit code. Modules are discovered
here, so adding a command never edits this file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from coach import commands
from coach.errors import CoachError, UsageError


def _disable_telemetry() -> None:
    """Chroma and Gradio ship analytics that are on by default; ours are always off."""
    # setdefault on the process environment is the only switch both libraries read; it never
    # overrides a user's explicit choice and is done once, before either library is imported.
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every discovered subcommand."""
    parser = argparse.ArgumentParser(prog="coach", description="Mentor Coach: practise mentoring offline.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    _disable_telemetry()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"coach: error: {exc}", file=sys.stderr)
        return 2
    except CoachError as exc:
        print(f"coach: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("coach: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
