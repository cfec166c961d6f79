"""Deterministic fixes: render a rule's ``fix`` template for one match, and apply fixes to a text.

Template syntax: ``{0}`` is the whole match, ``{name}`` a named group of the pattern (empty when the
group did not take part), and ``{name|lower}``, ``|upper`` or ``|cap`` change its case. The first
letter of the replacement is capitalised when the span starts a sentence, so
"You should call her." becomes "One thing that worked for me was to call her."
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from coach.analyzer.model import Finding

_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|(\w+))?\}")
_SPACES = re.compile(r"[ \t]{2,}")
_FILTERS = {"lower": str.lower, "upper": str.upper, "cap": lambda s: s[:1].upper() + s[1:]}


def render_fix(template: str, match: re.Match[str], source: str, sentence_start: bool) -> str:
    """The replacement for ``match`` described by ``template``.

    Group text is taken from ``source`` by position: the match may come from a lowercased copy.
    """

    def fill(m: re.Match[str]) -> str:
        name, filt = m.group(1), m.group(2)
        start, end = match.span(0 if name == "0" else name)
        value = source[start:end] if start >= 0 else ""
        return _FILTERS[filt](value) if filt else value

    result = _SPACES.sub(" ", _PLACEHOLDER.sub(fill, template)).strip()
    # Keep the space that separated the span from the next word when the span swallowed it.
    if result and source[match.end() - 1:match.end()].isspace():
        result += " "
    if sentence_start and result:
        result = result[0].upper() + result[1:]
    return result


def apply_fixes(text: str, findings: Iterable[Finding]) -> str:
    """``text`` with every finding's fix applied.

    Findings without a fix, whose span no longer holds their text (stale), or that overlap a fix
    already applied earlier in the text are skipped, so the result is always well formed.
    """
    usable = sorted(
        (f for f in findings if f.fix is not None and text[f.offset:f.offset + f.length] == f.text),
        key=lambda f: (f.offset, -f.length),
    )
    pieces: list[str] = []
    last = 0
    for f in usable:
        if f.offset < last:
            continue
        pieces.append(text[last:f.offset])
        pieces.append(f.fix or "")
        last = f.offset + f.length
    pieces.append(text[last:])
    return "".join(pieces)
