"""Plain-text summary printed at the end of ``coach eval``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evals.reports import fmt

MAX_LISTED = 15


def _one_line(text: Any, limit: int = 200) -> str:
    value = " ".join(str(text).split())
    return value if len(value) <= limit else value[: limit - 3] + "..."


def render_terminal(report: Mapping[str, Any]) -> str:
    """Suites, gates, baseline drops and the first failing cases, as aligned text."""
    header = f"{'suite':<12} {'cases':>5} {'pass':>5} {'fail':>5} {'err':>4} {'skip':>5}  {'pass rate [95% CI]':<28} {'time':>8}  scores / model-graded / tokens"
    lines = [header, "-" * len(header)]
    for name, suite in report["suites"].items():
        c = suite["counts"]
        extra = "; ".join(x for x in (fmt.scores(suite), fmt.model_graded(suite), fmt.tokens(suite["totals"])) if x != "-")
        lines.append(f"{name[:12]:<12} {sum(c.values()):>5} {c['pass']:>5} {c['fail']:>5} {c['error']:>4} "
                     f"{c['skip'] + c['not-run']:>5}  {fmt.rate(suite['pass_rate']):<28} {fmt.seconds(suite['seconds']):>8}  {extra}")
        for reason in suite["reasons"][:3]:
            lines.append(f"{'':<12} note: {_one_line(reason)}")
    failed_gates = [g for g in report.get("gates") or [] if not g["ok"]]
    if failed_gates:
        lines.append("")
        for gate in failed_gates:
            label = "BELOW THRESHOLD" if gate["gating"] else "below (not gating)"
            lines.append(f"{label}: {fmt.gate_text(gate)}" + (f"  ({gate['note']})" if gate.get("note") else ""))
    baseline = report.get("baseline")
    if baseline:
        lines.append("")
        if baseline["regressions"]:
            for ch in baseline["regressions"]:
                lines.append(f"DROP beyond noise: {ch['suite']} {ch['metric']} {ch['baseline']:.3f} -> {ch['current']:.3f} "
                             f"(delta {ch['delta']:+.3f}, se {ch['se']:.3f})")
        else:
            lines.append(f"baseline {baseline['baseline']}: no drop beyond noise")
    bad = [c for c in report["cases"] if c["status"] in ("fail", "error")]
    if bad:
        lines.append("")
        for case in bad[:MAX_LISTED]:
            lines.append(f"{case['status'].upper()} {case['suite']}/{case['id']} ({case['where']}): {_one_line(case['reason'])}")
        if len(bad) > MAX_LISTED:
            lines.append(f"... and {len(bad) - MAX_LISTED} more (see the HTML report)")
    if report.get("stop_reason"):
        lines += ["", f"stopped early: {report['stop_reason']}"]
    lines += ["", f"result: {report['status']} (exit {report['exit_code']}) in {fmt.seconds(report['seconds'])}"]
    return "\n".join(lines)
