"""The model's part of a rewrite: one narrow task per advice piece, streamed.

The bundled model (SmolLM2-135M) is fluent but weak, so its task is as small as we could make it
reliable: turn the advice content into one sentence, "I <did it>, so <how it helped>.", shown by six
few-shot chat turns (prompts/rewrite.story.shots.md), at low temperature, cut at the first newline.
A repair attempt replays the failed answer and the verifier's findings (prompts/rewrite.repair.md)
with a new seed. Everything the model writes is checked by :mod:`coach.rewrite.verify`.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from coach.llm import ChatModel, Message, assistant, user
from coach.prompts import chat_messages, load_prompt
from coach.rewrite.config import RewriteConfig
from coach.rewrite.types import CardRef, Problem

_SHOT = re.compile(r"^(?P<advice>Advice:.+?)\s*\n+Answer:\s*(?P<answer>.+?)\s*$", re.MULTILINE)
_LABEL = re.compile(r"^(?:answer|rewrite|sentence|output)\s*:\s*", re.IGNORECASE)
_QUOTES = "\"'\u201c\u201d\u2018\u2019`*"


@dataclass(frozen=True)
class Attempt:
    """What the model wrote in one attempt."""

    raw: str          # everything it streamed
    sentence: str     # the first line, cleaned
    finished: bool    # False when it stopped at max_tokens in mid-sentence


@lru_cache(maxsize=8)
def _shots(path: Path, mtime_ns: int) -> tuple[tuple[str, str], ...]:
    body = load_prompt("rewrite.story.shots", path.parent).render()
    pairs = tuple((m.group("advice"), m.group("answer")) for m in _SHOT.finditer(body))
    if not pairs:
        raise ValueError(f"{path}: no 'Advice:' / 'Answer:' example pairs")
    return pairs


def shots(prompts_dir: Path) -> tuple[tuple[str, str], ...]:
    """The few-shot (user turn, answer) pairs of prompts/rewrite.story.shots.md."""
    path = next(p for p in (prompts_dir / "rewrite.story.shots.md", prompts_dir / "rewrite.story.shots.txt") if p.exists())
    return _shots(path, path.stat().st_mtime_ns)


def principles_text(cards: Sequence[CardRef]) -> str:
    """The cards as the prompt lists them."""
    return "\n".join(f"- {c.title}: {c.summary}" for c in cards) or "- (none found)"


def story_messages(content: str, cards: Sequence[CardRef], prompts_dir: Path) -> list[Message]:
    """System turn (instructions and cards), few-shot turns, then the advice content as the user turn.

    We measured where the cards go (scripts/rewrite_quality.py, 70 pieces): in the last user turn
    the 135M model answers the cards instead of the advice (60 % of first attempts pass); in the
    system turn 81 % pass. The price is speed: the cards vary by draft, so llama.cpp's prompt cache
    stops before them and the examples are evaluated again for each draft.
    """
    system_turn, user_turn = chat_messages(
        "rewrite.story", prompts_dir, principles=principles_text(cards), advice=_as_advice(content)
    )
    turns: list[Message] = [system_turn]
    for advice, answer in shots(prompts_dir):
        turns += [user(advice), assistant(answer)]
    return turns + [user_turn]


def repair_messages(
    messages: Sequence[Message], failed: str, problems: Sequence[Problem], content: str, prompts_dir: Path
) -> list[Message]:
    """The conversation extended with the failed answer and the verifier's findings."""
    listed = "; ".join(dict.fromkeys(p.message for p in problems))
    repair = load_prompt("rewrite.repair", prompts_dir).render(problems=listed, advice=_as_advice(content))
    return [*messages, assistant(failed or "(no answer)"), user(repair)]


def prompt_text(cards: Sequence[CardRef], prompts_dir: Path) -> str:
    """All instruction text the model sees besides the user's advice (for the leak check)."""
    messages = story_messages("", cards, prompts_dir)
    repair = load_prompt("rewrite.repair", prompts_dir).template
    return "\n".join(m.content for m in messages[:-1]) + "\n" + repair


def _as_advice(content: str) -> str:
    return content.rstrip(" .!?")


def clean(raw: str) -> str:
    """The first line of the answer, without labels or wrapping quotes, ending with punctuation."""
    line = raw.strip().split("\n", 1)[0].strip()
    line = _LABEL.sub("", line).strip().strip(_QUOTES).strip()
    if line and line[-1] not in ".!?":
        line += "."
    return line


def max_tokens_for(model: ChatModel, content: str, config: RewriteConfig) -> int:
    """Room for the answer: a base plus twice the content's length, capped (and never over COACH_MAX_TOKENS)."""
    return min(config.max_tokens_cap, model.max_tokens, config.base_max_tokens + 2 * model.count_tokens(content))


def stream_attempt(
    model: ChatModel, messages: Sequence[Message], max_tokens: int, seed: int, config: RewriteConfig
) -> Generator[str, None, Attempt]:
    """Yield the model's text pieces; stop at the first newline after some text; return the attempt.

    We stop on our side rather than with a stop string, so an answer that starts with a blank line
    is not an empty answer. Raises :class:`coach.errors.ModelError` when the model fails.
    """
    text = ""
    finished = True
    with model.stream(messages, max_tokens=max_tokens, temperature=config.temperature, seed=seed) as stream:
        for piece in stream:
            before = len(text)
            text += piece
            body = text.lstrip()
            if "\n" in body:
                text = text[: len(text) - len(body) + body.index("\n")]
                if len(text) > before:
                    yield text[before:]
                break
            yield piece
        else:
            finished = not stream.completion.cut_at_max_tokens
    return Attempt(raw=text, sentence=clean(text), finished=finished)
