"""``coach eval``: run the eval suites, gate on thresholds, write JSON, JUnit, Markdown and HTML reports.

Exit codes: 0 every gate passed; 1 below a threshold (or a drop beyond noise against ``--baseline``);
2 usage or configuration error, a gating case errored (e.g. the model became unreachable), or the cost
ceiling stopped the run; 130 interrupted. Reports are written in every case once the run started.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from coach.config import PROJECT_ROOT, get_settings
from coach.errors import UsageError

# Defaults spelled here (not imported from evals) so building the parser stays cheap for every command.
DEFAULT_SUITES = PROJECT_ROOT / "evals" / "suites"
DEFAULT_CONFIG = PROJECT_ROOT / "evals" / "thresholds.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``eval`` subcommand."""
    parser = sub.add_parser("eval", help="run the eval suites and gate on thresholds (for CI)",
                            description="Run eval cases (YAML/JSONL) against the coach and gate on thresholds.")
    parser.add_argument("paths", nargs="*", type=Path, help=f"case files or folders (default: {DEFAULT_SUITES.name}/ in evals/)")
    parser.add_argument("--suite", action="append", default=[], metavar="NAME", help="run only this suite (repeatable)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="thresholds and run defaults (default: evals/thresholds.yaml)")
    parser.add_argument("--repeat", type=int, metavar="N", help="attempts per case (default: from the config)")
    parser.add_argument("--pass-rule", metavar="RULE", help="all, majority or pass@K: how repeats decide a case")
    parser.add_argument("--jobs", "-j", type=int, metavar="N", help="attempts run at once (default: from the config)")
    parser.add_argument("--no-cache", action="store_true", help="call the models even when an answer is cached")
    parser.add_argument("--max-cost", type=float, metavar="USD", help="stop when priced model calls reach this (default COACH_EVAL_MAX_COST_USD)")
    parser.add_argument("--baseline", type=Path, metavar="REPORT", help="an earlier report.json: flag drops beyond noise")
    gate = parser.add_mutually_exclusive_group()
    gate.add_argument("--gate-rubric", dest="gate_rubric", action="store_true", default=None,
                      help="model-graded verdicts gate (default: only with a grader other than the bundled model)")
    gate.add_argument("--no-gate-rubric", dest="gate_rubric", action="store_false", help="model-graded verdicts never gate")
    parser.add_argument("--out", type=Path, default=Path("eval-report"), help="report folder (default: ./eval-report)")
    for kind, name in (("json", "report.json"), ("junit", "junit.xml"), ("markdown", "summary.md"), ("html", "report.html")):
        parser.add_argument(f"--{kind}", type=Path, metavar="FILE", help=f"{kind} report path (default: OUT/{name})")
    parser.add_argument("--calibrate", nargs="*", type=Path, metavar="FILE",
                        help="measure the grader against human verdicts (default files: evals/calibration/)")
    parser.add_argument("--list", action="store_true", help="list suites and cases without running them")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _outputs(args: argparse.Namespace) -> dict[str, Path]:
    from evals.reports import DEFAULT_NAMES

    return {kind: getattr(args, kind) or args.out / name for kind, name in DEFAULT_NAMES.items()}


def _request(args: argparse.Namespace):
    from evals.session import EvalRequest

    for name in ("repeat", "jobs"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name} must be at least 1 (got {value})")
    if args.max_cost is not None and args.max_cost < 0:
        raise UsageError(f"--max-cost must not be negative (got {args.max_cost})")
    return EvalRequest(paths=args.paths or [DEFAULT_SUITES], suites=args.suite, config_path=args.config,
                       repeat=args.repeat, pass_rule=args.pass_rule, jobs=args.jobs, use_cache=not args.no_cache,
                       max_cost_usd=args.max_cost, baseline=args.baseline, rubric_gating=args.gate_rubric)


def _progress(total: int, quiet: bool):
    from tqdm import tqdm

    bar = tqdm(total=total, desc="eval", unit="case", file=sys.stderr, disable=True if quiet else None, dynamic_ncols=True)

    def on_case(result) -> None:
        bar.set_postfix_str(f"{result.case.suite}/{result.case.id[:30]} {result.status}", refresh=False)
        bar.update(1)
    return bar, on_case


def run(args: argparse.Namespace) -> int:
    """Run, print the summary, write the reports, return the exit code."""
    from evals.reports import write_reports
    from evals.reports.terminal import render_terminal
    from evals.session import execute, prepare

    request = _request(args)
    if args.calibrate is not None:
        return _calibrate(args, request)
    prepared = prepare(request, get_settings())
    if args.list:
        return _list(prepared.cases)
    for notice in prepared.notices:
        print(f"notice: {notice}", file=sys.stderr)
    suites = sorted({c.suite for c in prepared.cases})
    print(f"coach eval: {len(prepared.cases)} cases in {len(suites)} suites ({', '.join(suites)}), "
          f"repeat {prepared.options.repeat}, jobs {prepared.options.jobs}", file=sys.stderr, flush=True)
    bar, on_case = _progress(len(prepared.cases), args.quiet)
    try:
        report, _ = execute(prepared, request, on_case)
    finally:
        bar.close()
    written = write_reports(report, _outputs(args))
    print(render_terminal(report))
    print("reports: " + ", ".join(str(p) for p in written.values()), file=sys.stderr)
    return int(report["exit_code"])


def _list(cases) -> int:
    from evals.targets import TARGETS

    by_suite: dict[str, list] = {}
    for case in cases:
        by_suite.setdefault(case.suite, []).append(case)
    for suite, members in by_suite.items():
        targets = sorted({c.target for c in members})
        notes = [f"{t}: {TARGETS[t].unavailable()}" for t in targets if TARGETS[t].unavailable()]
        print(f"{suite}: {len(members)} cases, target {', '.join(targets)}" + (f"  ({'; '.join(notes)})" if notes else ""))
    return 0


def _calibrate(args: argparse.Namespace, request) -> int:
    import json

    from evals import calibration
    from evals.runner import Runner, RunOptions
    from evals.session import grader_is_bundled

    settings = get_settings()
    cases = calibration.load_items(args.calibrate or [calibration.DEFAULT_DIR])
    options = RunOptions(repeat=1, jobs=request.jobs or 1, use_cache=request.use_cache,
                         max_cost_usd=request.max_cost_usd if request.max_cost_usd is not None else settings.eval_max_cost_usd,
                         rubric_gating=True)
    bar, on_case = _progress(len(cases), args.quiet)
    options.on_case = on_case
    try:
        run = Runner(settings, options).run(cases)
    finally:
        bar.close()
    result = calibration.score(run.results)
    from evals.cache import model_identity

    provider, model, _ = model_identity(settings, "grader")
    label = f"{model} ({provider}{', bundled' if grader_is_bundled(settings) else ''})"
    print(calibration.render(result, label))
    path = args.json or args.out / "calibration.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"grader": label, **result.to_dict()}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"report: {path}", file=sys.stderr)
    if run.interrupted:
        return 130
    unreachable = bool(run.guard.down) or bool(run.stop_reason)
    return 2 if unreachable else 0
