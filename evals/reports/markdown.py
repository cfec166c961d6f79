"""Markdown summary for a pull-request comment: status, suites, gates, baseline drops, failing cases."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from evals.reports import fmt

#: Failing cases listed in the comment (the HTML report has them all).
MAX_LISTED = 25
_ICONS = {"pass": "✅", "fail": "❌", "error": "⚠️", "interrupted": "⏹️"}


def _cell(text: Any, limit: int = 160) -> str:
    """Text safe in a table cell: HTML escaped (GitHub renders HTML in comments), pipes escaped, one line."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return html.escape(value, quote=False).replace("|", "\\|").replace("`", "'")


def _code(text: Any, limit: int = 160) -> str:
    """Text for a code span: shown literally by Markdown, so only backticks and pipes need care."""
    value = " ".join(str(text).split())[:limit]
    return "`" + value.replace("`", "'").replace("|", "\\|") + "`"


def render_markdown(report: Mapping[str, Any]) -> str:
    """The report as Markdown."""
    status = report["status"]
    lines = [f"## {_ICONS.get(status, '')} coach eval: {status} (exit {report['exit_code']})", ""]
    if report.get("stop_reason"):
        lines += [f"> **Stopped early:** {_cell(report['stop_reason'], 400)}", ""]
    models = report.get("models") or {}
    if models:
        shown = ", ".join(f"{role}: {_code(m.get('model'))} ({_cell(m.get('provider'))})" for role, m in models.items())
        lines += [f"Models: {shown}. Repeats: {report['options'].get('repeat')}, pass rule: "
                  f"{_code(report['options'].get('pass_rule'))}.", ""]
    lines += ["| suite | cases | pass | fail | error | skip | pass rate [95% CI] | scores (mean±se) | model-graded | tokens | time |",
              "|---|---:|---:|---:|---:|---:|---|---|---|---|---:|"]
    for name, suite in report["suites"].items():
        c = suite["counts"]
        lines.append(
            f"| {_cell(name)} | {sum(c.values())} | {c['pass']} | {c['fail']} | {c['error']} | {c['skip'] + c['not-run']} "
            f"| {fmt.rate(suite['pass_rate'])} | {_cell(fmt.scores(suite))} | {fmt.model_graded(suite)} "
            f"| {fmt.tokens(suite['totals'])} | {fmt.seconds(suite['seconds'])} |")
    gates = report.get("gates") or []
    if gates:
        lines += ["", "**Gates**", ""]
        for gate in gates:
            mark = "✅" if gate["ok"] else ("❌" if gate["gating"] else "➖")
            note = f" — {_cell(gate['note'])}" if gate.get("note") else ""
            lines.append(f"- {mark} {_code(fmt.gate_text(gate))}{note}")
    baseline = report.get("baseline")
    if baseline:
        lines += ["", f"**Compared with** {_code(baseline['baseline'], 300)}", ""]
        if baseline["regressions"]:
            for change in baseline["regressions"]:
                lines.append(f"- ❌ {change['suite']} {change['metric']}: {change['baseline']:.3f} → {change['current']:.3f} "
                             f"(Δ {change['delta']:+.3f}, beyond noise: se {change['se']:.3f})")
        else:
            lines.append("- no drop beyond noise")
        if baseline["newly_failing"]:
            lines.append(f"- newly failing: {', '.join(_cell(c) for c in baseline['newly_failing'][:MAX_LISTED])}")
    bad = [c for c in report["cases"] if c["status"] in ("fail", "error")]
    if bad:
        lines += ["", f"**Failing and errored cases** ({len(bad)})", ""]
        for case in bad[:MAX_LISTED]:
            lines.append(f"- {case['status']}: {_code(case['suite'] + '/' + case['id'])} — {_cell(case['reason'], 240)}")
        if len(bad) > MAX_LISTED:
            lines.append(f"- … and {len(bad) - MAX_LISTED} more in the HTML report")
    notices = report.get("notices") or []
    if notices:
        lines += ["", *[f"> {_cell(n, 400)}" for n in notices]]
    return "\n".join(lines) + "\n"
