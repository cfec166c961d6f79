"""A scripted conversation per scenario family through the real engine and the real local model.

The model's words are never asserted by substring: only the deterministic parts (findings, state
changes, stored turns, debrief numbers) and that every reply the manager saw passes the
in-character checker. Small max_tokens and one llama.cpp thread keep it fast on a busy machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from coach.config import Settings, get_settings
from coach.rehearsal.engine import Rehearsal
from coach.rehearsal.models import FAMILIES
from coach.rehearsal.persona_rules import check_reply
from coach.rehearsal.scenarios import get_scenario
from coach.store import Store

pytestmark = pytest.mark.slow

REFLECTIONS = {"reflection-simple", "reflection-complex", "summary"}


@dataclass(frozen=True)
class Line:
    text: str
    kinds: frozenset[str]   # finding kinds the analyzer must report (at least these)
    trust: int              # +1 trust must rise, -1 fall, 0 no claim


def line(text: str, kinds: set[str], trust: int) -> Line:
    return Line(text, frozenset(kinds), trust)


SCRIPTS: dict[str, tuple[str, list[Line], dict]] = {
    "self-doubt": ("not-cut-out-for-sales", [
        line("It sounds like Greg's comment really shook your confidence. What did he say exactly?",
             {"reflection-complex", "question-open"}, +1),
        line("When I started in sales, I doubted myself too.", {"story"}, +1),
        line("What would you like to do next?", {"question-open", "handback"}, +1),
    ], {"advice_without_permission": 0, "principles": {"dramatic-listening"}}),
    "career": ("career-switcher", [
        line("You should just work harder and stop worrying.", {"directive", "advice-unasked"}, -1),
        line("Sorry, I was wrong to say that. What made you switch careers?", {"humility", "question-open"}, +1),
        line("So you feel behind because you started late.", {"reflection-simple"}, +1),
    ], {"advice_without_permission": 1, "principles": {"ask-permission", "own-your-mistakes"}}),
    "conflict": ("customer-blowup", [
        line("It sounds like being called useless in front of his team really stung. What happened next?",
             {"reflection-complex", "question-open"}, +1),
        line("You should just send the email tomorrow and move on.", {"directive", "advice-unasked", "judgmental"}, -1),
        line("What do you want the customer to feel after your next message?", {"question-open"}, +1),
    ], {"advice_without_permission": 1, "principles": {"dramatic-listening", "ask-permission"}}),
    "development": ("top-performer-promotion", [
        line("What does getting promoted mean to you?", {"question-open"}, +1),
        line("Would it help if I shared how I got my first promotion?", {"permission"}, +1),
        line("When I was a senior AE, I asked my manager which skills were missing.", {"story"}, +1),
    ], {"advice_without_permission": 0, "sequence": "permission-then-story", "principles": {"ask-permission"}}),
    "resistance": ("advice-then-resists", [
        line("Would it be okay if I shared an idea?", {"permission"}, +1),
        line("One thing that worked for me was calling the CFO directly.", {"story"}, +1),
        line("It is your call. What do you think would work?", {"handback", "question-open"}, +1),
    ], {"advice_without_permission": 0, "sequence": "permission-then-story", "principles": {"first-person-story"}}),
    "mentee-side": ("ask-senior-leader-to-mentor", [
        line("I want one specific thing from you: help hiring my first two reps.", set(), 0),
        line("Could we meet once a month for six months?", {"action-plan", "question-closed"}, 0),
        line("What would make this worth your time?", {"question-open"}, 0),
    ], {"advice_without_permission": 0, "principles": set()}),
}


@pytest.fixture
def small_model(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("COACH_MAX_TOKENS", "32")
    monkeypatch.setenv("COACH_THREADS", "1")
    get_settings.cache_clear()
    return get_settings()


def test_the_scripts_cover_every_family() -> None:
    assert set(SCRIPTS) == set(FAMILIES)
    assert all(get_scenario(sid).family == family for family, (sid, _, _) in SCRIPTS.items())


@pytest.mark.parametrize("family", sorted(SCRIPTS))
def test_scripted_conversation(family: str, small_model: Settings) -> None:
    scenario_id, lines, expect = SCRIPTS[family]
    with Store(small_model.db_path) as store:
        r = Rehearsal.start(scenario_id, store=store)
        for n, step in enumerate(lines, 1):
            c = r.coach_turn(step.text)
            kinds = {f.kind for f in c.findings}
            assert step.kinds <= kinds, (step.text, kinds)
            if step.trust:
                assert (c.after.trust - c.before.trust) * step.trust > 0, (step.text, c.change_notes())
            assert c.turn_number == n and c.try_instead.text
            assert sum(ch.trust for ch in c.changes) == c.after.trust - c.before.trust  # every point explained
            reply = r.persona_reply()
            shown = "".join(reply)
            outcome = reply.outcome
            assert shown == outcome.text and shown.strip()
            assert check_reply(shown, reply.prompt.guard).ok or outcome.source == "fallback"
            assert reply.record.role == "employee" and reply.record.text == shown
        turns = r.turns()
        assert [t.role for t in turns] == ["employee"] + ["manager", "employee"] * len(lines)
        d = r.end()

    counts: dict[str, int] = {}
    for t in turns:
        for f in (t.analysis.findings if t.analysis else []):
            counts[f.kind] = counts.get(f.kind, 0) + 1
    assert d.ratios.reflections == sum(counts.get(k, 0) for k in REFLECTIONS)
    assert d.ratios.questions == counts.get("question-open", 0) + counts.get("question-closed", 0)
    assert d.ratios.open_questions == counts.get("question-open", 0)
    assert d.ratios.directives == counts.get("directive", 0)
    assert d.ratios.advice_without_permission == expect["advice_without_permission"]
    assert d.metrics["final_trust"] == r.state.trust and d.final_state == r.state
    assert expect["principles"] <= {s.principle for s in d.scorecard}
    if "sequence" in expect:
        assert any(ch.source == expect["sequence"] for t in turns for ch in t.changes)
        assert d.ratios.advice_with_permission >= 1
    assert len(d.next_steps) == 3 and all(tip.principle for tip in d.next_steps)
    assert {c.metric for c in d.criteria} == {c.metric for c in r.scenario.success_criteria}
    scored = store_scores(small_model, r.id)
    assert scored == d.score_map()


def store_scores(settings: Settings, session_id: str) -> dict[str, int]:
    with Store(settings.db_path) as store:  # a fresh connection: what a restart would read
        return store.get_session(session_id).scores


def test_a_new_turn_drops_an_unfinished_reply(small_model: Settings) -> None:
    with Store(small_model.db_path) as store:
        r = Rehearsal.start("customer-blowup", store=store)
        r.coach_turn("What happened?")
        reply = r.persona_reply()
        next(reply)  # the manager sees the first piece, then speaks again
        r.coach_turn("Sorry, go on. What happened next?")
        assert [t.role for t in r.turns()] == ["employee", "manager", "manager"]
        with pytest.raises(StopIteration):
            next(reply)
        assert not reply.done
        finished = r.persona_reply()
        assert finished.finish().text and finished.done
        assert [t.role for t in r.turns()] == ["employee", "manager", "manager", "employee"]
