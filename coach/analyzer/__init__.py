"""The deterministic critic of what a manager says (see :mod:`coach.analyzer.model` for its types).

Public API:

- :func:`find_spans` runs the YAML rules only (fast, no model): principle findings with spans.
- :func:`analyze` adds the utterance's main behaviour from the small classifier in
  :mod:`coach.analyzer.behaviour`, and whether permission to advise has been asked.
- :func:`apply_fixes` applies the deterministic fixes that findings carry.

Texts longer than ``settings.max_analyze_chars`` are cut to that length (``analyze`` says so in
``Analysis.notices``) so the time spent on any input is bounded.
"""

from __future__ import annotations

import dataclasses

from coach.analyzer.engine import client_granted, match_rules, permission_in
from coach.analyzer.fixes import apply_fixes
from coach.analyzer.model import Analysis, AnalysisContext, Finding
from coach.analyzer.rules import RuleSet, rules_for
from coach.config import get_settings

__all__ = ["analyze", "apply_fixes", "default_rules", "find_spans", "Analysis", "AnalysisContext", "Finding"]


def default_rules() -> RuleSet:
    """The rules in ``settings.knowledge_dir / "rules"``, loaded and compiled once per process."""
    return rules_for(get_settings().knowledge_dir)


def _bounded(text: str) -> tuple[str, str | None]:
    limit = get_settings().max_analyze_chars
    if len(text) <= limit:
        return text, None
    return text[:limit], f"input truncated to {limit} characters (COACH_MAX_ANALYZE_CHARS)"


def find_spans(text: str, context: AnalysisContext | None = None, rules: RuleSet | None = None) -> list[Finding]:
    """Rule findings for ``text`` in text order (rules only; no model is loaded).

    ``context`` tells whether permission to advise was asked earlier in the conversation; without
    it, advice counts as unasked unless this text asks first. Only the first
    ``settings.max_analyze_chars`` characters are examined.
    """
    if not text or text.isspace():
        return []
    bounded, _ = _bounded(text)
    return match_rules(bounded, rules or default_rules(), context)


def analyze(text: str, context: AnalysisContext | None = None, rules: RuleSet | None = None) -> Analysis:
    """Findings, main behaviour and permission state of one utterance or draft.

    Never raises on any string: empty or whitespace-only input gives an empty analysis with a notice,
    over-long input is truncated with a notice.
    """
    context = context or AnalysisContext()
    rules = rules or default_rules()
    if not text or text.isspace():
        return Analysis(text=text, permission_asked=context.permission_asked,
                        notices=["empty input: there is nothing to analyze"])
    bounded, notice = _bounded(text)
    findings = match_rules(bounded, rules, context)
    analysis = Analysis(
        text=text,
        findings=findings,
        permission_asked=context.permission_asked
        or any(f.kind == "permission" for f in findings)
        or any(permission_in(turn, rules) for turn in context.previous_manager_turns),
        notices=[notice] if notice else [],
    )
    # Imported here: the classifier loads the embedding model, which rules-only callers never need.
    from coach.analyzer.behaviour import label_behaviour

    # The classifier tells advice with permission from advice without it: give it the whole picture,
    # including permission asked in earlier turns and a client who asked for advice.
    licensed = analysis.permission_asked or client_granted(rules, context)
    labelled = dataclasses.replace(context, permission_asked=licensed)
    analysis.behaviour, analysis.behaviour_scores = label_behaviour(bounded, findings, labelled)
    return analysis
