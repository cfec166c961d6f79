"""The rubric grader: a separate model role returns a JSON verdict, parsed strictly.

The answer must be one JSON object ``{"pass": bool, "score": 0..1, "reason": str}`` and nothing
else (a single surrounding Markdown code fence is tolerated because chat models add one by habit).
It is parsed with ``json.loads`` and checked against :data:`VERDICT_SCHEMA`; prose is never searched
for words like "pass". An invalid answer is sent back to the grader with the parse error, a bounded
number of times; after that the assertion is *errored*, not failed or passed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from coach.llm import ChatModel, Message, assistant, user
from coach.prompts import chat_messages, load_prompt
from evals.assertions import Verdict

#: The only shape of answer accepted from the grader.
VERDICT_SCHEMA = {
    "type": "object",
    "properties": {
        "pass": {"type": "boolean"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string", "minLength": 1},
    },
    "required": ["pass", "score", "reason"],
    "additionalProperties": False,
}

#: Answers the grader gets in total (the first plus retries after invalid JSON).
MAX_ATTEMPTS = 3
#: Tokens of one verdict; a reason is one sentence.
GRADER_MAX_TOKENS = 80
PROMPT = "grader"
#: Worked examples (prompts/grader.<shot>.user.md / .assistant.md) shown before the real item.
SHOTS = ("shot1", "shot2")
_FENCE = re.compile(r"\A```(?:json)?\s*\n(.*)\n```\Z", re.DOTALL)


class VerdictError(ValueError):
    """The grader's answer is not a valid verdict; the message says why (sent back on retry)."""


@dataclass(frozen=True)
class Graded:
    """A parsed verdict plus how many answers it took."""

    verdict: Verdict
    attempts: int


def parse_verdict(text: str) -> Verdict:
    """The verdict in ``text``; raises :class:`VerdictError` unless it is exactly one valid JSON object."""
    from jsonschema import Draft202012Validator

    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise VerdictError(f"not valid JSON ({exc})") from None
    errors = sorted(Draft202012Validator(VERDICT_SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        where = "/".join(map(str, errors[0].path)) or "the object"
        raise VerdictError(f"JSON does not fit the verdict schema at {where}: {errors[0].message}")
    return Verdict(bool(data["pass"]), data["reason"].strip(), float(data["score"]))


def grader_messages(rubric: str, output: str, input_text: str) -> list[Message]:
    """System prompt, two worked examples (one fail, one pass: small models copy the JSON form), the item."""
    shots: list[Message] = []
    for shot in SHOTS:
        shots += [user(load_prompt(f"{PROMPT}.{shot}.user").render()),
                  assistant(load_prompt(f"{PROMPT}.{shot}.assistant").render())]
    system_message, item = chat_messages(PROMPT, rubric=rubric, output=output, input=input_text)
    return [system_message, *shots, item]


def grade(model: ChatModel, rubric: str, output: str, input_text: str, *, max_attempts: int = MAX_ATTEMPTS,
          max_tokens: int = GRADER_MAX_TOKENS) -> Graded:
    """Ask ``model`` to judge ``output`` against ``rubric``; retry invalid answers up to ``max_attempts``.

    Raises :class:`coach.errors.ModelError` when the model cannot be reached (the runner handles it).
    """
    if max_attempts < 1:
        raise ValueError("max_attempts must be at least 1")
    messages = grader_messages(rubric, output, input_text)
    retry = load_prompt("grader.retry")
    answer = ""
    problem = ""
    for attempt in range(1, max_attempts + 1):
        # Deterministic sampling: a verdict should not depend on luck.
        answer = model.complete(messages, max_tokens=max_tokens, temperature=0.0).text
        try:
            return Graded(parse_verdict(answer), attempt)
        except VerdictError as exc:
            problem = str(exc)
            messages = [*messages, assistant(answer), user(retry.render(problem=problem))]
    shown = " ".join(answer.split())
    shown = shown if len(shown) <= 160 else shown[:157] + "..."
    return Graded(Verdict(None, f"grader gave no valid JSON verdict in {max_attempts} answers ({problem}); last: {shown!r}"),
                  max_attempts)
