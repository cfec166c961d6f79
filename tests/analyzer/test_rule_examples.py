"""Every example of every rule, run as a test (Vale-style: the rule file documents and tests itself)."""

from __future__ import annotations

import pytest

from coach.analyzer import find_spans
from coach.analyzer.model import KINDS
from coach.analyzer.rules import load_rules, read_principle_ids
from coach.config import PROJECT_ROOT

KNOWLEDGE = PROJECT_ROOT / "knowledge"

_RULES = load_rules(KNOWLEDGE / "rules", read_principle_ids(KNOWLEDGE))
_MATCH = [(r.id, text) for r in _RULES.rules for text in r.examples_match]
_NO_MATCH = [(r.id, text) for r in _RULES.rules for text in r.examples_no_match]


@pytest.mark.parametrize(("rule_id", "text"), _MATCH)
def test_rule_matches_its_match_examples(rule_id: str, text: str) -> None:
    findings = [f for f in find_spans(text, rules=_RULES) if f.rule == rule_id]
    assert findings, f"{rule_id} should flag {text!r}"
    for f in findings:
        assert text[f.offset:f.offset + f.length] == f.text


@pytest.mark.parametrize(("rule_id", "text"), _NO_MATCH)
def test_rule_ignores_its_no_match_examples(rule_id: str, text: str) -> None:
    flagged = [f.text for f in find_spans(text, rules=_RULES) if f.rule == rule_id]
    assert not flagged, f"{rule_id} should not flag {text!r}, but flagged {flagged}"


def test_every_family_is_present_and_every_kind_is_covered() -> None:
    families = {p.stem for p in (KNOWLEDGE / "rules").glob("*.yaml") if not p.name.startswith("_")}
    assert {"directives", "permission", "story", "listening", "reassurance", "action_plan", "judgmental",
            "humility", "effort", "purpose", "handback"} <= families
    assert {r.kind for r in _RULES.rules} == set(KINDS)


def test_rules_cite_real_principle_cards() -> None:
    ids = read_principle_ids(KNOWLEDGE)
    for rule in _RULES.rules:
        assert rule.principle in ids
        # The message names the principle it applies, as the issue asks.
        assert rule.principle in rule.message, rule.id


def test_error_level_is_kept_for_harsh_dismissal_only() -> None:
    errors = {r.id for r in _RULES.rules if r.level == "error"}
    assert errors == {"judgmental-dismissive"}
