"""``coach search "QUERY"``: find the principle cards (and your notes) that fit a situation."""

from __future__ import annotations

import argparse
import json
import sys

from coach.config import get_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``search`` subcommand."""
    parser = sub.add_parser("search", help="find the principles that fit a situation")
    parser.add_argument("query", help="describe the situation in your own words")
    parser.add_argument("-k", type=int, default=5, help="number of results (default 5)")
    parser.add_argument("--role", choices=["mentor", "mentee"], help="only cards for this role")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the results as text or JSON; notices (e.g. truncation) go to stderr."""
    from coach.knowledge import search

    response = search(args.query, get_settings(), k=args.k, applies_to=args.role)
    for notice in response.notices:
        print(f"notice: {notice}", file=sys.stderr)
    if args.json:
        payload = {"query": response.query, "notices": response.notices,
                   "results": [r.to_dict() for r in response.results]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return 0
    for rank, result in enumerate(response.results, 1):
        print(f"{rank}. {result.title}  [{result.id}]  score {result.score:.2f}")
        print(f"   {result.summary}")
        print(f"   source: {result.source}")
    return 0
