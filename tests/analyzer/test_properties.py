"""Property-based tests: the analyzer never raises on any text, and every span lies inside the input."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coach.analyzer import analyze, apply_fixes, find_spans
from coach.analyzer.engine import match_rules
from coach.analyzer.model import KINDS, LEVELS, AnalysisContext
from coach.analyzer.rules import load_rules, read_principle_ids
from coach.config import PROJECT_ROOT

KNOWLEDGE = PROJECT_ROOT / "knowledge"

RULES = load_rules(KNOWLEDGE / "rules", read_principle_ids(KNOWLEDGE))
RULE_IDS = {r.id for r in RULES.rules}
# Pieces that make rules fire, mixed with arbitrary text so matches meet odd neighbours.
PHRASES = sorted({ex for r in RULES.rules for ex in r.examples_match + r.examples_no_match})
MARKERS = ["<!-- coach-ignore -->", "<!-- coach-ignore directive-should", "coach-ignore-line", "-->", "\n\n", '"', "\u201c", "'", "?", "\r\n"]
WORDS = ["you", "should", "just", "I", "must", "why", "don't", "\u2019", "what", "so", "it", "sounds", "like", "."]

piece = st.one_of(
    st.sampled_from(PHRASES),
    st.sampled_from(MARKERS),
    st.sampled_from(WORDS),
    st.text(max_size=12),
    st.text(alphabet=st.characters(categories=["L", "M", "N", "P", "S", "Z", "C"]), max_size=8),
    # Long runs of one unit: the inputs that make backtracking regexes slow.
    st.builds(lambda unit, n: unit * n, st.sampled_from(WORDS + MARKERS + ["so, ", "a-", "I think "]), st.integers(0, 300)),
)
mixed_text = st.lists(piece, max_size=12).map(" ".join)
any_text = st.one_of(st.text(max_size=300), mixed_text)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_valid(text: str, findings) -> None:
    for f in findings:
        assert 0 <= f.offset and f.length > 0 and f.offset + f.length <= len(text)
        assert text[f.offset:f.offset + f.length] == f.text
        assert f.line == text.count("\n", 0, f.offset) + 1
        assert f.column == f.offset - (text.rfind("\n", 0, f.offset) + 1) + 1
        assert f.level in LEVELS and f.kind in KINDS and f.rule in RULE_IDS
    assert [f.offset for f in findings] == sorted(f.offset for f in findings)


@SETTINGS
@given(any_text)
def test_find_spans_never_raises_and_spans_are_exact(text: str) -> None:
    _assert_valid(text, find_spans(text, rules=RULES))


@SETTINGS
@given(any_text, st.text(max_size=80), st.booleans(), st.lists(mixed_text, max_size=3))
def test_context_never_breaks_matching(text: str, client: str, asked: bool, turns: list[str]) -> None:
    context = AnalysisContext(prev_client_text=client, permission_asked=asked, previous_manager_turns=tuple(turns))
    findings = find_spans(text, context, rules=RULES)
    _assert_valid(text, findings)
    if asked:
        assert not any(f.rule == "advice-unasked" for f in findings)


@SETTINGS
@given(mixed_text)
def test_prefilter_and_lowercase_twins_are_invisible(text: str) -> None:
    assert match_rules(text, RULES) == match_rules(text, RULES, use_prefilter=False, use_fast=False)


@SETTINGS
@given(any_text)
def test_apply_fixes_never_raises_and_only_touches_fixed_spans(text: str) -> None:
    findings = find_spans(text, rules=RULES)
    fixed = apply_fixes(text, findings)
    if not any(f.fix is not None for f in findings):
        assert fixed == text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_text)
def test_analyze_never_raises(text: str) -> None:
    analysis = analyze(text, rules=RULES)
    _assert_valid(text, analysis.findings)
    from coach.analyzer.model import BEHAVIOURS

    assert analysis.behaviour in BEHAVIOURS
