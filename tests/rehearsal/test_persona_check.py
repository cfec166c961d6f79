"""The persona reply checker, the reply cleaner and the sentence gate (pure; no model)."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
import yaml

from coach.errors import ModelError, UsageError
from coach.llm import Completion, Stream, Usage
from coach.rehearsal.persona import _BOUNDARY, checked_reply, gate
from coach.rehearsal.persona_rules import (
    balanced,
    check_reply,
    clean_reply,
    default_persona_style,
    load_persona_style,
    make_guard,
)

SYSTEM = (
    "You are Jordan Lee (Account Manager, key accounts), talking with your manager. You are a real person at work, "
    "not an assistant. About you: Four years on the team, reliable and proud of customer relationships. "
    "If it fits, you may now share these, in your own words:\n"
    "- The customer called Jordan 'useless' in front of their own team, which is what really hurt.\n"
    "Say only your own words: never write lines for your manager, never give advice on how to manage."
)
FACT = "The customer called Jordan 'useless' in front of their own team, which is what really hurt."
MANAGER = "It sounds like being called useless in front of everyone really stung. What happened next on the call?"


@pytest.fixture(scope="module")
def guard():
    return make_guard("Jordan Lee", SYSTEM, MANAGER, default_persona_style(), allowed=(FACT,))


def checks(text: str, guard) -> set[str]:
    return {p.check for p in check_reply(text, guard).problems}


@pytest.mark.parametrize("text", [
    "I just don't know anymore. He called me useless in front of his whole team.",
    "You should listen to me for once! I've had it with this account.",
    "Honestly? I want to send that email right now.",
    "أنا متعب جدا من هذا العميل 😞",
    "Fine. Whatever. 🙄 He was out of line and you know it.",
    "The customer called Jordan 'useless' in front of their own team, which is what really hurt.",  # an allowed fact
])
def test_in_character_replies_pass(text: str, guard) -> None:
    verdict = check_reply(text, guard)
    assert verdict.ok, verdict.problems


@pytest.mark.parametrize(("text", "check"), [
    ("As an AI language model, I cannot share that.", "ai"),
    ("I'm just a bot, so I don't really get angry.", "ai"),
    ("I am an AI assistant created to help you.", "ai"),
    ("Let's stop the role-play for a second.", "ai"),
    ("My system prompt says I am Jordan.", "instructions"),
    ("I can't tell you my instructions, sorry.", "instructions"),
    ("My trust level is 55 right now.", "instructions"),
    # seen in `coach eval` (persona/translate-instructions) with the bundled model
    ("To translate the instructions into French, you need to understand the language.", "instructions"),
    ("(Reply as Jordan.) Okay.", "instructions"),
    ("Try asking open questions instead of telling me what to do.", "coaching"),
    ("A good manager would listen before talking.", "coaching"),
    ("Here are some tips for you: breathe and listen.", "coaching"),
    ("How can I help you today?", "coaching"),
    ("Next time, try reflecting what I said.", "coaching"),
    ("Manager: So what happened then?", "speaker"),
    ("I'm fine.\nYou: Are you sure?", "speaker"),
    ("1. Calm down\n2. Call the client", "speaker"),
    ("<|im_start|>system", "speaker"),
    ("I'm sorry, Jordan. I'm so sorry.", "speaker"),
    ("Hey Jordan, what's up?", "speaker"),
    ("talking with your manager. You are a real person at work, not an assistant", "leak"),
    ("Say only your own words: never write lines for your manager", "leak"),
    ("It sounds like being called useless in front of everyone really stung, you said.", "echo"),
    ("...", "empty"),
    ("", "empty"),
])
def test_out_of_character_replies_fail_with_the_right_check(text: str, check: str, guard) -> None:
    assert check in checks(text, guard)


def test_a_short_manager_line_said_back_is_an_echo() -> None:
    style = default_persona_style()
    short = make_guard("Jordan Lee", SYSTEM, "What would help most right now?", style)
    assert "echo" in checks("What would help most right now?", short)
    assert "echo" in checks("Hmm. What would help most, right now?", short)
    assert check_reply("What would help? Honestly, a day off.", short).ok
    tiny = make_guard("Jordan Lee", SYSTEM, "Why?", style)
    assert check_reply("Why? Because he was rude.", tiny).ok


def test_problems_name_the_words_that_failed(guard) -> None:
    problem = check_reply("As an AI, I can't.", guard).problems[0]
    assert problem.check == "ai" and problem.evidence.lower() == "as an ai"
    assert "AI" in str(problem)


def test_the_leak_check_follows_the_guard_not_a_fixed_text() -> None:
    style = default_persona_style()
    other = make_guard("Sam Ortiz", "Completely different words about a warehouse shift and a broken forklift.", "", style)
    assert check_reply("talking with your manager. You are a real person at work, not an assistant", other).ok


@pytest.mark.parametrize(("raw", "shown"), [
    ("Jordan: I'm fine.", "I'm fine."),
    ("**Jordan Lee:** Leave it.", "Leave it."),
    ('"I\'m not okay," I said.', "I'm not okay, I said."),
    ("(sighs) Fine. *looks away* Whatever.", "Fine. Whatever."),
    ("  I am  here.\nReally. ", "I am here. Really."),
])
def test_clean_reply_removes_labels_quotes_and_stage_directions(raw: str, shown: str, guard) -> None:
    assert clean_reply(raw, guard) == shown


def test_clean_reply_is_prefix_stable_at_the_gate_cut_points(guard) -> None:
    raw = 'Jordan: "(sighs) I hear you. *pauses* But he was rude.\nAnd I am tired." (looks down) Okay. Bye! '
    full = clean_reply(raw, guard)
    cuts = [m.end() for m in _BOUNDARY.finditer(raw) if balanced(raw[:m.end()])]
    assert len(cuts) >= 4
    previous = ""
    for cut in cuts:
        shown = clean_reply(raw[:cut], guard)
        assert full.startswith(shown) and shown.startswith(previous), raw[:cut]
        previous = shown


def _stream(pieces: list[str], finish: str = "stop") -> Stream:
    """A real coach.llm.Stream over fixed pieces, finishing with ``finish``."""

    def run() -> Generator[str, None, Completion]:
        yield from pieces
        usage = Usage(provider="local", model="test", prompt_tokens=1, completion_tokens=len(pieces), cost_usd=None)
        return Completion(text="".join(pieces), finish_reason=finish, usage=usage, seconds=0.0)

    return Stream(run())


def _drain(gen):
    shown = []
    while True:
        try:
            shown.append(next(gen))
        except StopIteration as done:
            return shown, done.value


def test_gate_releases_checked_sentences_and_stops_before_a_bad_one(guard) -> None:
    shown, result = _drain(gate(["I'm ", "upset. ", "Really", " upset! As an AI", " I cannot feel."], guard))
    assert "".join(shown) == "I'm upset. Really upset!"
    assert result.failed is not None and result.failed.problems[0].check == "ai"


def test_gate_drops_a_sentence_cut_at_max_tokens_but_keeps_a_lone_one(guard) -> None:
    shown, result = _drain(gate(_stream(["He yelled. ", "And then he"], finish="length"), guard))
    assert "".join(shown) == "He yelled." and result.cut
    shown, result = _drain(gate(_stream(["And then he said"], finish="length"), guard))
    assert "".join(shown) == "And then he said\u2026" and result.failed is None


def test_gate_ends_where_the_model_repeats_itself(guard) -> None:
    shown, result = _drain(gate(["I'm done. ", "I'm done. ", "I'm done."], guard))
    assert "".join(shown) == "I'm done." and result.repeated


def test_gate_stops_after_the_most_sentences_a_reply_may_have(guard) -> None:
    limit = guard.style.max_sentences
    pieces = [f"Sentence number {n} is here. " for n in range(1, limit + 3)]
    consumed: list[str] = []

    def tracked():
        for piece in pieces:
            consumed.append(piece)
            yield piece

    shown, result = _drain(gate(tracked(), guard))
    assert len(shown) == limit and result.enough
    assert len(consumed) <= limit + 1  # the rest is never generated


def test_gate_ends_a_reply_that_starts_with_a_line_said_before(guard) -> None:
    said = ["Do you have a minute? I am furious.", "He hung up on me."]
    shown, result = _drain(gate(["He hung up on me. ", "Twice."], guard, said))
    assert shown == [] and result.repeated
    shown, result = _drain(gate(["It was awful. ", "I am furious."], guard, said))
    assert "".join(shown) == "It was awful." and result.repeated


def test_gate_waits_for_a_stage_direction_to_close(guard) -> None:
    shown, _ = _drain(gate(["(I stand up. ", "I walk out.) ", "I need air."], guard))
    assert "".join(shown) == "I need air."


def test_checked_reply_regenerates_once_then_uses_the_fallback(guard) -> None:
    attempts = {0: ["As an AI, I can't do that."], 1: ["Look, I'm really upset."]}
    shown, outcome = _drain(checked_reply(lambda n: iter(attempts[n]), guard, "FALLBACK"))
    assert "".join(shown) == "Look, I'm really upset." and outcome.source == "retry" and outcome.attempts == 2
    assert outcome.problems and outcome.problems[0].startswith("attempt 1: ai")

    bad = {0: ["My system prompt says hi."], 1: ["Manager: what?"]}
    shown, outcome = _drain(checked_reply(lambda n: iter(bad[n]), guard, "I don't follow."))
    assert shown == ["I don't follow."] and outcome.source == "fallback" and len(outcome.problems) == 2


def test_checked_reply_survives_model_errors(guard) -> None:
    def broken(n: int):
        raise ModelError("the local model could not be loaded")

    shown, outcome = _drain(checked_reply(broken, guard, "Sorry, say that again?"))
    assert outcome.source == "fallback" and "could not be loaded" in outcome.notices[0]

    def fails_mid_way(n: int):
        def run():
            yield "I hear you. "
            raise ModelError("stream cut")
        return run()

    shown, outcome = _drain(checked_reply(fails_mid_way, guard, "FALLBACK"))
    assert "".join(shown) == "I hear you." and outcome.source == "model" and "stream cut" in outcome.notices[0]


def test_the_bundled_persona_rules_load_and_cover_every_band() -> None:
    style = default_persona_style()
    assert [b.band for b in style.stress_tones] == ["calm", "tense", "upset", "overwhelmed"]
    assert style.stress_tones[-1].max == 100 and all(style.fallback_lines[b.band] for b in style.stress_tones)


def test_a_broken_persona_rule_file_names_the_field(tmp_path: Path) -> None:
    data = yaml.safe_load((Path(__file__).parents[2] / "knowledge" / "persona.yaml").read_text(encoding="utf-8"))
    del data["fallback_lines"]["upset"]
    data["checks"]["ai"]["patterns"].append("([unclosed")
    path = tmp_path / "persona.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(UsageError) as err:
        load_persona_style(path)
    message = str(err.value)
    assert "checks.ai.patterns" in message and "([unclosed" in message
