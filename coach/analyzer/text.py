"""The text side of matching: sentences, quotations, and line/column positions.

Everything here is computed once per analysed text and reused by every rule. Offsets are Python
string indices (code points), so a finding's ``text == input[offset:offset + length]`` always.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cached_property

#: Sentences longer than this are cut (at a space) so per-sentence work stays bounded on
#: unpunctuated input; real sentences are far shorter.
MAX_SENTENCE_CHARS = 600
#: A quotation left open for longer than this is treated as an apostrophe, not a quote.
MAX_QUOTE_CHARS = 600

_BOUNDARY = re.compile(
    r"[.!?\u2026\u3002\uff01\uff1f\u061f]+[\"'\u201d\u2019)\]]*(?=\s|$)"   # . ! ? … (and CJK / Arabic ?)
    r"|\n[ \t]*\n"                                                          # blank line
    r"|\n(?=[ \t]*(?:[-*+\u2022]|\d{1,3}[.)])[ \t])"                       # list item on the next line
)
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "prof", "sr", "jr", "no", "approx"})
_WORD_BEFORE = re.compile(r"([\w.]+)\Z")
_CLOSERS = "\"'\u201d\u2019)] \t\r\n"


def _is_abbreviation(text: str, dot: int) -> bool:
    """True when the '.' at ``dot`` ends a known abbreviation ("Dr.", "e.g.")."""
    m = _WORD_BEFORE.search(text, max(0, dot - 12), dot)
    return bool(m) and m.group(1).lower().rstrip(".") in _ABBREVIATIONS


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence, whitespace trimmed, in order; never empty spans."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        if m.group().startswith(".") and m.end() - m.start() == 1 and _is_abbreviation(text, m.start()):
            continue
        _add(text, start, m.end(), spans)
        start = m.end()
    _add(text, start, len(text), spans)
    return spans


def _add(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    segment = text[start:end]
    body = segment.strip()
    if not body:
        return
    start += len(segment) - len(segment.lstrip())
    end = start + len(body)
    while end - start > MAX_SENTENCE_CHARS:
        cut = text.rfind(" ", start + 1, start + MAX_SENTENCE_CHARS)
        cut = cut if cut > start else start + MAX_SENTENCE_CHARS
        spans.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        spans.append((start, end))


_DOUBLE = re.compile(r"[\"\u201c\u201d]")
# A single quote opens a quotation only at a word start and closes only at a word end; contractions
# ('cause, 'em) and possessives (kids') would otherwise pair up across sentences.
_SINGLE_OPEN = re.compile(r"(?:(?<=^)|(?<=[\s(:\[]))['\u2018](?=[^\W\d_])(?!(?:cause|em|til|bout|round|n)\b)", re.I)
_SINGLE_CLOSE = re.compile(r"(?<=[^\s'\u2018])['\u2019](?=[\s.,;:!?)\]]|$)")


def quote_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of quoted passages (quote marks included), sorted and non-overlapping."""
    spans: list[tuple[int, int]] = []
    opened = -1
    for m in _DOUBLE.finditer(text):
        ch = m.group()
        if opened < 0 and ch != "\u201d":
            opened = m.start()
        elif opened >= 0 and ch != "\u201c":
            if m.start() - opened <= MAX_QUOTE_CHARS:
                spans.append((opened, m.end()))
            opened = -1
    closes = [m.start() for m in _SINGLE_CLOSE.finditer(text)]
    for m in _SINGLE_OPEN.finditer(text):
        i = bisect_right(closes, m.start())
        if i < len(closes) and closes[i] - m.start() <= MAX_QUOTE_CHARS:
            spans.append((m.start(), closes[i] + 1))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:
            continue  # nested or overlapping: the outer quotation already covers it
        merged.append((s, e))
    return merged


class Document:
    """One analysed text with its sentences, quotations and line starts, computed lazily."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        """Sentence spans (see :func:`split_sentences`)."""
        return split_sentences(self.text)

    @cached_property
    def _starts(self) -> list[int]:
        return [s for s, _ in self.sentences]

    @cached_property
    def _quotes(self) -> list[tuple[int, int]]:
        return quote_spans(self.text) if any(c in self.text for c in "\"'\u201c\u2018") else []

    @cached_property
    def _line_starts(self) -> list[int]:
        return [0] + [m.end() for m in re.finditer("\n", self.text)]

    def sentence_index(self, offset: int) -> int:
        """Index of the sentence that holds ``offset`` (or the nearest one before it)."""
        return max(0, bisect_right(self._starts, offset) - 1)

    def sentence_span(self, index: int) -> tuple[int, int]:
        """``(start, end)`` of sentence ``index``; the whole text when there are no sentences."""
        return self.sentences[index] if self.sentences else (0, len(self.text))

    @cached_property
    def question_flags(self) -> list[bool]:
        """For each sentence, whether it ends with a question mark (before closing quotes)."""
        text = self.text
        return [text[s:e].rstrip(_CLOSERS).endswith(("?", "\uff1f", "\u061f")) for s, e in self.sentences]

    def is_question(self, index: int) -> bool:
        """True when sentence ``index`` ends with a question mark (before closing quotes)."""
        flags = self.question_flags
        if not flags:
            return self.text.rstrip(_CLOSERS).endswith(("?", "\uff1f", "\u061f"))
        return flags[index]

    def in_quotes(self, start: int, end: int) -> bool:
        """True when the span ``[start, end)`` starts inside a quotation."""
        quotes = self._quotes
        if not quotes:
            return False
        i = bisect_right(quotes, (start, len(self.text) + 1)) - 1
        return i >= 0 and quotes[i][0] < start < quotes[i][1] and end <= quotes[i][1]

    def starts_sentence(self, offset: int) -> bool:
        """True when no letter or digit stands between the sentence start and ``offset`` (quotes, bullets
        and emoji may)."""
        start, _ = self.sentence_span(self.sentence_index(offset))
        return not any(ch.isalnum() for ch in self.text[start:offset])

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in characters) of ``offset``."""
        starts = self._line_starts
        i = bisect_right(starts, offset) - 1
        return i + 1, offset - starts[i] + 1
