"""Deterministic fixes: directive -> first-person story, with sane capitalisation and punctuation."""

from __future__ import annotations

import dataclasses

import pytest

from coach.analyzer import apply_fixes, find_spans

STORY = "One thing that worked for me was to"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("You should call her first.", f"{STORY} call her first."),
        ("You ought to call her first.", f"{STORY} call her first."),
        ("You need to call her first.", f"{STORY} call her first."),
        ("You have to call her first.", f"{STORY} call her first."),
        ("You must call her first.", f"{STORY} call her first."),
        ("Why don't you call her first?", f"{STORY} call her first."),
        ("If I were you, I'd call her first.", f"{STORY} call her first."),
        ("I'd call her first if I were you.", f"{STORY} call her first."),
        ("The trick is to call her first.", f"{STORY} call her first."),
        ("I think you should really call her first!", f"{STORY} call her first!"),
        ("You shouldn't call her first.", "One thing that worked for me was not to call her first."),
        ("Call her first.", f"{STORY} call her first."),
        ("Don't call her first.", "One thing that worked for me was not to call her first."),
        ("I suggest you call her first.", f"{STORY} call her first."),
        ("YOU SHOULD call her first.", f"{STORY} call her first."),
    ],
)
def test_directive_becomes_first_person_story(rules, before: str, after: str) -> None:
    assert apply_fixes(before, find_spans(before, rules=rules)) == after


def test_mid_sentence_fix_stays_lowercase(rules) -> None:
    text = "Thanks for telling me. Honestly, I get it, and you should call her first."
    assert apply_fixes(text, find_spans(text, rules=rules)) == (
        "Thanks for telling me. Honestly, I get it, and one thing that worked for me was to call her first."
    )


def test_fix_keeps_the_rest_of_a_multi_line_text(rules) -> None:
    text = "Good question.\n\nYou need to talk to her. Why not ask her today?\nLet me know."
    fixed = apply_fixes(text, find_spans(text, rules=rules))
    assert fixed == (
        "Good question.\n\nOne thing that worked for me was to talk to her. "
        "One thing that worked for me was to ask her today.\nLet me know."
    )


def test_fixed_text_has_no_directives_left(rules) -> None:
    text = "You should call her first. You have to be direct. Why don't you write it down?"
    fixed = apply_fixes(text, find_spans(text, rules=rules))
    remaining = find_spans(fixed, rules=rules)
    assert not [f for f in remaining if f.kind in ("directive", "advice-unasked")]
    assert any(f.kind == "story" for f in remaining)


def test_stale_and_overlapping_fixes_are_skipped(rules) -> None:
    text = "You should call her first."
    findings = find_spans(text, rules=rules)
    directive = next(f for f in findings if f.fix)
    stale = dataclasses.replace(directive, text="Something else")
    assert apply_fixes(text, [stale]) == text
    overlapping = dataclasses.replace(directive, offset=4, length=6, text=text[4:10], fix="X")
    assert apply_fixes(text, [directive, overlapping]) == f"{STORY} call her first."


def test_findings_without_fixes_change_nothing(rules) -> None:
    text = "What were you thinking? It sounds like it was hard."
    assert apply_fixes(text, find_spans(text, rules=rules)) == text


def test_fix_keeps_the_case_of_copied_words(rules) -> None:
    text = "Why don't you call Sarah in London? I'd ask HR for budget if I were you."
    assert apply_fixes(text, find_spans(text, rules=rules)) == (
        "One thing that worked for me was to call Sarah in London. "
        "One thing that worked for me was to ask HR for budget."
    )
