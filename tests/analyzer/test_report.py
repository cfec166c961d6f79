"""Output formats: SARIF 2.1.0 as GitHub code scanning reads it, JSON and text."""

from __future__ import annotations

import json

from coach.analyzer import find_spans
from coach.analyzer.model import Analysis
from coach.analyzer.report import at_least, format_json, format_text, summary, to_sarif

TEXT = "Great to see you.\n\U0001F600 You should call her first. Suck it up."


def _sarif(rules) -> dict:
    findings = find_spans(TEXT, rules=rules)
    # Round-trip through JSON: what a consumer reads is what we check.
    return json.loads(json.dumps(to_sarif([("notes/draft.md", TEXT, findings)], rules)))


def test_sarif_top_level_and_driver(rules) -> None:
    log = _sarif(rules)
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    assert run["columnKind"] == "unicodeCodePoints"
    driver = run["tool"]["driver"]
    assert driver["name"] == "coach-critique"
    assert [r["id"] for r in driver["rules"]] == [r.id for r in rules.rules]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        assert rule["properties"]["principle"] in rule["help"]["text"]


def test_sarif_results_have_locations_levels_and_fixes(rules) -> None:
    log = _sarif(rules)
    run = log["runs"][0]
    results = run["results"]
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels["directive-should"] == "warning"
    assert levels["judgmental-dismissive"] == "error"
    assert levels["story-first-person"] == "note" if "story-first-person" in levels else True
    for result in results:
        rule = run["tool"]["driver"]["rules"][result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"] == "notes/draft.md"
        region = physical["region"]
        assert {"startLine", "startColumn", "endColumn"} <= set(region)
        start = region["charOffset"]
        assert TEXT[start:start + region["charLength"]] == region["snippet"]["text"]
        # Columns count code points: the emoji before the directive is one column.
        line_text = TEXT.split("\n")[region["startLine"] - 1]
        assert line_text[region["startColumn"] - 1:region["endColumn"] - 1] == region["snippet"]["text"]
    directive = next(r for r in results if r["ruleId"] == "directive-should")
    assert directive["locations"][0]["physicalLocation"]["region"]["startColumn"] == 3
    (fix,) = directive["fixes"]
    replacement = fix["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == "One thing that worked for me was to"
    assert replacement["deletedRegion"]["startLine"] == 2


def test_level_filter_and_summary(rules) -> None:
    findings = find_spans(TEXT, rules=rules)
    warnings_up = at_least(findings, "warning")
    assert warnings_up and all(f.level in ("warning", "error") for f in warnings_up)
    assert [f.level for f in at_least(findings, "error")] == ["error"]
    counts = summary(findings)
    assert counts["error"] == 1 and sum(counts.values()) == len(findings)


def test_json_and_text_reports(rules) -> None:
    findings = find_spans(TEXT, rules=rules)
    analysis = Analysis(text=TEXT, findings=findings, behaviour="advice-without-permission")
    data = json.loads(format_json(analysis, findings, "draft.md"))
    assert data["file"] == "draft.md" and data["behaviour"] == "advice-without-permission"
    assert data["summary"]["error"] == 1
    assert {f["rule"] for f in data["findings"]} == {f.rule for f in findings}
    text = format_text(analysis, findings, "draft.md")
    assert "draft.md:2:3: warning [directive-should]" in text
    assert "-> 'One thing that worked for me was to'" in text
    assert text.rstrip().endswith("main behaviour: advice-without-permission")
