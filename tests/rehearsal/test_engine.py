"""The rehearsal engine without the chat model: coaching turns, bad input, sessions, rewind, end, reopen.

Real analyzer, real SQLite store, real cards; the persona's reply is tested with the local model in
test_engine_model.py.
"""

from __future__ import annotations

import json
import threading

import pytest

from coach.config import Settings
from coach.errors import UsageError
from coach.rehearsal.engine import Rehearsal, list_scenarios, validate_turn
from coach.rehearsal.state import initial_state
from coach.store import Store

REFLECT = "It sounds like being called useless in front of his team really stung. What happened next?"
ORDER = "You should just send the email tomorrow and move on."


@pytest.fixture
def store(settings: Settings):
    with Store(settings.db_path) as s:
        yield s


def start(store: Store, scenario: str = "customer-blowup") -> Rehearsal:
    return Rehearsal.start(scenario, store=store)


def test_unknown_scenario_lists_the_valid_ids(store: Store) -> None:
    with pytest.raises(UsageError) as err:
        start(store, "no-such-scenario")
    message = str(err.value)
    assert "unknown scenario 'no-such-scenario'" in message
    assert "customer-blowup" in message and "career-switcher" in message
    assert store.list_sessions() == []


def test_start_stores_the_opening_line_and_the_initial_state(store: Store) -> None:
    r = start(store)
    turns = r.turns()
    assert [(t.index, t.role) for t in turns] == [(0, "employee")]
    assert turns[0].text == r.scenario.opening_line
    assert r.state == initial_state(r.scenario) and r.state.trust == 55 and r.state.stress == 85
    assert r.manager_turns() == [] and not r.ended


def test_a_reflection_turn_is_coached_and_moves_the_state(store: Store) -> None:
    r = start(store)
    c = r.coach_turn(REFLECT)
    kinds = {f.kind for f in c.findings}
    assert {"reflection-complex", "question-open"} <= kinds
    assert c.turn_index == 1 and c.turn_number == 1
    assert c.after.trust > c.before.trust and c.after.stress < c.before.stress
    assert c.after == r.state and r.turns()[-1].state == c.after
    # every explanation quotes the manager's words
    assert c.changes and all(ch.quote in REFLECT for ch in c.changes if ch.kind != "unlock")
    assert any("reflected" in line and "\u201c" in line for line in c.change_notes())
    assert c.notes and all(n.quote in REFLECT for n in c.notes)
    assert c.cards and c.cards[0].cited and c.cards[0].id == "dramatic-listening"  # the reflection's card
    assert c.try_instead.text and c.try_instead.source == "template"
    assert c.opened_up == len(c.after.unlocked) - len(c.before.unlocked) >= 1
    hidden = [f.fact for f in r.scenario.hidden_facts]
    assert not any(fact in json.dumps(c.to_dict()) for fact in hidden), "coaching never shows hidden facts"


def test_unasked_advice_lowers_trust_and_the_fix_is_offered(store: Store) -> None:
    r = start(store)
    c = r.coach_turn(ORDER)
    assert {"directive", "advice-unasked"} <= {f.kind for f in c.findings}
    assert c.after.trust < c.before.trust and c.after.stress > c.before.stress
    assert any("already stressed" in ch.explanation for ch in c.changes)  # stress 85: it lands harder
    assert c.try_instead.source == "fix" and "One thing that worked for me was to" in c.try_instead.text
    assert c.cards[0].cited and c.notes[0].polarity == "bad"


def test_permission_carries_over_to_the_next_turn(store: Store) -> None:
    r = start(store, "advice-then-resists")
    first = r.coach_turn("Would it help if I shared something that happened to me?")
    assert "permission" in {f.kind for f in first.findings} and "permission" in r.state.kinds_seen
    second = r.coach_turn("When I was new, I lost a deal like this because I kept pushing the price.")
    assert "advice-unasked" not in {f.kind for f in second.findings}
    assert any(ch.source == "permission-then-story" and ch.trust > 0 for ch in second.changes)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty turn"),
    ("   \n\t ", "empty turn"),
    ("x" * 50_000, "the limit is 4000"),
    ("hello\x00world", r"control character U\+0000"),
    ("bad \ud800 surrogate", "not valid text"),
])
def test_bad_turns_are_rejected_and_nothing_changes(store: Store, text: str, message: str) -> None:
    r = start(store)
    r.coach_turn(REFLECT)
    before_state, before_turns = r.state, r.turns()
    with pytest.raises(UsageError, match=message):
        r.coach_turn(text)
    assert r.state == before_state and r.turns() == before_turns
    assert store.current_state(r.id) == before_state


def test_emoji_and_right_to_left_text_are_ordinary_turns(store: Store) -> None:
    r = start(store)
    c = r.coach_turn("\u05d0\u05e0\u05d9 \u05de\u05d1\u05d9\u05df \U0001f64f What happened? \U0001f62e")
    assert c.turn_number == 1 and {f.kind for f in c.findings} & {"question-open", "question-closed"}
    assert r.turns()[-1].text.endswith("\U0001f62e")


def test_validate_turn_strips_and_keeps_newlines() -> None:
    assert validate_turn("  Two lines.\nSecond one.  ", 100) == "Two lines.\nSecond one."
    with pytest.raises(UsageError, match="is 101 characters; the limit is 100"):
        validate_turn("y" * 101, 100)
    with pytest.raises(UsageError, match="must be text"):
        validate_turn(b"bytes", 100)  # type: ignore[arg-type]


def test_persona_reply_needs_a_manager_line_first(store: Store) -> None:
    r = start(store)
    with pytest.raises(UsageError, match="nothing to answer yet"):
        r.persona_reply()


def test_rewind_branches_from_the_state_before_that_line_and_keeps_both(store: Store) -> None:
    r = start(store)
    one = r.coach_turn(REFLECT)
    store.add_turn(r.id, "employee", "He called me useless.")
    two = r.coach_turn(ORDER)
    store.add_turn(r.id, "employee", "Fine.")
    r.coach_turn("What would help most right now?")
    branch = r.rewind(2)
    assert branch.id != r.id and branch.session.parent_session_id == r.id
    assert branch.state == one.after and branch.state != two.after
    assert [t.text for t in branch.turns()] == [r.scenario.opening_line, REFLECT, "He called me useless."]
    again = branch.coach_turn("It sounds like you're exhausted. What do you need?")
    assert again.turn_number == 2 and again.before == one.after
    assert len(r.manager_turns()) == 3 and len(branch.manager_turns()) == 2  # the first path is untouched
    for bad in (0, 4, -1):
        with pytest.raises(UsageError, match="1 to 3"):
            r.rewind(bad)


def test_end_scores_the_session_once_and_stops_further_turns(store: Store) -> None:
    r = start(store)
    r.coach_turn(REFLECT)
    store.add_turn(r.id, "employee", "He called me useless.")
    r.coach_turn(ORDER)
    d = r.end()
    assert r.ended and store.get_session(r.id).scores == d.score_map()
    assert d.ratios.reflections >= 1 and d.ratios.advice_without_permission == 1 and d.ratios.directives >= 1
    assert d.metrics["final_trust"] == r.state.trust
    ended_at = r.session.ended_at
    assert r.end().score_map() == d.score_map() and store.get_session(r.id).ended_at == ended_at
    with pytest.raises(UsageError, match="has ended"):
        r.coach_turn("One more thing.")
    assert r.rewind(1).coach_turn("What happened?").turn_number == 1  # a branch of an ended session goes on
    exported = json.loads(r.export("json"))
    assert exported["debrief"]["scenario_id"] == "customer-blowup" and len(exported["turns"]) == 4
    assert "## Debrief" in r.export("markdown")
    with pytest.raises(UsageError, match="unknown export format"):
        r.export("pdf")


def test_a_session_reopens_after_a_restart(settings: Settings) -> None:
    with Store(settings.db_path) as first:
        r = Rehearsal.start("career-switcher", store=first)
        r.coach_turn("What made you switch careers at fifty-one?")
        first.add_turn(r.id, "employee", "I wanted to build something of my own.")
        r.coach_turn("You sound proud of that move.")
        sid, state, turns = r.id, r.state, r.turns()
    with Store(settings.db_path) as second:  # a new process would do exactly this
        again = Rehearsal.resume(sid, store=second)
        assert again.state == state and again.turns() == turns
        c = again.coach_turn("What would make this month feel like a success?")
        assert c.turn_number == 3 and c.before == state
    with pytest.raises(UsageError, match="unknown session"):
        Rehearsal.resume("nope", settings=settings)


def test_concurrent_sessions_never_share_state(store: Store) -> None:
    lines = {"customer-blowup": [REFLECT, ORDER, "What do you need from me?"] * 3,
             "career-switcher": ["Stop whining about it.", "What made you switch?", "You should just work harder."] * 3}
    sequential = {}
    for sid, texts in lines.items():
        solo = start(store, sid)
        for text in texts:
            solo.coach_turn(text)
        sequential[sid] = solo.state
    results: dict[str, Rehearsal] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run(scenario: str) -> None:
        try:
            r = start(store, scenario)
            barrier.wait()
            for text in lines[scenario]:
                r.coach_turn(text)
            results[scenario] = r
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in lines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for scenario, r in results.items():
        assert r.state == sequential[scenario]
        assert store.current_state(r.id) == sequential[scenario]
        assert [t.text for t in r.manager_turns()] == lines[scenario]
    assert results["customer-blowup"].state != results["career-switcher"].state


def test_every_scenario_can_be_listed_and_started(store: Store) -> None:
    scenarios = list_scenarios()
    assert len(scenarios) >= 10 and [s.family for s in scenarios] == sorted(s.family for s in scenarios)
    for scenario in scenarios:
        r = Rehearsal.start(scenario.id, store=store)
        assert r.turns()[0].text == scenario.opening_line
