"""Split a draft into advice sentences (to rewrite) and everything else (kept verbatim, in place).

A sentence is advice when the analyzer finds a directive in it (every rule that marks advice has
kind ``directive``). For each one we recover the *advice content*: the sentence minus its directive
phrase ("You should call Dana before Friday." -> "call Dana before Friday"), using the analyzer's own
deterministic fixes and stripping the fix's lead phrase (``fix_lead`` in knowledge/rewrite.yaml).
Pure functions: the analyzer rules are the only input besides the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from coach.analyzer import apply_fixes, find_spans
from coach.analyzer.engine import permission_in
from coach.analyzer.model import AnalysisContext, Finding
from coach.analyzer.rules import RuleSet
from coach.analyzer.text import split_sentences
from coach.rewrite.config import RewriteConfig

#: What the content of an advice sentence is: a verb phrase after the fix lead ("call Dana"), a
#: sentence that carries the lead inside it ("If Dana pushes back, one thing that worked for me was
#: to escalate"), or a statement with no lead at all ("nobody reads those reports").
CONTENT_KINDS = ("action", "framed", "statement")

_VOCATIVE = re.compile(r"^(?P<name>[A-Z][\w'\u2019-]+(?:\s+[A-Z][\w'\u2019-]+)?),\s+")
_WORD = re.compile(r"[\w'\u2019-]+")
_QUOTED = re.compile(r"\"([^\"\n]{1,120})\"|\u201c([^\u201d\n]{1,120})\u201d|(?<![\w])'([^'\n]{1,120})'(?![\w])")
_EDGE_PUNCT = " \t\r\n,;:.!?-\u2014\u2013"
#: Connectives before a fix lead ("And you must ...") and filler adverbs after it ("... was to also
#: ask Joanna") that carry no advice; they are dropped from the content.
_CONNECTIVE = re.compile(r"^\s*(?:and|also|so|but|then|plus|oh|okay|ok)\b[\s,]*", re.IGNORECASE)
_FILLER = re.compile(r"^(?:also|just|then|really|definitely|simply)\s+", re.IGNORECASE)
_I_FORMS = frozenset({"I", "I'm", "I've", "I'd", "I'll", "I\u2019m", "I\u2019ve", "I\u2019d", "I\u2019ll"})
#: Directive rules whose matches carry no fix; the rewriter supplies one (same lead as the analyzer's).
_LEAD_FIX = "one thing that worked for me was to "
_ANNOUNCEMENT_RULES = frozenset({"advice-announced"})


@dataclass(frozen=True)
class Advice:
    """One advice sentence of the draft and what it asks the listener to do."""

    index: int                    # 0-based, in draft order
    start: int                    # span of the sentence in the draft
    end: int
    sentence: str                 # the original sentence, verbatim
    address: str                  # a name the sentence opens with ("Dana, "), kept in front of the rewrite
    content: str                  # the advice minus its directive phrase; "" for a bare announcement
    kind: str                     # one of CONTENT_KINDS
    fixed: str                    # the sentence after the analyzer's fixes (used by the fallback)
    negated: bool                 # "don't reply tonight", "stop checking Slack"
    specifics: tuple[str, ...]    # names, numbers, dates and quoted terms that must survive
    principles: tuple[str, ...]   # principle card ids the sentence's findings cite


@dataclass(frozen=True)
class Segmented:
    """A draft split for rewriting."""

    text: str
    findings: tuple[Finding, ...]
    advice: tuple[Advice, ...]
    #: Permission to advise already holds before the first advice (asked in the draft, or earlier in
    #: the conversation according to the context).
    permission_before_advice: bool
    #: The draft already hands the choice back after its last advice sentence.
    handback_after_advice: bool
    #: Start of the first and end of the last first-person story sentence when the draft has no
    #: directive (else None): a story told without asking gets the opener and hand-back around it.
    story_start: int | None = None
    story_end: int | None = None

    @property
    def pieces(self) -> tuple[Advice, ...]:
        """Advice sentences with content to rewrite (bare announcements excluded)."""
        return tuple(a for a in self.advice if a.content)


def context_licenses_advice(context: AnalysisContext, rules: RuleSet) -> bool:
    """Permission to advise holds from earlier in the conversation.

    Mirrors the analyzer's own test for advice-unasked: asked before, a previous manager turn asked,
    or the client asked for advice.
    """
    if context.permission_asked:
        return True
    if context.prev_client_text and any(p.search(context.prev_client_text) for p in rules.client_permission):
        return True
    return any(permission_in(turn, rules) for turn in context.previous_manager_turns)


def specifics_of(sentence: str, within: str) -> tuple[str, ...]:
    """Names, numbers, dates and quoted terms of ``sentence`` that appear in ``within``.

    Capitalised words count unless they open the sentence (an imperative verb or "You") or are "I";
    any token with a digit counts ("Q3", "12", "5pm"); quoted terms count as a whole.
    """
    found: list[str] = []
    letters = [ch for ch in sentence if ch.isalpha()]
    # A shouted sentence ("YOU SHOULD CALL THE CUSTOMER") has no telling capitals.
    shouting = len(letters) >= 8 and sum(ch.isupper() for ch in letters) > 0.6 * len(letters)
    for m in _QUOTED.finditer(sentence):
        term = next(g for g in m.groups() if g is not None).strip()
        if term and term in within:
            found.append(term)
    first = True
    for m in _WORD.finditer(sentence):
        word = m.group().strip("'\u2019-")
        if not word:
            continue
        opens = first or _opens_clause(sentence, m.start())
        first = False
        if any(ch.isdigit() for ch in word):
            keep = True
        else:
            keep = word[0].isupper() and not opens and word not in _I_FORMS and not shouting
        if keep and re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", within) and word not in found:
            found.append(word)
    return tuple(found)


def _opens_clause(text: str, at: int) -> bool:
    """True when the word at ``at`` follows a sentence-ending mark or an opening quote."""
    before = text[:at].rstrip()
    return not before or before[-1] in ".!?\"\u201c:"


def _relative(findings: list[Finding], start: int) -> list[Finding]:
    return [replace(f, offset=f.offset - start) for f in findings]


def _content_fixes(sentence_findings: list[Finding], config: RewriteConfig) -> list[Finding]:
    """The findings to apply to an advice sentence to expose its content.

    Directives keep the analyzer's fix; those without one get the same lead (announcements are
    dropped); removable judgmental words ("obviously", "just") are deleted.
    """
    removable = {w.lower() for w in config.removable_words}
    out: list[Finding] = []
    for f in sentence_findings:
        if f.kind == "directive":
            if f.fix is not None:
                out.append(f)
            elif f.rule in _ANNOUNCEMENT_RULES:
                out.append(replace(f, fix=""))
            else:
                out.append(replace(f, fix=_LEAD_FIX))
        elif f.kind == "judgmental" and f.text.strip().lower() in removable:
            out.append(replace(f, fix=""))
    return out


def _tidy(text: str) -> str:
    text = re.sub(r"\s{2,}", " ", text)
    text = re.sub(r"\s+([,;:.!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    return text.strip(_EDGE_PUNCT)


def extract_content(sentence: str, sentence_findings: list[Finding], config: RewriteConfig) -> tuple[str, str, str, bool, str]:
    """``(address, content, kind, negated, fixed)`` of one advice sentence (findings relative to it)."""
    fixed = apply_fixes(sentence, _content_fixes(sentence_findings, config))
    address = ""
    vocative = _VOCATIVE.match(sentence)
    if vocative and vocative.group("name").split()[0].lower() not in config.not_vocative and fixed.startswith(vocative.group()):
        address = vocative.group()
        fixed = fixed[len(address):]
        fixed = fixed[:1].upper() + fixed[1:]
    connective = _CONNECTIVE.match(fixed)
    if connective and config.fix_lead.match(fixed, connective.end()):
        fixed = fixed[connective.end():]
    leads = list(config.fix_lead.finditer(fixed))
    # Each lead goes; a negated one leaves "not" behind ("..., and not email her"), so the content
    # keeps every negation: "not reply to that email tonight".
    parts: list[str] = []
    last = 0
    for m in leads:
        parts.append(fixed[last:m.start()])
        parts.append("not " if m.group("neg") else "")
        last = m.end()
    parts.append(fixed[last:])
    content = _tidy("".join(parts))
    if not leads:
        kind = "statement"
    elif not fixed[: leads[0].start()].strip(_EDGE_PUNCT):
        kind = "action"
    else:
        kind = "framed"
    if kind == "action":
        content = _FILLER.sub("", content)
        first = content.split()[0] if content else ""
        # Lower-case an opening verb ("Call" -> "call"), never a shouted word or "I".
        if first and first not in _I_FORMS and first[1:] == first[1:].lower():
            content = content[:1].lower() + content[1:]
    first_word = content.split()[0].lower() if content else ""
    negated = any(m.group("neg") for m in leads) or first_word in {v.lower() for v in config.negation.negative_verbs}
    return address, content, kind, negated, fixed.strip()


def segment(draft: str, rules: RuleSet, config: RewriteConfig, context: AnalysisContext | None = None) -> Segmented:
    """Find the advice sentences of ``draft`` and what each one asks for."""
    context = context or AnalysisContext()
    findings = find_spans(draft, context, rules)
    sentences = split_sentences(draft)
    directive_sentences: list[tuple[int, int]] = []
    for start, end in sentences:
        if any(f.kind == "directive" and start <= f.offset < end for f in findings):
            directive_sentences.append((start, end))
    advice: list[Advice] = []
    for start, end in directive_sentences:
        inside = [f for f in findings if start <= f.offset and f.offset + f.length <= end]
        sentence = draft[start:end]
        address, content, kind, negated, fixed = extract_content(sentence, _relative(inside, start), config)
        principles = tuple(dict.fromkeys(f.principle for f in inside if f.polarity == "bad"))
        advice.append(Advice(
            index=len(advice), start=start, end=end, sentence=sentence, address=address, content=content,
            kind=kind, fixed=fixed, negated=negated, specifics=specifics_of(sentence, content) if content else (),
            principles=principles,
        ))
    licensed = context_licenses_advice(context, rules)
    story_start = story_end = None
    if advice:
        first, last_end = advice[0].start, advice[-1].end
        # The analyzer is the judge: advice before permission shows up as advice-unasked.
        permission_before = not any(f.kind == "advice-unasked" for f in findings) and (
            licensed or any(f.kind == "permission" and f.offset < first for f in findings)
        )
        handback_after = any(f.kind == "handback" and f.offset >= last_end for f in findings)
    else:
        story = [f.offset for f in findings if f.kind == "story"]
        if story:
            story_start = next(s for s, e in sentences if s <= min(story) < e)
            story_end = next(e for s, e in sentences if s <= max(story) < e)
        permission_before = licensed or any(
            f.kind == "permission" and (not story or f.offset < min(story)) for f in findings
        )
        handback_after = story_start is not None and any(
            f.kind == "handback" and f.offset > story_start for f in findings
        )
    return Segmented(
        text=draft, findings=tuple(findings), advice=tuple(advice), permission_before_advice=permission_before,
        handback_after_advice=handback_after, story_start=story_start, story_end=story_end,
    )
