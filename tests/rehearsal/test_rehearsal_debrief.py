"""Debrief and export over a hand-built session driven through the real state rules and store."""

from __future__ import annotations

import json

import pytest
from tests.rehearsal.rehearsal_builders import analysis, turn

from coach.analyzer.model import Analysis
from coach.rehearsal.debrief import debrief, scorecard, session_metrics
from coach.rehearsal.export import session_json, session_markdown
from coach.rehearsal.models import EmployeeState, TurnRecord
from coach.rehearsal.scenarios import get_scenario
from coach.rehearsal.state import initial_state, update_state
from coach.store import Store

EMPLOYEE = {
    1: "Calm down? He called me useless in front of his whole team!",
    3: "I promised them a date without checking with ops. It slipped.",
    5: "Maybe I should call them instead of emailing.",
    7: "Okay. Tomorrow at nine, then.",
}


def _script() -> list[tuple[int, Analysis]]:
    t0 = "You need to calm down. Just don't send it."
    t2 = "He called you useless in front of his team. That really stung. What happened on the call?"
    t4 = ("May I share something that happened to me? I once promised a date I couldn't keep, and owning it "
          "early saved the account. What options do you see?")
    t6 = "So: you were insulted, part of it is on the date, and you want to call. Let's plan the call together tomorrow."
    return [
        (0, analysis(t0, ("directive", "You need to calm down."), ("advice-unasked", "Just don't send it."),
                     behaviour="advice-without-permission", fixes={"You need to calm down.": "Take a breath with me first."})),
        (2, analysis(t2, ("reflection-complex", "He called you useless in front of his team."),
                     ("reflection-simple", "That really stung."), ("question-open", "What happened on the call?"),
                     behaviour="reflection-complex")),
        (4, analysis(t4, ("permission", "May I share something that happened to me?"),
                     ("story", "I once promised a date I couldn't keep, and owning it early saved the account."),
                     ("question-open", "What options do you see?"), behaviour="advice-with-permission")),
        (6, analysis(t6, ("summary", "So: you were insulted, part of it is on the date, and you want to call."),
                     ("action-plan", "Let's plan the call together tomorrow."), behaviour="summary")),
    ]


@pytest.fixture
def jordan():
    return get_scenario("customer-blowup")


@pytest.fixture
def session(jordan) -> list[TurnRecord]:
    """The scripted conversation as stored turns, states computed by update_state."""
    state = initial_state(jordan)
    turns: list[TurnRecord] = []
    for index, a in _script():
        state, changes = update_state(state, a, jordan)
        turns.append(turn(index, "manager", a.text, analysis=a, state=state, changes=tuple(changes)))
        turns.append(turn(index + 1, "employee", EMPLOYEE[index + 1]))
    return turns


def test_scripted_session_moves_state_as_the_rules_say(session: list[TurnRecord]) -> None:
    states = [(t.state.trust, t.state.stress) for t in session if t.state]
    # 55/85 start; stressed, so the directive and unasked advice land 1.5x, capped at -20 trust and 100 stress
    assert states == [(35, 100), (50, 92), (65, 87), (77, 79)]
    assert session[-2].state.unlocked == ("personal-insult", "missed-date", "drafted-email")


def test_metrics_and_ratios(session: list[TurnRecord], jordan) -> None:
    d = debrief(jordan, session, initial_state(jordan))
    r = d.ratios
    assert (r.reflections, r.questions, r.open_questions) == (3, 2, 2)
    assert r.reflection_to_question == 1.5 and r.open_question_share == 1.0
    assert (r.advice_with_permission, r.advice_without_permission, r.directives) == (1, 1, 1)
    manager_words = sum(len(t.text.split()) for t in session if t.role == "manager")
    all_words = sum(len(t.text.split()) for t in session)
    assert r.manager_talk_share == round(100 * manager_words / all_words, 1)
    assert d.metrics["facts_unlocked"] == 3 and d.metrics["final_trust"] == 77 and d.metrics["final_stress"] == 79


def test_scorecard_scores_and_evidence(session: list[TurnRecord], jordan) -> None:
    d = debrief(jordan, session, initial_state(jordan))
    scores = d.score_map()
    # (good + 0.5) / (good + weighted bad + 1); a capped-to-zero sequence is no evidence
    assert scores == {"dramatic-listening": 90, "first-person-story": 62, "ask-permission": 50,
                      "action-plan": 83, "listen-intently": 75}
    assert d.overall == 72
    fps = next(s for s in d.scorecard if s.principle == "first-person-story")
    assert (fps.good, fps.bad) == (2, 1)
    assert [(e.turn, e.polarity) for e in fps.evidence] == [(0, "bad"), (4, "good"), (4, "good")]
    assert fps.evidence[0].quote == "You need to calm down."
    assert d.unexercised == ("calming-presence", "be-present", "expertise-last")
    assert d.evidence_counts()["dramatic-listening"] == 4


def test_swings_quote_the_turns_that_caused_them(session: list[TurnRecord], jordan) -> None:
    d = debrief(jordan, session, initial_state(jordan))
    assert [(s.turn, s.trust_delta) for s in d.positive_swings] == [(2, 15), (4, 15), (6, 12)]
    (worst,) = d.negative_swings
    assert (worst.turn, worst.trust_delta, worst.stress_delta) == (0, -20, 15)
    assert worst.quote == "You need to calm down. Just don't send it."
    assert len(worst.causes) == 2 and "you told them what to do" in worst.causes[0]
    assert "\u201cJust don't send it.\u201d" in worst.causes[1] and "(capped)" in worst.causes[1]


def test_three_next_steps_linked_to_cards(session: list[TurnRecord], jordan) -> None:
    d = debrief(jordan, session, initial_state(jordan))
    tips = d.next_steps
    assert [t.principle for t in tips] == ["ask-permission", "first-person-story", "calming-presence"]
    assert tips[1].text == "Instead of \u201cYou need to calm down.\u201d, try \u201cTake a breath with me first.\u201d"
    assert tips[0].because.startswith("you said \u201cJust don't send it.\u201d")
    assert tips[2].text == jordan.tips["calming-presence"] and "did not use it" in tips[2].because


def test_success_criteria_are_checked(session: list[TurnRecord], jordan) -> None:
    d = debrief(jordan, session, initial_state(jordan))
    got = {c.metric: (c.actual, c.met) for c in d.criteria}
    assert got == {"reflections": (3.0, True), "final_stress": (79.0, False), "directives": (1.0, True),
                   "judgmental": (0.0, True)}
    assert d.criteria[1].description == "bring their stress down to 55 or less"


def test_error_level_findings_weigh_more() -> None:
    t = "That's ridiculous."
    for level, expected in (("suggestion", 33), ("warning", 25), ("error", 20)):
        a = analysis(t, ("judgmental", t), levels={t: level})
        (card,) = scorecard([turn(0, "manager", t, analysis=a)])
        assert card.score == expected, level


def test_empty_session_debrief(jordan) -> None:
    start = initial_state(jordan)
    d = debrief(jordan, [], start)
    assert d.scorecard == () and d.overall is None and d.final_state == start
    assert d.ratios.reflection_to_question is None and d.ratios.manager_talk_share is None
    assert len(d.next_steps) == 3 and all(t.principle in jordan.principles for t in d.next_steps)
    assert d.metrics["final_stress"] == 85 and d.metrics["reflection_to_question"] == 0.0


def test_a_flawless_session_still_gets_three_tips(jordan) -> None:
    text = "It sounds like you feel betrayed. What matters most to you here?"
    a = analysis(text, ("reflection-complex", "It sounds like you feel betrayed."),
                 ("question-open", "What matters most to you here?"))
    state, changes = update_state(initial_state(jordan), a, jordan)
    d = debrief(jordan, [turn(0, "manager", text, analysis=a, state=state, changes=tuple(changes))], initial_state(jordan))
    assert len(d.next_steps) == 3 and len({t.principle for t in d.next_steps}) == 3
    assert d.negative_swings == ()


def test_stored_session_debriefs_and_exports_like_the_live_one(session: list[TurnRecord], jordan, coach_home) -> None:
    with Store() as store:
        info = store.create_session(jordan.id, initial_state(jordan))
        for t in session:
            store.add_turn(info.id, t.role, t.text, analysis=t.analysis, state=t.state, changes=t.changes)
        stored = store.turns(info.id)
        live = debrief(jordan, session, initial_state(jordan))
        again = debrief(jordan, stored, info.initial_state)
        assert again.to_dict() == live.to_dict()
        ended = store.end_session(info.id, again.score_map(), again.evidence_counts())
        assert ended.scores == live.score_map()
        data = json.loads(json.dumps(session_json(ended, stored, again, jordan)))
        assert data["scenario"]["title"] == jordan.title and len(data["turns"]) == 8
        assert data["debrief"]["overall"] == 72 and data["session"]["scores"]["dramatic-listening"] == 90
        md = session_markdown(ended, stored, again, jordan)
    assert md.startswith(f"# Rehearsal: {jordan.title}")
    assert "**1. Jordan Lee**" in md and "> You need to calm down. Just don't send it." in md
    assert "trust -9, stress +9: you told them what to do" in md
    assert "| dramatic-listening | 90 | 4 | 0 |" in md
    assert "reflections : questions = 3 : 2 (1.5)" in md
    assert "- [ ] bring their stress down to 55 or less (actual 79)" in md
    assert "1. **ask-permission**" in md


def test_markdown_of_a_branch_without_debrief(jordan, coach_home) -> None:
    with Store() as store:
        sid = store.create_session(jordan.id, EmployeeState(trust=55, stress=85)).id
        store.add_turn(sid, "manager", "Line one\n\nline two")
        branch = store.branch(sid, 0)
        md = session_markdown(branch, store.turns(branch.id))
        assert f"branched from `{sid}` at turn 0" in md and "## Debrief" not in md
        md = session_markdown(store.get_session(sid), store.turns(sid))
    assert "> Line one\n>\n> line two" in md
    assert session_metrics([], EmployeeState(trust=1, stress=2))["final_trust"] == 1
