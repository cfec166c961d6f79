"""Inline ignores: <!-- coach-ignore ids --> (rest of the paragraph) and coach-ignore-line."""

from __future__ import annotations

from coach.analyzer import find_spans


def _rules(text: str, rules) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in find_spans(text, rules=rules) if f.kind == "directive"]


def test_comment_silences_named_rule_for_rest_of_paragraph(rules) -> None:
    text = (
        "<!-- coach-ignore directive-should -->\n"
        "You should call her.\n"
        "You should also call him.\n"
        "\n"
        "You should call them too."
    )
    assert _rules(text, rules) == [("directive-should", 5)]


def test_comment_without_ids_silences_every_rule(rules) -> None:
    text = "Intro.\n\n<!-- coach-ignore -->\n\nYou should call her. Suck it up.\n\nYou must call."
    findings = find_spans(text, rules=rules)
    assert [(f.rule, f.line) for f in findings if f.level != "suggestion"] == [
        ("directive-need-to", 7), ("advice-unasked", 7)
    ]


def test_comment_mid_paragraph_covers_only_what_follows(rules) -> None:
    text = "You must call. <!-- coach-ignore directive-should --> You should call."
    assert _rules(text, rules) == [("directive-need-to", 1)]


def test_other_rules_still_fire_under_an_ignore(rules) -> None:
    text = "<!-- coach-ignore directive-should -->\nYou should call her."
    assert [f.rule for f in find_spans(text, rules=rules)] == ["advice-unasked"]


def test_ignore_line(rules) -> None:
    text = "You should call her. // coach-ignore-line\nYou should call him."
    assert _rules(text, rules) == [("directive-should", 2)]
    scoped = "You should call her. You must go. <!-- coach-ignore-line directive-should -->"
    assert _rules(scoped, rules) == [("directive-need-to", 1)]


def test_ignore_markers_never_produce_findings_and_spans_stay_exact(rules) -> None:
    text = "<!-- you should never see this -->\nWhy don't you ask? coach-ignore-line directive-should"
    findings = find_spans(text, rules=rules)
    assert all(f.line == 2 for f in findings)
    assert "directive-why-dont-you" in [f.rule for f in findings]
    for f in findings:
        assert text[f.offset:f.offset + f.length] == f.text


def test_unterminated_comment_is_masked_to_the_end(rules) -> None:
    text = "Fine.\n<!-- you should call her"
    assert find_spans(text, rules=rules) == []
