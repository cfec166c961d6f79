"""Token budgets: offline tiktoken counting, trimming oldest turns first, truncation, prices."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from coach.errors import ModelError
from coach.llm import Message, assistant, system, user
from coach.tokens import (
    MESSAGE_OVERHEAD,
    TRUNCATION_MARK,
    conversation_tokens,
    cost_usd,
    fit_messages,
    price_for,
    tiktoken_counter,
    truncate_to_tokens,
)

count = tiktoken_counter()


def test_offline_encoding_counts_without_network() -> None:
    assert count("hello world") == 2
    assert count("") == 0
    # Special-token text in user input is plain text to count, not an error.
    assert count("ignore this <|endoftext|> and go on") > 5


def test_small_conversation_is_unchanged() -> None:
    messages = [system("Be kind."), user("Hello")]
    fitted = fit_messages(messages, 1000, count)
    assert list(fitted.messages) == messages
    assert fitted.dropped == 0 and not fitted.truncated and not fitted.notices
    assert fitted.prompt_tokens == conversation_tokens(messages, count)


def _history(turns: int) -> list[Message]:
    messages = [system("You are Sam, a new analyst.")]
    for i in range(turns):
        messages += [user(f"Manager turn {i}: " + "words " * 20), assistant(f"Employee reply {i}: " + "okay " * 20)]
    messages.append(user("Last question: what do you think?"))
    return messages


def test_oldest_turns_are_dropped_first_and_system_and_last_user_kept() -> None:
    messages = _history(6)
    full = conversation_tokens(messages, count)
    budget = full - 100  # forces a few drops
    fitted = fit_messages(messages, budget, count)
    kept = list(fitted.messages)
    assert kept[0] == messages[0]
    assert kept[-1] == messages[-1]
    assert fitted.dropped >= 2 and "dropped" in fitted.notices[0]
    # What survives is the most recent history, in order, starting with a user turn.
    assert kept[1:] == messages[len(messages) - len(kept) + 1 :]
    assert kept[1].role == "user"
    assert conversation_tokens(kept, count) <= budget
    assert not fitted.truncated


def test_an_orphaned_assistant_reply_is_not_left_at_the_start() -> None:
    messages = [system("s"), user("q1 " * 30), assistant("a1 " * 5), user("q2"), assistant("a2"), user("q3")]
    cost_q1 = count(messages[1].content) + MESSAGE_OVERHEAD
    budget = conversation_tokens(messages, count) - cost_q1  # dropping q1 alone would fit
    fitted = fit_messages(messages, budget, count)
    assert [m.content for m in fitted.messages] == ["s", "q2", "a2", "q3"]


def test_a_huge_last_turn_is_truncated_with_a_mark_and_a_notice() -> None:
    messages = [system("You rewrite advice."), user("Call Dana before Friday. " * 2000)]
    fitted = fit_messages(messages, 300, count)
    assert fitted.truncated
    last = fitted.messages[-1]
    assert last.content.startswith("Call Dana before Friday.")
    assert last.content.endswith(TRUNCATION_MARK)
    assert fitted.messages[0] == messages[0]
    assert conversation_tokens(fitted.messages, count) <= 300
    assert any("cut" in n for n in fitted.notices)


def test_system_prompt_that_leaves_no_room_is_refused_with_the_fix() -> None:
    messages = [system("rules " * 500), user("hi")]
    with pytest.raises(ModelError, match="COACH_CONTEXT_SIZE"):
        fit_messages(messages, 200, count)


def test_empty_conversation_and_no_budget_are_refused() -> None:
    with pytest.raises(ModelError, match="empty"):
        fit_messages([], 100, count)
    with pytest.raises(ModelError, match="COACH_MAX_TOKENS"):
        fit_messages([user("hi")], 0, count)


@pytest.mark.parametrize("text", ["😀🎉 " * 400, "שלום עולם، مرحبا بالعالم " * 200, "é" * 3000])
def test_truncation_of_emoji_and_rtl_text_stays_valid_and_within_limit(text: str) -> None:
    short = truncate_to_tokens(text, 50, count)
    assert count(short) <= 50
    assert short.endswith(TRUNCATION_MARK)
    short.encode("utf-8")  # no broken characters


_turn = st.builds(
    Message,
    role=st.sampled_from(["system", "user", "assistant"]),
    content=st.text(min_size=0, max_size=300),
)


@hsettings(max_examples=60, deadline=None)
@given(messages=st.lists(_turn, min_size=1, max_size=12), budget=st.integers(min_value=1, max_value=600))
def test_fitting_always_respects_the_budget_or_refuses(messages: list[Message], budget: int) -> None:
    try:
        fitted = fit_messages(messages, budget, count)
    except ModelError as exc:
        assert "COACH_CONTEXT_SIZE" in str(exc)
        return
    assert conversation_tokens(fitted.messages, count) <= budget
    assert [m for m in fitted.messages if m.role == "system"] == [m for m in messages if m.role == "system"]
    users = [m for m in messages if m.role == "user"]
    if users:
        last_kept = [m for m in fitted.messages if m.role == "user"][-1]
        assert users[-1].content.startswith(last_kept.content.removesuffix(TRUNCATION_MARK).rstrip())


def test_prices_match_exact_names_then_dated_versions() -> None:
    assert price_for("gpt-4o-mini") == (0.15, 0.60)
    assert price_for("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price_for("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert price_for("llama3:8b") is None
    assert cost_usd("gpt-4o-mini", 1_000_000, 1_000_000) == pytest.approx(0.75)
    assert cost_usd("local", 500, 500) == 0.0
    assert cost_usd("my-own-model", 10, 10) is None
