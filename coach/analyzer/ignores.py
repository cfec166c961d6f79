"""Inline ignore comments, as in Vale and linters.

- ``<!-- coach-ignore -->`` or ``<!-- coach-ignore rule-id other-id -->`` silences those rules (all rules
  when no id is given) from the comment to the end of its paragraph (the next blank line). A comment that
  ends its paragraph, e.g. one on a line of its own followed by a blank line, silences the next paragraph.
- ``coach-ignore-line`` or ``coach-ignore-line rule-id`` anywhere on a line silences findings that start on
  that line.

Comments and markers are blanked (same length, newlines kept) before matching, so their own words are never
flagged and every offset still points into the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.S)
_DIRECTIVE = re.compile(r"coach-ignore(?![\w-])")
_LINE_MARKER = re.compile(r"coach-ignore-line((?:[ \t,]+[a-z][a-z0-9-]*)*)")
_IDS = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n")
_NON_SPACE = re.compile(r"\S")


@dataclass(frozen=True)
class Ignore:
    """Findings of ``rules`` (all rules when empty) that start in ``[start, end)`` are dropped."""

    start: int
    end: int
    rules: frozenset[str]

    def covers(self, rule: str, offset: int) -> bool:
        """True when this ignore silences ``rule`` at ``offset``."""
        return self.start <= offset < self.end and (not self.rules or rule in self.rules)


def _blank(text: str, start: int, end: int) -> str:
    return "".join("\n" if c == "\n" else " " for c in text[start:end])


class _Paragraphs:
    """Ends of paragraphs (blank lines), found once per text and looked up by bisection."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.breaks = [m.start() for m in _PARAGRAPH_END.finditer(text)]

    def end(self, pos: int) -> int:
        """Offset where the paragraph holding ``pos`` ends (its blank line, or the end of the text)."""
        i = bisect_left(self.breaks, pos)
        return self.breaks[i] if i < len(self.breaks) else len(self.text)

    def next_start(self, pos: int) -> int:
        """First non-whitespace offset at or after ``pos``."""
        m = _NON_SPACE.search(self.text, pos)
        return m.start() if m else len(self.text)


def parse_ignores(text: str) -> tuple[str, list[Ignore]]:
    """Return ``text`` with comments and markers blanked, and the ignores they declare."""
    if "<!--" not in text and "coach-ignore" not in text:
        return text, []
    ignores: list[Ignore] = []
    paragraphs = _Paragraphs(text)
    pieces: list[str] = []
    last = 0
    for m in _COMMENT.finditer(text):
        body = m.group()[4:].removesuffix("-->").strip()
        if body.startswith("coach-ignore-line"):
            ids = frozenset(_IDS.findall(body[len("coach-ignore-line"):]))
            ignores.append(_line_ignore(text, m.start(), ids))
        elif _DIRECTIVE.match(body):
            ids = frozenset(_IDS.findall(body[len("coach-ignore"):]))
            end = paragraphs.end(m.end())
            if paragraphs.next_start(m.end()) >= end:
                # Nothing left in this paragraph: the comment introduces the next one.
                end = paragraphs.end(paragraphs.next_start(end))
            ignores.append(Ignore(m.end(), end, ids))
        pieces.append(text[last:m.start()])
        pieces.append(_blank(text, m.start(), m.end()))
        last = m.end()
    pieces.append(text[last:])
    masked = "".join(pieces)
    pieces, last = [], 0
    for m in _LINE_MARKER.finditer(masked):
        ignores.append(_line_ignore(masked, m.start(), frozenset(_IDS.findall(m.group(1)))))
        pieces.append(masked[last:m.start()])
        pieces.append(_blank(masked, m.start(), m.end()))
        last = m.end()
    pieces.append(masked[last:])
    return "".join(pieces), ignores


def _line_ignore(text: str, pos: int, ids: frozenset[str]) -> Ignore:
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return Ignore(start, len(text) if end < 0 else end + 1, ids)


class IgnoreIndex:
    """Answers "is this rule silenced at this offset?" in about log(n) time for many ignores."""

    def __init__(self, ignores: list[Ignore]) -> None:
        self._ignores = sorted(ignores, key=lambda ig: ig.start)
        self._starts = [ig.start for ig in self._ignores]
        self._max_end: list[int] = []  # running maximum of ends, to stop scanning early
        best = -1
        for ig in self._ignores:
            best = max(best, ig.end)
            self._max_end.append(best)

    def __bool__(self) -> bool:
        return bool(self._ignores)

    def covers(self, rule: str, offset: int) -> bool:
        """True when any ignore silences ``rule`` at ``offset``."""
        i = bisect_right(self._starts, offset) - 1
        while i >= 0 and self._max_end[i] > offset:
            if self._ignores[i].covers(rule, offset):
                return True
            i -= 1
        return False
