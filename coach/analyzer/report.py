"""Findings as text, JSON and SARIF 2.1.0 (the format GitHub code scanning reads). Pure functions."""

from __future__ import annotations

import json
from importlib import metadata

from coach.analyzer.model import LEVELS, Analysis, Finding
from coach.analyzer.rules import Rule, RuleSet

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVEL = {"suggestion": "note", "warning": "warning", "error": "error"}
TOOL_NAME = "coach-critique"


def at_least(findings: list[Finding], min_level: str) -> list[Finding]:
    """Findings at ``min_level`` or above (suggestion < warning < error)."""
    floor = LEVELS.index(min_level)
    return [f for f in findings if LEVELS.index(f.level) >= floor]


def summary(findings: list[Finding]) -> dict[str, int]:
    """Counts per level, e.g. ``{"error": 1, "warning": 2, "suggestion": 0}``."""
    return {level: sum(f.level == level for f in findings) for level in reversed(LEVELS)}


def _tool_version() -> str:
    try:
        return metadata.version("mentor-coach")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def format_text(analysis: Analysis, findings: list[Finding], path: str) -> str:
    """Human-readable report: one ``path:line:col: level [rule] message`` per finding, then a summary."""
    lines = []
    for f in findings:
        lines.append(f"{path}:{f.line}:{f.column}: {f.level} [{f.rule}] {f.message}")
        quoted = f.text if len(f.text) <= 120 else f.text[:117] + "..."
        lines.append(f"    {quoted!r}" + (f" -> {f.fix!r}" if f.fix is not None else ""))
    counts = summary(findings)
    total = len(findings)
    lines.append(
        f"{path}: {total} finding{'s' if total != 1 else ''} "
        f"({counts['error']} error, {counts['warning']} warning, {counts['suggestion']} suggestion); "
        f"main behaviour: {analysis.behaviour}"
    )
    lines.extend(f"{path}: note: {notice}" for notice in analysis.notices)
    return "\n".join(lines) + "\n"


def format_json(analysis: Analysis, findings: list[Finding], path: str) -> str:
    """JSON report: the analysis (with only the shown findings), the file name and level counts."""
    data = analysis.to_dict()
    data["findings"] = [f.to_dict() for f in findings]
    return json.dumps({"file": path, "summary": summary(findings), **data}, ensure_ascii=False, indent=2) + "\n"


def _sarif_rule(rule: Rule) -> dict:
    card = f"knowledge/principles/{rule.principle}.md"
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.message},
        "help": {
            "text": f"{rule.message}\n\nPrinciple card: {card}",
            "markdown": f"{rule.message}\n\nPrinciple card: [`{rule.principle}`]({card})",
        },
        "defaultConfiguration": {"level": SARIF_LEVEL[rule.level]},
        "properties": {
            "principle": rule.principle,
            "kind": rule.kind,
            "polarity": rule.polarity,
            "tags": ["mentoring", rule.kind, rule.principle],
        },
    }


def _end(f: Finding, text: str) -> tuple[int, int]:
    """1-based line and exclusive end column of a finding's span."""
    before = text[: f.offset + f.length]
    line = before.count("\n") + 1
    return line, f.offset + f.length - (before.rfind("\n") + 1) + 1


def _sarif_result(f: Finding, rule_index: int, uri: str, text: str) -> dict:
    end_line, end_column = _end(f, text)
    region = {
        "startLine": f.line,
        "startColumn": f.column,
        "endLine": end_line,
        "endColumn": end_column,
        "charOffset": f.offset,
        "charLength": f.length,
        "snippet": {"text": f.text},
    }
    result = {
        "ruleId": f.rule,
        "ruleIndex": rule_index,
        "level": SARIF_LEVEL[f.level],
        "message": {"text": f.message},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}],
        "properties": {"principle": f.principle, "kind": f.kind, "polarity": f.polarity},
    }
    if f.fix is not None:
        deleted = {k: region[k] for k in ("startLine", "startColumn", "endLine", "endColumn")}
        result["fixes"] = [{
            "description": {"text": f"Replace with: {f.fix}"},
            "artifactChanges": [{
                "artifactLocation": {"uri": uri},
                "replacements": [{"deletedRegion": deleted, "insertedContent": {"text": f.fix}}],
            }],
        }]
    return result


def to_sarif(reports: list[tuple[str, str, list[Finding]]], rules: RuleSet) -> dict:
    """A SARIF 2.1.0 log for ``(uri, text, findings)`` triples; columns count Unicode code points."""
    index = {rule.id: i for i, rule in enumerate(rules.rules)}
    results = [_sarif_result(f, index[f.rule], uri, text) for uri, text, findings in reports for f in findings]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": TOOL_NAME,
                "semanticVersion": _tool_version(),
                "rules": [_sarif_rule(rule) for rule in rules.rules],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
