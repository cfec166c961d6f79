"""Segmenting drafts for the rewriter: which sentences are advice and what each one asks for (pure)."""

from __future__ import annotations

import pytest

from coach.analyzer.model import AnalysisContext
from coach.analyzer.rules import rules_for
from coach.config import PROJECT_ROOT
from coach.rewrite.config import load_config
from coach.rewrite.fallback import swap_pronouns
from coach.rewrite.segment import segment, specifics_of

KNOWLEDGE = PROJECT_ROOT / "knowledge"


@pytest.fixture(scope="module")
def rules():
    return rules_for(KNOWLEDGE)


@pytest.fixture(scope="module")
def config():
    return load_config(KNOWLEDGE)


def test_directive_sentence_becomes_advice_with_its_content(rules, config) -> None:
    seg = segment("You should call Dana before Friday.", rules, config)
    [advice] = seg.advice
    assert advice.content == "call Dana before Friday"
    assert advice.kind == "action"
    assert not advice.negated
    assert advice.specifics == ("Dana", "Friday")
    assert "first-person-story" in advice.principles and "ask-permission" in advice.principles
    assert not seg.permission_before_advice and not seg.handback_after_advice


def test_several_pieces_and_kept_text_in_place(rules, config) -> None:
    draft = ("Thanks for the update. You need to set clearer expectations with the team, and you should also "
             "document it. Why don't you ask Priya for the Q3 numbers? Let me know how it goes.")
    seg = segment(draft, rules, config)
    assert [a.content for a in seg.pieces] == [
        "set clearer expectations with the team, and also document it",
        "ask Priya for the Q3 numbers",
    ]
    assert seg.pieces[1].specifics == ("Priya", "Q3")
    # Spans point into the draft, so everything else can be kept verbatim.
    for advice in seg.advice:
        assert draft[advice.start:advice.end] == advice.sentence


@pytest.mark.parametrize(("draft", "content", "negated"), [
    ("Don't reply to that email tonight.", "not reply to that email tonight", True),
    ("You shouldn't take the churn numbers personally.", "not take the churn numbers personally", True),
    ("Stop checking Slack during one-to-ones.", "stop checking Slack during one-to-ones", True),
    ("I'd recommend that you block an hour every Tuesday.", "block an hour every Tuesday", False),
    ("Make sure you document the decision in Confluence.", "document the decision in Confluence", False),
    ("I want you to own the rollout in Q4.", "own the rollout in Q4", False),
    ("If I were you, I'd ask Zhang Wei what support he needs.", "ask Zhang Wei what support he needs", False),
    ("Obviously you need to prepare more for the QBR.", "prepare more for the QBR", False),
    ("YOU SHOULD CALL THE CUSTOMER BACK TODAY.", "CALL THE CUSTOMER BACK TODAY", False),
    ("You should send the agenda. And you must follow up within 24 hours.", "follow up within 24 hours", False),
])
def test_content_drops_the_directive_phrase_and_keeps_negation(rules, config, draft, content, negated) -> None:
    advice = segment(draft, rules, config).pieces[-1]
    assert advice.content == content
    assert advice.negated is negated
    assert advice.kind == "action"


def test_negation_inside_a_sentence_survives(rules, config) -> None:
    draft = "You should log every call, and you must not discount below 15%."
    [advice] = segment(draft, rules, config).pieces
    assert advice.content == "log every call, and not discount below 15%"


def test_vocative_name_is_kept_as_address_not_content(rules, config) -> None:
    [advice] = segment("Dana, you should call Tom before the 3 pm all-hands.", rules, config).pieces
    assert advice.address == "Dana, "
    assert advice.content == "call Tom before the 3 pm all-hands"
    assert "Dana" not in advice.specifics and "Tom" in advice.specifics and "3" in advice.specifics


def test_framed_and_statement_contents(rules, config) -> None:
    [framed] = segment("If Dana pushes back, you should escalate to Tom.", rules, config).pieces
    assert framed.kind == "framed"
    assert framed.fixed.startswith("If Dana pushes back, one thing that worked for me was to escalate")
    [statement] = segment("Take it from me, nobody reads those reports.", rules, config).pieces
    assert (statement.kind, statement.content) == ("statement", "nobody reads those reports")


def test_bare_announcement_has_no_content(rules, config) -> None:
    seg = segment("Let me give you some advice. Don't reply to that email tonight.", rules, config)
    assert [a.content for a in seg.advice] == ["", "not reply to that email tonight"]
    assert len(seg.pieces) == 1


def test_permission_and_handback_already_in_the_draft(rules, config) -> None:
    seg = segment("Can I offer an idea? You should call Dana first. It's your call, though.", rules, config)
    assert seg.permission_before_advice and seg.handback_after_advice
    late = segment("You should call Dana first. Would that help?", rules, config)
    assert not late.permission_before_advice


def test_context_permission_licenses_advice(rules, config) -> None:
    assert segment("You should call Dana.", rules, config, AnalysisContext(permission_asked=True)).permission_before_advice
    asked = AnalysisContext(prev_client_text="What should I do about Dana?")
    assert segment("You should call Dana.", rules, config, asked).permission_before_advice


def test_story_without_directives_is_not_advice(rules, config) -> None:
    draft = "When I started managing, I wrote down three questions before each one-to-one, and it helped."
    seg = segment(draft, rules, config)
    assert seg.advice == ()
    assert seg.story_start == 0 and seg.story_end == len(draft)
    assert not seg.permission_before_advice


def test_specifics_are_names_numbers_and_quoted_terms() -> None:
    sentence = 'You should ask Siobhán to rename the "Project Falcon" channel by 5pm on 14 May.'
    found = specifics_of(sentence, sentence)
    # "Project" opens the quotation, so it counts only as part of the quoted term.
    assert set(found) == {"Project Falcon", "Siobhán", "Falcon", "5pm", "14", "May"}
    # The first word (an imperative verb or "You") and "I" are never specifics.
    assert specifics_of("Call me when I land.", "Call me when I land.") == ()


@pytest.mark.parametrize(("text", "swapped"), [
    ("talk to your manager about how you feel", "talk to my manager about how I feel"),
    ("tell him you need more time", "tell him I need more time"),
    ("ask them to help you with yourself", "ask them to help me with myself"),
    ("wait until Monday before you decide", "wait until Monday before I decide"),
    ("check if you're ready", "check if I'm ready"),
    ("ask Priya for the Q3 numbers", "ask Priya for the Q3 numbers"),
])
def test_swap_pronouns(text: str, swapped: str) -> None:
    assert swap_pronouns(text) == swapped
