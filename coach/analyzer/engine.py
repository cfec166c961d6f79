"""The matcher: run a :class:`RuleSet` over one text and return findings.

Order of work for one text: blank ignore comments; for each rule, find pattern matches, drop those an
exception overlaps or a guard rejects, widen to the sentence when the rule says so; then derive
turn-level findings (advice given before permission was asked); drop ignored findings; sort.
Regexes are compiled once at load time, and a literal-word prefilter (:mod:`coach.analyzer.prefilter`)
skips the patterns whose words are absent, so a typical utterance runs only a handful of regexes.
Sentences and quotations are computed lazily, only when a rule that matched needs them. Texts longer
than ``_WHOLE_TEXT_LIMIT`` are searched sentence by sentence, which keeps the cost of any input linear.
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

from coach.analyzer import fastre
from coach.analyzer.fixes import render_fix
from coach.analyzer.ignores import IgnoreIndex, parse_ignores
from coach.analyzer.model import AnalysisContext, Finding
from coach.analyzer.prefilter import text_keys
from coach.analyzer.rules import Guard, Rule, RuleSet
from coach.analyzer.text import MAX_SENTENCE_CHARS, Document

_EMPTY_CONTEXT = AnalysisContext()
#: Texts up to this length are searched in one pass; longer ones sentence by sentence.
_WHOLE_TEXT_LIMIT = 2 * MAX_SENTENCE_CHARS
_FINDING_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Finding) if f.default is not dataclasses.MISSING}
_FAST_FINDING = not hasattr(Finding, "__slots__")


def _finding(**values) -> Finding:
    """A :class:`Finding`, built without the frozen-dataclass ``__init__`` (3x faster: it is the hot path).

    Same fields, same equality and hash as ``Finding(**values)``; tests check it.
    """
    if not _FAST_FINDING:
        return Finding(**values)
    finding = object.__new__(Finding)
    finding.__dict__.update(_FINDING_DEFAULTS)
    finding.__dict__.update(values)
    return finding


class Hit(NamedTuple):
    """A rule match before it becomes a :class:`Finding` (positions only; a tuple, as it is made often)."""

    rule: Rule
    start: int
    end: int
    fix: str | None


class _Matcher:
    """Per-text state: the document and cached guard answers."""

    def __init__(self, text: str, rules: RuleSet, use_fast: bool = True) -> None:
        self.doc = Document(text)
        lowered = text.lower() if use_fast else None
        # The lowercase twins need offsets that match the original: rare characters change length.
        self.lowered = lowered if lowered is not None and len(lowered) == len(text) else None
        self.rules = rules
        self._sentence_guard: dict[tuple[str, int], bool] = {}
        self._exception_spans: dict[tuple[int, int, int], list[tuple[int, int]]] = {}
        self.folded, self.tokens = text_keys(text)
        self.has_question = "?" in text or "\uff1f" in text or "\u061f" in text

    def guard(self, name: str, start: int, end: int) -> bool:
        """Does guard ``name`` hold for the span ``[start, end)``?"""
        doc = self.doc
        if name == "quoted":
            return doc.in_quotes(start, end)
        index = doc.sentence_index(start)
        if name == "question":
            return doc.is_question(index)
        if name == "statement":
            return not doc.is_question(index)
        guard = self.rules.guards[name]
        if guard.scope == "sentence":
            key = (name, index)
            if key not in self._sentence_guard:
                s, e = doc.sentence_span(index)
                self._sentence_guard[key] = self._check(guard, index, doc.text[s:e])
            return self._sentence_guard[key]
        s, e = doc.sentence_span(index)
        part = doc.text[s:start] if guard.scope == "before" else doc.text[end:e]
        return self._check(guard, index, part)

    def _check(self, guard: Guard, index: int, part: str) -> bool:
        if guard.sentence != "any" and (guard.sentence == "question") != self.doc.is_question(index):
            return False
        if guard.patterns and not any(p.search(part) for p in guard.patterns):
            return False
        return not any(p.search(part) for p in guard.excepts)

    def candidates(self, use_prefilter: bool = True) -> dict[int, list[int]]:
        """Rule index -> indices of its patterns that the prefilter lets through, in rule order."""
        by_rule: dict[int, list[int]] = {}
        if use_prefilter:
            keys = self.rules.prefilter.candidates(self.folded, self.tokens)
        else:
            keys = [(r.index, i) for r in self.rules.rules for i in range(len(r.patterns))]
        for rule_index, pattern_index in keys:
            by_rule.setdefault(rule_index, []).append(pattern_index)
        return by_rule

    def hits(self, rule: Rule, pattern_indices: list[int] | None = None) -> list[Hit]:
        """Every accepted match of one pattern rule (of the given patterns only, when named)."""
        text = self.doc.text
        found: list[Hit] = []
        if "question" in rule.only and not self.has_question:
            return found
        patterns = rule.patterns if pattern_indices is None else [rule.patterns[i] for i in pattern_indices]
        starts = self._starts(rule) if rule.anchor == "start" else None
        lowered = self.lowered
        for pattern in patterns:
            fast, boundary = (pattern.fast, pattern.boundary) if lowered is not None else (None, False)
            if starts is not None:
                if fast is not None:
                    matches = (fastre.match(fast, boundary, lowered, text, s, e) for s, e in starts)
                else:
                    matches = (pattern.regex.match(text, s, e) for s, e in starts)
            else:
                # A long text is searched sentence by sentence, so a pattern that backtracks over its
                # input costs at most (sentence length)^2 per sentence, never (text length)^2.
                spans = [(0, len(text))] if len(text) <= _WHOLE_TEXT_LIMIT else self.doc.sentences
                if fast is not None:
                    matches = (m for s, e in spans for m in fastre.finditer(fast, boundary, lowered, text, s, e))
                else:
                    matches = (m for s, e in spans for m in pattern.regex.finditer(text, s, e))
            for m in matches:
                if m is None or m.end() == m.start():
                    continue
                hit = self._accept(rule, m, pattern.fix)
                if hit:
                    found.append(hit)
        if len(found) < 2:
            return found
        # One rule reports a stretch of text once: of overlapping hits keep the earliest, longest one.
        found.sort(key=lambda h: (h.start, h.start - h.end))
        kept = [found[0]]
        for hit in found[1:]:
            if hit.start >= kept[-1].end:
                kept.append(hit)
            elif hit.end - hit.start > kept[-1].end - kept[-1].start and hit.start == kept[-1].start:
                kept[-1] = hit
        return kept

    def _starts(self, rule: Rule) -> list[tuple[int, int]]:
        """Sentences an anchored rule is tried on (the question/statement guards filter them up front)."""
        doc = self.doc
        if "question" in rule.only:
            return [span for span, q in zip(doc.sentences, doc.question_flags) if q]
        if "statement" in rule.only:
            return [span for span, q in zip(doc.sentences, doc.question_flags) if not q]
        return doc.sentences

    def _accept(self, rule: Rule, m, fix_template: str | None) -> Hit | None:
        start, end = m.span()
        if any(not self.guard(name, start, end) for name in rule.only):
            return None
        if any(self.guard(name, start, end) for name in rule.unless):
            return None
        if rule.span == "sentence":
            start, end = self.doc.sentence_span(self.doc.sentence_index(start))
        if rule.exceptions and self._excepted(rule, start, end):
            return None
        fix = render_fix(fix_template, m, self.doc.text, self.doc.starts_sentence(m.start())) if fix_template else None
        return Hit(rule, start, end, fix)

    def _excepted(self, rule: Rule, start: int, end: int) -> bool:
        """An exception that matches in the sentence and overlaps the span cancels the hit."""
        s, e = self.doc.sentence_span(self.doc.sentence_index(start))
        s, e = min(s, start), max(e, end)
        key = (rule.index, s, e)
        spans = self._exception_spans.get(key)
        if spans is None:
            # Search a slice, not text[pos:endpos], so that "^" and "$" mean sentence start and end.
            sentence = self.doc.text[s:e]
            spans = [(s + m.start(), s + m.end()) for regex in rule.exceptions for m in regex.finditer(sentence)]
            self._exception_spans[key] = spans
        return any(a < end and b > start for a, b in spans)


def client_granted(rules: RuleSet, context: AnalysisContext) -> bool:
    """The client asked for advice ("what should I do?"), which is an invitation to give it."""
    prev = context.prev_client_text
    return bool(prev) and any(p.search(prev) for p in rules.client_permission)


def permission_in(text: str, rules: RuleSet) -> bool:
    """True when ``text`` asks permission to advise (any permission-kind rule matches)."""
    matcher = _Matcher(parse_ignores(text)[0].replace("\u2019", "'"), rules)
    return any(matcher.hits(r) for r in rules.rules if r.kind == "permission" and not r.trigger)


def _derived(rules: RuleSet, hits: list[Hit], context: AnalysisContext, doc: Document) -> list[Hit]:
    """Turn-level findings: advice before any permission in this turn or earlier in the conversation."""
    derived = [r for r in rules.rules if r.trigger == "advice-before-permission"]
    advice = [h for h in hits if h.rule.advice]
    if not derived or not advice:
        return []
    if context.permission_asked or client_granted(rules, context):
        return []
    if any(permission_in(turn, rules) for turn in context.previous_manager_turns):
        return []
    first_permission = min((h.start for h in hits if h.rule.kind == "permission"), default=len(doc.text) + 1)
    out: list[Hit] = []
    seen_sentences: set[int] = set()
    for h in sorted(advice, key=lambda h: h.start):
        sentence = doc.sentence_index(h.start)
        if h.start < first_permission and sentence not in seen_sentences:
            seen_sentences.add(sentence)  # one note per advising sentence, however many directives it has
            out.extend(Hit(rule, h.start, h.end, None) for rule in derived)
    return out


def match_rules(text: str, rules: RuleSet, context: AnalysisContext | None = None,
                use_prefilter: bool = True, use_fast: bool = True) -> list[Finding]:
    """All findings of ``rules`` in ``text``, sorted by offset (ties: rule order).

    ``use_prefilter=False`` runs every pattern and ``use_fast=False`` runs the original case-insensitive
    regexes instead of their lowercase twins; results are identical (tests check it), only slower.
    """
    context = context or _EMPTY_CONTEXT
    masked, ignore_list = parse_ignores(text)
    ignores = IgnoreIndex(ignore_list)
    # Typographic apostrophes match like straight ones (same length, so offsets are unchanged).
    masked = masked.replace("\u2019", "'")
    matcher = _Matcher(masked, rules, use_fast)
    hits: list[Hit] = []
    for rule_index, pattern_indices in matcher.candidates(use_prefilter).items():
        hits.extend(matcher.hits(rules.rules[rule_index], pattern_indices))
    hits.extend(_derived(rules, hits, context, matcher.doc))
    hits.sort(key=lambda h: (h.start, h.rule.index))
    findings = []
    for h in hits:
        if ignores and ignores.covers(h.rule.id, h.start):
            continue
        line, column = matcher.doc.line_col(h.start)
        r = h.rule
        findings.append(_finding(
            rule=r.id, principle=r.principle, level=r.level, kind=r.kind, polarity=r.polarity,
            message=r.message, line=line, column=column, offset=h.start, length=h.end - h.start,
            text=text[h.start:h.end], fix=h.fix,
        ))
    return findings
