"""The matcher on its own: spans, guards and exceptions, permission across a turn and a conversation."""

from __future__ import annotations

import pytest

from coach.analyzer import find_spans
from coach.analyzer.engine import match_rules
from coach.analyzer.model import AnalysisContext, Finding


def _rules_hit(text: str, rules, context: AnalysisContext | None = None) -> list[str]:
    return [f.rule for f in find_spans(text, context, rules=rules)]


def _kinds(text: str, rules, context: AnalysisContext | None = None) -> set[str]:
    return {f.kind for f in find_spans(text, context, rules=rules)}


def _check_spans(text: str, findings: list[Finding]) -> None:
    for f in findings:
        assert text[f.offset:f.offset + f.length] == f.text
        line_start = text.rfind("\n", 0, f.offset) + 1
        assert f.line == text.count("\n", 0, f.offset) + 1
        assert f.column == f.offset - line_start + 1


def test_finding_fields_match_the_input(rules) -> None:
    text = "Thanks for coming.\n  Honestly, you should call her first."
    findings = find_spans(text, rules=rules)
    _check_spans(text, findings)
    directive = next(f for f in findings if f.rule == "directive-should")
    assert (directive.line, directive.column, directive.text) == (2, 3, "Honestly, you should")
    assert directive.level == "warning" and directive.kind == "directive" and directive.polarity == "bad"
    assert directive.principle == "first-person-story"
    assert directive.fix == "One thing that worked for me was to"


@pytest.mark.parametrize(
    "text",
    [
        'My mentor used to say "you should always ask first", and I ignored her for years.',
        "She told me \u201cyou have to earn trust\u201d on my first day.",
        "What do you think you should do?",
        "Do you feel you need to talk to her first?",
        "Would it help if you had to present it only once?",
        "I should have asked sooner.",
        "I need to listen more.",
        "We must ship on Friday, and I own that.",
        "When I was new, I learned that you have to ask for help early.",
        "If you feel you should wait, wait.",
    ],
)
def test_directives_not_flagged_in_quotes_consent_questions_or_first_person(rules, text: str) -> None:
    assert "directive" not in _kinds(text, rules)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("You should call her first.", "directive-should"),
        ("You ought to apologise.", "directive-should"),
        ("You need to set a deadline.", "directive-need-to"),
        ("You have to tell him.", "directive-need-to"),
        ("You must escalate this.", "directive-need-to"),
        ("Why don't you ask her?", "directive-why-dont-you"),
        ("If I were you, I'd wait.", "directive-if-i-were-you"),
        ("The trick is to start small.", "directive-the-trick-is"),
        ("Email the client tonight.", "directive-imperative"),
        ("Don't you think you should call her?", "directive-should"),
        ("You need to call her, right?", "directive-need-to"),
    ],
)
def test_directive_forms(rules, text: str, rule: str) -> None:
    assert rule in _rules_hit(text, rules)


def test_first_person_story_is_good_and_not_advice(rules) -> None:
    findings = find_spans("When I was starting out, what worked for me was writing it down first.", rules=rules)
    assert {f.kind for f in findings} == {"story"}
    assert all(f.polarity == "good" for f in findings)


def test_advice_without_permission_in_one_turn(rules) -> None:
    assert "advice-unasked" in _rules_hit("You should call her first.", rules)
    # Permission asked later in the same turn does not license advice that came before it.
    late = _rules_hit("You should call her first. Would it help if I shared what worked for me?", rules)
    assert "advice-unasked" in late and "permission-ask" in late
    early = _rules_hit("Would it help if I shared an idea? You should call her first.", rules)
    assert "advice-unasked" not in early and "directive-should" in early


def test_advice_unasked_once_per_sentence(rules) -> None:
    text = "Honestly, you need to call her and you have to do it today. Just send the email."
    unasked = [f for f in find_spans(text, rules=rules) if f.rule == "advice-unasked"]
    assert [f.text for f in unasked] == ["Honestly, you need to", "Just send"]


def test_permission_from_earlier_in_the_conversation(rules) -> None:
    text = "You should call her first."
    assert "advice-unasked" not in _rules_hit(text, rules, AnalysisContext(permission_asked=True))
    asked = AnalysisContext(previous_manager_turns=("How was your week?", "Can I offer an idea?"))
    assert "advice-unasked" not in _rules_hit(text, rules, asked)
    not_asked = AnalysisContext(previous_manager_turns=("How was your week?", "Tell me more."))
    assert "advice-unasked" in _rules_hit(text, rules, not_asked)


def test_client_asking_for_advice_counts_as_permission(rules) -> None:
    text = "You should call her first."
    asked = AnalysisContext(prev_client_text="Honestly, I'm stuck. What should I do?")
    assert "advice-unasked" not in _rules_hit(text, rules, asked)
    venting = AnalysisContext(prev_client_text="She ignored my email again.")
    assert "advice-unasked" in _rules_hit(text, rules, venting)


@pytest.mark.parametrize(
    ("text", "flagged"),
    [
        ("Just send it.", True),
        ("It's just a presentation.", True),
        ("You just have to ask.", True),
        ("I just wanted to check in.", False),
        ("Just to clarify, is that Tuesday?", False),
        ("She started just last week.", False),
        ("It was just like the last project.", False),
        ("Keep a copy, just in case.", False),
    ],
)
def test_just_is_flagged_only_when_minimising(rules, text: str, flagged: bool) -> None:
    assert any(r.startswith("judgmental-just") for r in _rules_hit(text, rules)) is flagged


def test_harsh_words_are_error_level(rules) -> None:
    findings = find_spans("Suck it up, everyone has deadlines.", rules=rules)
    assert [f.level for f in findings if f.rule == "judgmental-dismissive"] == ["error"]


def test_questions_are_classified_once_each(rules) -> None:
    text = "How did the meeting go? Did she agree? Tell me more."
    kinds = [(f.kind, f.text) for f in find_spans(text, rules=rules) if f.kind.startswith("question")]
    assert kinds == [
        ("question-open", "How did the meeting go?"),
        ("question-closed", "Did she agree?"),
        ("question-open", "Tell me more"),
    ]


def test_reflections_summaries_and_other_good_kinds(rules) -> None:
    text = (
        "It sounds like you're worried the team will blame you. So you feel stuck. "
        "Let me see if I've got this right. I made the same mistake once. "
        "I saw how much work you put into it. This matters because the client renews in March. "
        "It's your call. I'm confident you'll handle it. What's your first step?"
    )
    kinds = _kinds(text, rules)
    assert {"reflection-complex", "reflection-simple", "summary", "humility", "effort", "purpose",
            "handback", "reassurance", "action-plan", "question-open"} <= kinds


@pytest.mark.parametrize(
    "text",
    [
        "You should call her first \U0001F600\U0001F44D. Tell me more \U0001F914?",
        "\u05d0\u05ea\u05d4 \u05e6\u05e8\u05d9\u05da \u05dc\u05d4\u05ea\u05e7\u05e9\u05e8. You should call her first.",
        "\u0645\u0631\u062d\u0628\u0627\u061f You should call her.",
        "e\u0301 You\u200b should call her. \ufeffYou must call.",
        "\U0001F469\u200d\U0001F4BB You need to ship it.\r\nDon't worry about it.",
    ],
)
def test_emoji_and_right_to_left_text_keep_spans_exact(rules, text: str) -> None:
    findings = find_spans(text, rules=rules)
    assert any(f.kind == "directive" for f in findings)
    _check_spans(text, findings)


def test_curly_apostrophes_match_like_straight_ones(rules) -> None:
    text = "You\u2019ve got to delegate more. Why don\u2019t you start today?"
    hits = _rules_hit(text, rules)
    assert "directive-need-to" in hits and "directive-why-dont-you" in hits
    _check_spans(text, find_spans(text, rules=rules))


def test_empty_and_whitespace_give_no_findings(rules) -> None:
    assert find_spans("", rules=rules) == []
    assert find_spans(" \n\t  \u3000", rules=rules) == []


def test_long_unpunctuated_text_is_bounded_and_exact(rules) -> None:
    text = ("you should call her and " * 4000) + "done"
    findings = find_spans(text, rules=rules)
    assert sum(f.rule == "directive-should" for f in findings) == 4000
    _check_spans(text, findings[:50] + findings[-50:])


def test_over_long_input_is_cut_at_the_limit(rules, monkeypatch) -> None:
    from coach.config import get_settings

    monkeypatch.setenv("COACH_MAX_ANALYZE_CHARS", "1000")
    get_settings.cache_clear()
    text = "Fine. " * 300 + "You should call her."
    assert find_spans(text, rules=rules) == []  # the directive starts after character 1000


def test_speedups_never_change_results(rules) -> None:
    # The oracle runs every pattern with its original case-insensitive regex.
    texts = [ex for r in rules.rules for ex in r.examples_match + r.examples_no_match]
    texts += [" ".join(texts), "\u0130stanbul: You should call her.", "KELVIN \u212a. You MUST call."]
    for text in texts:
        oracle = match_rules(text, rules, use_prefilter=False, use_fast=False)
        assert match_rules(text, rules) == oracle, text
        assert match_rules(text, rules, use_prefilter=False) == oracle, text


def test_fast_findings_equal_regular_findings(rules) -> None:
    findings = find_spans("You should call her. Suck it up. What happened?", rules=rules)
    assert findings
    for f in findings:
        regular = Finding(**f.to_dict())
        assert f == regular and hash(f) == hash(regular) and repr(f) == repr(regular)


@pytest.mark.parametrize(
    "unit",
    ["so, ", "a-", "'", "just ", "you ", "I think ", "why don't you ", "\u2014", "?", "\n", "you should, "],
)
def test_adversarial_repetition_completes_with_exact_spans(rules, unit: str) -> None:
    # Repeated fillers make backtracking regexes quadratic; matching sentence by sentence keeps this
    # linear. (No time is asserted: a regression shows up as the suite's timeout.)
    text = "You need to go. " + unit * (150_000 // len(unit)) + " you need to go"
    findings = find_spans(text, rules=rules)
    _check_spans(text, findings[:100] + findings[-100:])
    assert findings[0].rule == "directive-need-to"
