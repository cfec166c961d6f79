"""Per-turn coaching parts: ranking, notes, the "try instead" line and the cards (real rules, real cards)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coach.analyzer import find_spans
from coach.analyzer.model import Analysis, AnalysisContext
from coach.cards import card_index
from coach.config import PROJECT_ROOT, Settings
from coach.errors import UsageError
from coach.rehearsal.coaching import (
    default_coaching_rules,
    fixed_sentence,
    load_coaching_rules,
    notes,
    pick_cards,
    rank_findings,
    search_query,
    try_instead,
)
from coach.rehearsal.engine import card_searcher
from coach.rehearsal.scenarios import get_scenario
from coach.rehearsal.state import default_rules, effective_kind_rules

CARDS = card_index(PROJECT_ROOT / "knowledge" / "principles")


def analysed(text: str, permission_asked: bool = False) -> Analysis:
    """Rules-only analysis (the engine adds the behaviour label; coaching does not use it)."""
    return Analysis(text=text, findings=find_spans(text, AnalysisContext(permission_asked=permission_asked)))


@pytest.fixture(scope="module")
def blowup():
    return get_scenario("customer-blowup")


def ranked(a: Analysis, scenario):
    return rank_findings(a.findings, effective_kind_rules(default_rules(), scenario))


def test_broken_principles_rank_first_by_level_then_by_weight(blowup) -> None:
    a = analysed("It sounds like you are furious. That is a stupid idea though, calm down.")
    order = ranked(a, blowup)
    assert order[0].polarity == "bad" and order[0].level == "error"
    assert [f.polarity for f in order].index("good") > max(i for i, f in enumerate(order) if f.polarity == "bad")


def test_the_fix_of_the_sentence_is_the_try_instead_line(blowup) -> None:
    a = analysed("Okay. You should just send the email tomorrow.")
    line = try_instead(a, ranked(a, blowup), blowup, default_coaching_rules())
    assert line.source == "fix"
    assert line.quote == "You should just send the email tomorrow."
    assert "try \u201cOne thing that worked for me was to send the email tomorrow.\u201d" in line.text


def test_without_a_fix_the_scenario_tip_then_the_kind_template_is_used(blowup) -> None:
    a = analysed("Calm down, it's no big deal.")
    top = ranked(a, blowup)[0]
    assert top.principle == "calming-presence" and top.fix is None
    line = try_instead(a, ranked(a, blowup), blowup, default_coaching_rules())
    assert line.source == "scenario-tip" and line.text == blowup.tips["calming-presence"]

    other = get_scenario("top-performer-promotion")
    b = analysed("Stop whining about it.")
    top = ranked(b, other)[0]
    assert top.kind == "judgmental" and top.principle not in other.tips
    line = try_instead(b, ranked(b, other), other, default_coaching_rules())
    assert line.source == "template" and line.text == default_coaching_rules().instead["judgmental"]


def test_a_good_turn_gets_a_next_step_and_an_empty_one_the_none_line(blowup) -> None:
    rules = default_coaching_rules()
    a = analysed("It sounds like being called useless really stung. What happened next?")
    order = ranked(a, blowup)
    assert order[0].kind == "reflection-complex"
    line = try_instead(a, order, blowup, rules)
    assert line.source == "template" and line.text == rules.next["reflection-complex"].format(them="them")
    empty = analysed("Okay.")
    assert empty.findings == []
    line = try_instead(empty, [], blowup, rules)
    assert line.principle is None and "Jordan" in line.text and "{name}" not in line.text


def test_notes_quote_the_managers_words_in_text_order() -> None:
    a = analysed("What happened? You should just send it.")
    out = notes(a)
    assert [n.offset for n in out] == sorted(n.offset for n in out)
    assert out[0].quote == "What happened?" and out[0].text().startswith("\u201cWhat happened?\u201d: ")
    assert all(a.text[n.offset:n.offset + n.length] == f.text for n, f in zip(out, sorted(a.findings, key=lambda f: (f.offset, f.kind))))


def test_fixed_sentence_only_touches_the_sentence_of_the_finding() -> None:
    a = analysed("That went badly. You should call him. What do you think?")
    directive = next(f for f in a.findings if f.kind == "directive")
    before, after = fixed_sentence(a.text, directive, a.findings)
    assert before == "You should call him." and after.startswith("One thing that worked for me was to call him")


def test_cited_cards_come_by_id_most_important_first(blowup) -> None:
    a = analysed("Calm down. What happened?")
    cards, notices = pick_cards(a.text, ranked(a, blowup), CARDS, max_cards=2, applies_to="mentor", search=None)
    assert [c.id for c in cards] == ["calming-presence", "listen-intently"]
    assert all(c.cited for c in cards) and "Calm down" in cards[0].reason
    assert cards[0].title == CARDS["calming-presence"].title and notices == []


def test_search_adds_a_related_card_for_what_just_happened(ingested_settings: Settings, blowup) -> None:
    search = card_searcher(ingested_settings)
    assert search is not None
    a = analysed("I remember when a customer screamed at me too. Let's sit down together.")
    order = ranked(a, blowup)
    cards, notices = pick_cards(a.text, order, CARDS, max_cards=2, applies_to="mentor", search=search)
    assert notices == [] and len(cards) == 2
    assert cards[0].cited and cards[0].id == order[0].principle
    assert not cards[1].cited and cards[1].score is not None and cards[1].id in CARDS
    assert "mentor" in CARDS[cards[1].id].applies_to
    nothing = analysed("Hmm, okay, I see the weather turned.")
    cards, _ = pick_cards(nothing.text, [], CARDS, max_cards=2, applies_to="mentee", search=search)
    assert len(cards) == 2 and not any(c.cited for c in cards)
    assert all("mentee" in CARDS[c.id].applies_to for c in cards)


def test_a_missing_store_is_a_notice_not_a_failure(settings: Settings, blowup) -> None:
    assert card_searcher(settings) is None  # nothing ingested: no store is created as a side effect
    assert not settings.chroma_dir.exists()

    broken_home = Settings(home=settings.home / "broken")
    broken_home.chroma_dir.mkdir(parents=True)
    (broken_home.chroma_dir / "chroma.sqlite3").write_bytes(b"not a database at all" * 100)
    search = card_searcher(broken_home)
    a = analysed("Calm down.")
    cards, notices = pick_cards(a.text, ranked(a, blowup), CARDS, max_cards=2, applies_to="mentor", search=search)
    assert [c.id for c in cards] == ["calming-presence"]
    assert notices and notices[0].startswith("related cards unavailable")


def test_search_query_names_kinds_principles_and_the_words(blowup) -> None:
    a = analysed("You should just send it.")
    query = search_query(a.text, ranked(a, blowup), CARDS)
    assert "You should just send it." in query and CARDS["level-the-learning-field"].title in query
    assert len(search_query("word " * 2000, [], CARDS)) <= 300


def test_coaching_rules_must_cover_every_kind(tmp_path: Path) -> None:
    data = yaml.safe_load((PROJECT_ROOT / "knowledge" / "coaching.yaml").read_text(encoding="utf-8"))
    del data["next"]["story"]
    data["instead"]["shouting"] = "x"
    path = tmp_path / "coaching.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UsageError, match="unknown finding kinds shouting"):
        load_coaching_rules(path)
    del data["instead"]["shouting"]
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UsageError, match="give an 'instead' or 'next' line for story"):
        load_coaching_rules(path)
