"""Employee state: the rule table applied to hand-built analyzer findings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.rehearsal.rehearsal_builders import analysis, finding

from coach.analyzer.model import KINDS, Analysis
from coach.config import get_settings
from coach.errors import UsageError
from coach.rehearsal.models import EmployeeState
from coach.rehearsal.scenarios import get_scenario, load_library, principle_ids
from coach.rehearsal.state import (
    default_rules,
    initial_state,
    load_state_rules,
    newly_unlocked,
    revealable_facts,
    update_state,
)


@pytest.fixture
def dana():
    return get_scenario("not-cut-out-for-sales")


CALM = EmployeeState(trust=50, stress=40)


def test_reflection_raises_trust_lowers_stress_and_is_explained(dana) -> None:
    text = "It sounds like that comment really hurt."
    new, changes = update_state(CALM, analysis(text, ("reflection-complex", text)), dana)
    assert (new.trust, new.stress) == (58, 36)
    rule = changes[0]
    assert rule.kind == "rule" and rule.source == "reflection-complex"
    assert rule.explanation == "trust +8, stress -4: you reflected what she meant, not just what she said"
    assert rule.quote == text and rule.principle == "dramatic-listening"
    assert rule.note().endswith(f"(\u201c{text}\u201d)")
    # one listening move opens the first hidden fact
    assert new.listening_moves == 1 and new.unlocked == ("overheard-comment",)
    assert changes[-1].kind == "unlock" and changes[-1].source == "overheard-comment"
    assert "Dana opened up" in changes[-1].explanation and "(1 of 4)" in changes[-1].explanation


def test_unasked_advice_costs_more_when_already_stressed(dana) -> None:
    text = "You need to just stop worrying."
    a = analysis(text, ("advice-unasked", text))
    calm, calm_changes = update_state(CALM, a, dana)
    assert (calm.trust, calm.stress) == (42, 45)
    assert calm_changes[0].explanation == "trust -8, stress +5: you gave advice she had not asked for"
    tense, tense_changes = update_state(EmployeeState(trust=50, stress=70), a, dana)
    # factor 1.5, rounded half away from zero: -8 -> -12, +5 -> +8
    assert (tense.trust, tense.stress) == (38, 78)
    assert "Dana was already stressed, so it landed harder" in tense_changes[0].explanation


def test_permission_then_story_in_one_turn_pays_a_bonus(dana) -> None:
    text = "Can I share something that helped me? When I started, I froze in my first panel too."
    a = analysis(text, ("permission", "Can I share something that helped me?"),
                 ("story", "When I started, I froze in my first panel too."))
    new, changes = update_state(CALM, a, dana)
    sources = [c.source for c in changes if c.kind != "unlock"]
    assert sources == ["permission", "story", "permission-then-story"]
    bonus = changes[2]
    assert bonus.kind == "sequence" and bonus.trust == 6 and bonus.stress == -2
    assert bonus.principle == "first-person-story"
    assert bonus.quote == "When I started, I froze in my first panel too."
    assert (new.trust, new.stress) == (50 + 5 + 3 + 6, 40 - 2 - 2)


def test_story_without_permission_gets_no_bonus_and_order_matters(dana) -> None:
    story = "When I started, I froze in my first panel too."
    new, changes = update_state(CALM, analysis(story, ("story", story)), dana)
    assert [c.source for c in changes] == ["story"] and new.trust == 53
    # the story comes before the permission in the text: no sequence
    text = story + " Can I share more?"
    _, changes = update_state(CALM, analysis(text, ("story", story), ("permission", "Can I share more?")), dana)
    assert "permission-then-story" not in [c.source for c in changes]


def test_permission_in_an_earlier_turn_counts_for_a_later_story(dana) -> None:
    ask = "Would it help to hear what I did?"
    s1, _ = update_state(CALM, analysis(ask, ("permission", ask)), dana)
    assert "permission" in s1.kinds_seen
    story = "I once had a manager say the same to me."
    _, changes = update_state(s1, analysis(story, ("story", story)), dana)
    assert [c.source for c in changes] == ["story", "permission-then-story"]


def test_reflect_then_ask_is_turn_scoped(dana) -> None:
    text = "That sounds exhausting. What would help most right now?"
    _, changes = update_state(CALM, analysis(text, ("reflection-simple", "That sounds exhausting."),
                                             ("question-open", "What would help most right now?")), dana)
    assert "reflect-then-ask" in [c.source for c in changes]
    reversed_text = "What would help most right now? That sounds exhausting."
    _, changes = update_state(CALM, analysis(reversed_text, ("question-open", "What would help most right now?"),
                                             ("reflection-simple", "That sounds exhausting.")), dana)
    assert "reflect-then-ask" not in [c.source for c in changes]
    # a reflection in an earlier turn does not count for a turn-scoped sequence
    s1, _ = update_state(CALM, analysis("That sounds exhausting.", ("reflection-simple", "That sounds exhausting.")), dana)
    _, changes = update_state(s1, analysis("What would help?", ("question-open", "What would help?")), dana)
    assert "reflect-then-ask" not in [c.source for c in changes]


def test_per_turn_caps_cut_and_mark_the_excess(dana) -> None:
    text = "So you feel judged. You feel unseen. To sum up, it hurt. What happened? What else? May I share an idea?"
    a = analysis(text, ("reflection-complex", "So you feel judged."), ("reflection-complex", "You feel unseen."),
                 ("summary", "To sum up, it hurt."), ("question-open", "What happened?"),
                 ("question-open", "What else?"), ("permission", "May I share an idea?"))
    new, changes = update_state(CALM, a, dana)
    rules = default_rules()
    assert new.trust - CALM.trust == rules.caps.trust.up == 15
    assert CALM.stress - new.stress == rules.caps.stress.down == 12
    assert sum(c.trust for c in changes) == 15 and sum(c.stress for c in changes) == -12
    capped = [c for c in changes if c.capped]
    assert capped and all("(capped)" in c.explanation for c in capped)
    # two listening moves per turn at most, even with five listening findings
    assert new.listening_moves == rules.listening.max_per_turn == 2


def test_values_stay_within_0_and_100(dana) -> None:
    text = "It sounds like you are proud of that."
    new, changes = update_state(EmployeeState(trust=98, stress=2), analysis(text, ("reflection-complex", text)), dana)
    assert (new.trust, new.stress) == (100, 0)
    assert changes[0].trust == 2 and changes[0].stress == -2 and changes[0].capped
    bad = "That's a silly worry."
    low, _ = update_state(EmployeeState(trust=3, stress=97), analysis(bad, ("judgmental", bad)), dana)
    assert (low.trust, low.stress) == (0, 100)


def test_only_max_count_findings_of_a_kind_count(dana) -> None:
    text = "Call him. Email him. Text him."
    a = analysis(text, ("directive", "Call him."), ("directive", "Email him."), ("directive", "Text him."))
    new, changes = update_state(CALM, a, dana)
    assert [c.quote for c in changes] == ["Call him.", "Email him."]
    assert new.trust == 50 - 12


def test_facts_unlock_by_listening_and_by_trust(dana) -> None:
    state = EmployeeState(trust=55, stress=40)
    q = "What went through your head?"
    seen = []
    for _ in range(3):
        before = state
        state, _ = update_state(state, analysis(q, ("question-open", q)), dana)
        seen.append([f.id for f in newly_unlocked(before, state, dana)])
    # little-voice needs 3 listening moves AND trust 60: trust reached 55+4+4+4 = 67 by then
    assert seen == [["overheard-comment"], ["night-study"], ["little-voice"]]
    assert [f.id for f in revealable_facts(state, dana)] == ["overheard-comment", "night-study", "little-voice"]
    # american-idol needs trust 70 only
    r = "You sound proud of how hard you worked."
    state, changes = update_state(state, analysis(r, ("reflection-complex", r)), dana)
    assert state.trust >= 70 and state.unlocked[-1] == "american-idol"
    unlock = [c for c in changes if c.kind == "unlock"][0]
    assert unlock.principle == "mutual-trust" and "(4 of 4)" in unlock.explanation


def test_high_listening_without_trust_keeps_trust_gated_fact_closed(dana) -> None:
    state = EmployeeState(trust=20, stress=40, listening_moves=10)
    new, _ = update_state(state, Analysis(text="ok"), dana)
    assert "little-voice" not in new.unlocked and "american-idol" not in new.unlocked
    assert set(new.unlocked) == {"overheard-comment", "night-study"}


def test_scenario_overrides_change_the_weights() -> None:
    helen = get_scenario("ask-senior-leader-to-mentor")
    text = "Could we meet once a month for six months, starting with one problem?"
    new, changes = update_state(EmployeeState(trust=40, stress=45), analysis(text, ("action-plan", text)), helen)
    assert (new.trust, new.stress) == (48, 40)
    assert changes[0].explanation == "trust +8, stress -5: you made a small, bounded request she can say yes to"


def test_once_only_sequence_pays_once(dana) -> None:
    summary, plan = "So, to sum up: the comment stung.", "Let's agree two steps for Monday."
    s1, c1 = update_state(CALM, analysis(summary + " " + plan, ("summary", summary), ("action-plan", plan)), dana)
    assert "summary-then-plan" in [c.source for c in c1] and s1.fired == ("summary-then-plan",)
    _, c2 = update_state(s1, analysis(plan, ("action-plan", plan)), dana)
    assert "summary-then-plan" not in [c.source for c in c2]


def test_turn_without_findings_changes_nothing_but_the_turn_count(dana) -> None:
    new, changes = update_state(CALM, Analysis(text="Hmm."), dana)
    assert changes == [] and new.turn == 1
    assert (new.trust, new.stress, new.unlocked, new.listening_moves) == (50, 40, (), 0)


def test_zero_weight_kind_makes_no_change(dana) -> None:
    q = "Did you apply already?"
    new, changes = update_state(CALM, analysis(q, ("question-closed", q)), dana)
    assert changes == [] and (new.trust, new.stress) == (50, 40) and "question-closed" in new.kinds_seen


def test_update_is_deterministic_and_independent_of_finding_order(dana) -> None:
    text = "That sounds hard. What happened? You should just ignore Greg."
    a = analysis(text, ("reflection-simple", "That sounds hard."), ("question-open", "What happened?"),
                 ("directive", "You should just ignore Greg."))
    shuffled = Analysis(text=text, findings=list(reversed(a.findings)))
    assert update_state(CALM, a, dana) == update_state(CALM, a, dana) == update_state(CALM, shuffled, dana)


def test_duplicate_findings_on_one_span_count_once(dana) -> None:
    text = "It sounds like you felt blindsided."
    f = finding("reflection-complex", text)
    new, _ = update_state(CALM, Analysis(text=text, findings=[f, f]), dana)
    assert new.trust == 58


def test_one_span_tagged_twice_is_weighed_once(dana) -> None:
    text = "You should just ignore him."
    same = "You should just"
    a = Analysis(text=text, findings=[finding("directive", same), finding("advice-unasked", same)])
    new, changes = update_state(CALM, a, dana)
    # advice-unasked (-8/+5) outweighs directive (-6/+6): only it moves the state
    assert [c.source for c in changes] == ["advice-unasked"] and (new.trust, new.stress) == (42, 45)
    assert {"directive", "advice-unasked"} <= set(new.kinds_seen)


def test_quotes_are_trimmed(dana) -> None:
    a = Analysis(text="It sounds like you care.", findings=[finding("reflection-complex", "It sounds like ")])
    _, changes = update_state(CALM, a, dana)
    assert changes[0].quote == "It sounds like"


def test_initial_state_opens_nothing_in_the_builtin_scenarios() -> None:
    for scenario in load_library().scenarios.values():
        start = initial_state(scenario)
        assert (start.trust, start.stress) == (scenario.initial_state.trust, scenario.initial_state.stress)
        assert start.unlocked == (), f"{scenario.id}: a hidden fact is open before any listening"


def test_state_round_trips_through_json() -> None:
    s = EmployeeState(trust=1, stress=2, listening_moves=3, unlocked=("a",), kinds_seen=("story",), fired=("x",), turn=4)
    assert EmployeeState.from_dict(s.to_dict()) == s


def test_rule_table_covers_every_kind_and_cites_real_cards() -> None:
    rules = default_rules()
    assert set(rules.kinds) == set(KINDS)
    ids = principle_ids(get_settings().knowledge_dir)
    cited = [s.principle for s in rules.sequences] + [rules.unlock.listening_principle, rules.unlock.trust_principle]
    assert all(p in ids for p in cited)
    words = {"name": "Dana", "they": "she", "them": "her", "their": "her", "count": "1", "total": "2"}
    templates = [r.explain for r in rules.kinds.values()] + [s.explain for s in rules.sequences]
    templates += [m.explain for m in rules.modifiers] + [rules.unlock.explain]
    for t in templates:
        assert "{" not in t.format(**words)


def _write_rules(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load((get_settings().knowledge_dir / "state_rules.yaml").read_text(encoding="utf-8"))
    mutate(data)
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_rule_table_missing_a_kind_is_an_error_naming_it(tmp_path: Path) -> None:
    path = _write_rules(tmp_path, lambda d: d["kinds"].pop("summary"))
    with pytest.raises(UsageError, match=r"rules\.yaml.*missing rows for summary"):
        load_state_rules(path)


def test_rule_table_with_unknown_kind_or_bad_field_is_an_error(tmp_path: Path) -> None:
    path = _write_rules(tmp_path, lambda d: d["sequences"][0].update(then="storytime"))
    with pytest.raises(UsageError, match="unknown finding kinds storytime"):
        load_state_rules(path)
    path = _write_rules(tmp_path, lambda d: d["caps"]["trust"].update(up="lots"))
    with pytest.raises(UsageError, match=r"field 'caps\.trust\.up'"):
        load_state_rules(path)


def test_custom_rule_table_is_used(tmp_path: Path, dana) -> None:
    path = _write_rules(tmp_path, lambda d: d["kinds"]["reflection-simple"].update(trust=1, stress=0))
    rules = load_state_rules(path)
    text = "You feel stuck."
    new, _ = update_state(CALM, analysis(text, ("reflection-simple", text)), dana, rules)
    assert new.trust == 51 and new.stress == 40


KIND_LIST = st.sampled_from(KINDS)
_DANA = lru_cache(maxsize=1)(lambda: get_scenario("not-cut-out-for-sales"))  # hypothesis forbids function fixtures


@settings(max_examples=150, deadline=None)
@given(trust=st.integers(0, 100), stress=st.integers(0, 100), kinds=st.lists(KIND_LIST, max_size=12))
def test_any_turn_respects_range_caps_and_sums(trust: int, stress: int, kinds: list[str]) -> None:
    dana = _DANA()
    findings = [finding(k, f"w{i}", offset=i * 4) for i, k in enumerate(kinds)]
    before = EmployeeState(trust=trust, stress=stress)
    new, changes = update_state(before, Analysis(text=" ".join(f"w{i}" for i in range(len(kinds))), findings=findings), dana)
    caps = default_rules().caps
    assert 0 <= new.trust <= 100 and 0 <= new.stress <= 100
    assert -caps.trust.down <= new.trust - trust <= caps.trust.up
    assert -caps.stress.down <= new.stress - stress <= caps.stress.up
    assert sum(c.trust for c in changes) == new.trust - trust
    assert sum(c.stress for c in changes) == new.stress - stress
    assert all(c.principle for c in changes)
