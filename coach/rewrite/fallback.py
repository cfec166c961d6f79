"""The deterministic rewrite: the analyzer's fixes plus story templates, no model involved.

It is the safety net behind the model: built so that it passes verification by construction (the
advice content is carried over verbatim, with "your" -> "my"), and tested on every draft of
evals/datasets/rewrite.jsonl. When even that trips a check (an unusual sentence), :func:`quoted_piece`
keeps the advice verbatim inside a remembered quotation, which the analyzer reads as reported speech.
"""

from __future__ import annotations

import re

from coach.rewrite.config import RewriteConfig, pick
from coach.rewrite.segment import Advice

# "you" becomes "me" after these words ("tell you" -> "tell me"), otherwise "I".
_OBJECT_BEFORE = (
    "to|for|with|at|about|from|tell|told|ask|asked|give|gave|help|helped|let|show|showed|send|sent|call|"
    "thank|make|made|bother|around|behind|against|of|on|into|by|support|trust|"
    "remind|pay|cost|get|got|leave|let|keep|push|pushes|pushed|reach|contact|invite|introduce|meet|"
    "thanks|lets|helps|tells|asks|gives|shows|sends|calls|want|wants|need|needs|expect|expects"
)
_SWAPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\byourselves\b", re.IGNORECASE), "ourselves"),
    (re.compile(r"\byourself\b", re.IGNORECASE), "myself"),
    (re.compile(r"\byours\b", re.IGNORECASE), "mine"),
    (re.compile(r"\byour\b", re.IGNORECASE), "my"),
    (re.compile(r"\byou(?:'re|\u2019re| are)\s+not\b", re.IGNORECASE), "I'm not"),
    (re.compile(r"\byou(?:'re|\u2019re| are)\b", re.IGNORECASE), "I'm"),
    (re.compile(r"\byou\s+were\b", re.IGNORECASE), "I was"),
    (re.compile(r"\byou\s+weren't\b", re.IGNORECASE), "I wasn't"),
    (re.compile(r"\byou(?='|\u2019)", re.IGNORECASE), "I"),
    (re.compile(rf"\b(?P<before>{_OBJECT_BEFORE})\s+you\b", re.IGNORECASE), r"\g<before> me"),
    (re.compile(r"\byou\b", re.IGNORECASE), "I"),
)


def swap_pronouns(text: str) -> str:
    """``text`` told about me instead of the listener: "ask your team" -> "ask my team".

    Only second-person words change; names, numbers and quoted terms are untouched. Capitalisation
    of a swapped word follows the original ("Your" -> "My").
    """

    def keep_case(original: str, new: str) -> str:
        return new[:1].upper() + new[1:] if original[:1].isupper() and new != "I" and not new.startswith("I'") else new

    for pattern, replacement in _SWAPS:
        text = pattern.sub(lambda m: keep_case(m.group(0), m.expand(replacement)), text)
    return text


def _sentence(text: str) -> str:
    text = re.sub(r"\s{2,}", " ", text).strip()
    text = text[:1].upper() + text[1:]
    return text if text[-1:] in ".!?" else text + "."


def fallback_piece(advice: Advice, config: RewriteConfig, key: str, position: int) -> tuple[str, str]:
    """``(piece text, carried advice)`` for one advice sentence; ``position`` 0 is the first piece.

    ``key`` (the draft) makes the template choice stable: the same draft always reads the same.
    """
    if advice.kind == "action":
        action = swap_pronouns(advice.content)
        negated = action.startswith("not ")
        templates = config.fallback_first if position == 0 else config.fallback_next
        template = pick(templates, key, advice.index, "fallback")
        text = template.format(to="not to" if negated else "to", action=action[4:] if negated else action)
        return _sentence(text), action
    if advice.kind == "framed":
        carried = swap_pronouns(advice.content)
        return _sentence(swap_pronouns(advice.fixed)), carried
    statement = swap_pronouns(advice.content)
    statement = statement if statement.split()[0] in ("I", "I'm", "I've", "I'd") else statement[:1].lower() + statement[1:]
    template = pick(config.fallback_statement, key, advice.index, "statement")
    return _sentence(template.format(statement=statement)), statement


def quoted_piece(advice: Advice, config: RewriteConfig) -> tuple[str, str]:
    """The last-resort piece: the original sentence, verbatim, as something a mentor once told me."""
    sentence = advice.sentence.strip().replace('"', "'").replace("\u201c", "'").replace("\u201d", "'")
    if sentence[-1:] == ".":
        sentence = sentence[:-1] + ","
    elif sentence[-1:] not in "?!,":
        sentence += ","
    return config.fallback_quoted.format(sentence=sentence), advice.content
