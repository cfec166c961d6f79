"""JUnit XML: one ``<testsuite>`` per suite, one ``<testcase>`` per case, failures with their reasons."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

# Characters XML 1.0 cannot hold at all, even escaped: a model's output may contain them.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _clean(text: Any) -> str:
    return _INVALID_XML.sub("\ufffd", str(text))


def _details(case: Mapping[str, Any], wanted: tuple[str, ...]) -> str:
    lines = []
    for attempt in case["attempts"]:
        label = f"repeat {attempt['repeat'] + 1}: " if len(case["attempts"]) > 1 else ""
        if attempt.get("error") and "error" in wanted:
            lines.append(f"{label}error: {attempt['error']}")
        for result in attempt["assertions"]:
            if result["outcome"] in wanted and result["gating"]:
                lines.append(f"{label}{result['outcome']}: {result['description']}: {result['reason']}")
    return "\n".join(lines)


def _output(case: Mapping[str, Any]) -> str:
    parts = []
    for attempt in case["attempts"]:
        if attempt.get("output") is not None:
            parts.append(f"--- output (repeat {attempt['repeat'] + 1}) ---\n{attempt['output']}")
        for result in attempt["assertions"]:
            if not result["gating"]:
                parts.append(f"model-graded, not gating: {result['outcome']}: {result['description']}: {result['reason']}")
    return "\n".join(parts)


def render_junit(report: Mapping[str, Any]) -> str:
    """The report as JUnit XML text."""
    root = ET.Element("testsuites", name="coach eval")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for name, suite in report["suites"].items():
        cases = [c for c in report["cases"] if c["suite"] == name]
        counts = suite["counts"]
        attrs = {"tests": len(cases), "failures": counts.get("fail", 0), "errors": counts.get("error", 0),
                 "skipped": counts.get("skip", 0) + counts.get("not-run", 0)}
        for key in totals:
            totals[key] += attrs[key]
        element = ET.SubElement(root, "testsuite", name=name, time=f"{suite['seconds']:.3f}",
                                timestamp=report["started"], **{k: str(v) for k, v in attrs.items()})
        properties = ET.SubElement(element, "properties")
        for metric, value in suite["metrics"].items():
            ET.SubElement(properties, "property", name=metric, value=f"{value:.6g}")
        for case in cases:
            seconds = sum(a["seconds"] for a in case["attempts"])
            testcase = ET.SubElement(element, "testcase", classname=f"coach-eval.{name}", name=_clean(case["id"]),
                                     file=_clean(case["where"].rsplit(":", 1)[0]), line=case["where"].rsplit(":", 1)[-1],
                                     time=f"{seconds:.3f}")
            status = case["status"]
            if status == "fail":
                failure = ET.SubElement(testcase, "failure", message=_clean(case["reason"])[:500], type="assertion")
                failure.text = _clean(_details(case, ("fail", "error")))
            elif status == "error":
                error = ET.SubElement(testcase, "error", message=_clean(case["reason"])[:500], type="error")
                error.text = _clean(_details(case, ("error",)) or case["reason"])
            elif status in ("skip", "not-run"):
                ET.SubElement(testcase, "skipped", message=_clean(case["reason"] or status)[:500])
            output = _output(case)
            if output:
                ET.SubElement(testcase, "system-out").text = _clean(output)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{report['seconds']:.3f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
