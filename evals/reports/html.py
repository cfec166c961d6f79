"""A single-file HTML report (no external resources, no script) to browse every case.

Everything that comes from a case file or a model is escaped with :func:`html.escape`; a case whose
output contains ``<script>`` shows it as text. Failing and errored cases open by default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from html import escape
from typing import Any

from evals.reports import fmt

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:1200px}
table{border-collapse:collapse;margin:.5rem 0 1rem}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}pre{background:#f7f7f7;padding:.5rem;white-space:pre-wrap;word-break:break-word;margin:.25rem 0}
details{border:1px solid #ddd;border-radius:4px;margin:.25rem 0;padding:.25rem .5rem}summary{cursor:pointer}
.pass{color:#176b2c}.fail{color:#b00020}.error{color:#a15c00}.skip,.not-run,.ungated{color:#666}
.badge{font-weight:600;text-transform:uppercase;font-size:12px}
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _badge(status: str) -> str:
    return f'<span class="badge {_e(status)}">{_e(status)}</span>'


def _input(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return f"<pre>{_e(text)}</pre>"


def _case(case: Mapping[str, Any]) -> str:
    opened = " open" if case["status"] in ("fail", "error") else ""
    rows = [f"<details{opened}><summary>{_badge(case['status'])} <code>{_e(case['id'])}</code> "
            f"{_e(case['reason'])}</summary>",
            f"<p>{_e(case['where'])} · target <code>{_e(case['target'])}</code> · pass rule {_e(case['pass_rule'])} "
            f"· {case['passes']}/{case['attempts_run']} attempts passed"
            + (f" · model-graded: {_badge(case['rubric_status'])}" if case.get("rubric_status") else "") + "</p>",
            "<h4>Input</h4>", _input(case["input"])]
    if case.get("metadata"):
        rows.append(f"<p>metadata: <code>{_e(json.dumps(case['metadata'], ensure_ascii=False, default=str))}</code></p>")
    for attempt in case["attempts"]:
        rows.append(f"<h4>Attempt {attempt['repeat'] + 1}: {_badge(attempt['status'])} · {fmt.seconds(attempt['seconds'])}"
                    f" · {_e(fmt.tokens(attempt['totals']))}</h4>")
        if attempt.get("error"):
            rows.append(f'<p class="error">{_e(attempt["error"])}</p>')
        if attempt.get("output") is not None:
            rows.append(f"<pre>{_e(attempt['output'])}</pre>")
        if attempt["assertions"]:
            rows.append("<table><tr><th>verdict</th><th>assertion</th><th>reason</th><th>score</th></tr>")
            for a in attempt["assertions"]:
                note = "" if a["gating"] else " (not gating)"
                score = "" if a["score"] is None else f"{a['score']:.3f}"
                rows.append(f"<tr><td>{_badge(a['outcome'])}{_e(note)}</td><td><code>{_e(a['description'])}</code></td>"
                            f"<td>{_e(a['reason'])}</td><td>{score}</td></tr>")
            rows.append("</table>")
    rows.append("</details>")
    return "\n".join(rows)


def render_html(report: Mapping[str, Any]) -> str:
    """The report as one self-contained HTML page."""
    parts = ["<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
             f"<title>coach eval: {_e(report['status'])}</title><style>{_CSS}</style></head><body>",
             f"<h1>coach eval: {_badge(report['status'])} (exit {int(report['exit_code'])})</h1>",
             f"<p>{_e(report['started'])} · {fmt.seconds(report['seconds'])} · repeats {_e(report['options'].get('repeat'))}"
             f" · pass rule {_e(report['options'].get('pass_rule'))}</p>"]
    if report.get("stop_reason"):
        parts.append(f'<p class="error"><strong>Stopped early:</strong> {_e(report["stop_reason"])}</p>')
    for role, model in (report.get("models") or {}).items():
        parts.append(f"<p>{_e(role)} model: <code>{_e(model.get('model'))}</code> ({_e(model.get('provider'))})</p>")
    parts.append("<table><tr><th>suite</th><th>pass</th><th>fail</th><th>error</th><th>skip</th><th>pass rate [95% CI]</th>"
                 "<th>scores (mean±se)</th><th>model-graded</th><th>tokens</th><th>time</th></tr>")
    for name, suite in report["suites"].items():
        c = suite["counts"]
        parts.append(f'<tr><td><a href="#suite-{_e(name)}">{_e(name)}</a></td><td>{c["pass"]}</td><td>{c["fail"]}</td>'
                     f"<td>{c['error']}</td><td>{c['skip'] + c['not-run']}</td><td>{_e(fmt.rate(suite['pass_rate']))}</td>"
                     f"<td>{_e(fmt.scores(suite))}</td><td>{_e(fmt.model_graded(suite))}</td>"
                     f"<td>{_e(fmt.tokens(suite['totals']))}</td><td>{fmt.seconds(suite['seconds'])}</td></tr>")
    parts.append("</table>")
    if report.get("gates"):
        parts.append("<h2>Gates</h2><table><tr><th>ok</th><th>gate</th><th>note</th></tr>")
        for gate in report["gates"]:
            status = "pass" if gate["ok"] else ("fail" if gate["gating"] else "ungated")
            parts.append(f"<tr><td>{_badge(status)}</td><td><code>{_e(fmt.gate_text(gate))}</code></td><td>{_e(gate['note'])}</td></tr>")
        parts.append("</table>")
    baseline = report.get("baseline")
    if baseline:
        parts.append(f"<h2>Baseline: {_e(baseline['baseline'])}</h2><table><tr><th>suite</th><th>metric</th><th>before</th>"
                     "<th>now</th><th>change</th><th>se</th><th>beyond noise</th></tr>")
        for ch in baseline["changes"]:
            parts.append(f"<tr><td>{_e(ch['suite'])}</td><td>{_e(ch['metric'])}</td><td>{ch['baseline']:.3f}</td>"
                         f"<td>{ch['current']:.3f}</td><td>{ch['delta']:+.3f}</td><td>{ch['se']:.3f}</td>"
                         f"<td>{_badge('fail') if ch['significant'] else 'no'}</td></tr>")
        parts.append("</table>")
    for notice in report.get("notices") or []:
        parts.append(f"<p><em>{_e(notice)}</em></p>")
    for name in report["suites"]:
        parts.append(f'<h2 id="suite-{_e(name)}">{_e(name)}</h2>')
        parts += [_case(c) for c in report["cases"] if c["suite"] == name]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
