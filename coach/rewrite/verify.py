"""The verifier: pure checks that every rewrite must pass before anyone sees it.

Two levels. :func:`check_piece` judges one rewritten advice sentence (used to accept or repair a
model attempt). :func:`verify_rewrite` judges the assembled text and returns the checklist shown to
the user. The analyzer (rules only) is the judge for directives, permission, hand-back and judgmental
wording; all-MiniLM-L6-v2 cosine similarity, against the threshold calibrated in
knowledge/rewrite.yaml, is the judge for meaning.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from coach.analyzer import find_spans
from coach.analyzer.model import LEVELS, AnalysisContext, Finding
from coach.analyzer.rules import RuleSet
from coach.embeddings import embed
from coach.rewrite.config import RewriteConfig
from coach.rewrite.segment import Advice, Segmented
from coach.rewrite.types import CHECK_LABELS, Check, Problem

_WORDS = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SECOND_PERSON = re.compile(r"\b(?:you|your|yours|yourself|you're|you've|you'd|you'll)\b", re.IGNORECASE)
_FIRST_PERSON = re.compile(r"\b(?:I|me|my|myself|mine)\b|\bI(?:'|\u2019)(?:m|ve|d|ll)\b")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'"})
_WARNING = LEVELS.index("warning")


@dataclass(frozen=True)
class Span:
    """Where a generated part sits in the assembled text."""

    role: str    # opener | piece | handback
    start: int
    end: int
    piece: int = -1


def words(text: str) -> list[str]:
    """Lower-case word tokens (apostrophes normalised)."""
    return _WORDS.findall(text.translate(_APOSTROPHES).lower())


def leaked_phrase(output: str, prompt_text: str, draft: str, n: int) -> str | None:
    """A run of ``n`` words of ``prompt_text`` that appears in ``output`` and is not the user's own, if any.

    A run counts as the user's when more than half of its words are in the draft: the rewrite is
    meant to repeat the user's words, even when an example in the prompt happens to use them too.
    """
    prompt_words = words(prompt_text)
    prompt_grams = {" ".join(prompt_words[i:i + n]) for i in range(len(prompt_words) - n + 1)}
    draft_words = set(words(draft))
    out = words(output)
    for i in range(len(out) - n + 1):
        run = out[i:i + n]
        gram = " ".join(run)
        if gram in prompt_grams and sum(w not in draft_words for w in run) * 2 >= n:
            return gram
    return None


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts (all-MiniLM-L6-v2 unit vectors)."""
    vectors = embed([a, b])
    return float(vectors[0] @ vectors[1])


def first_person(text: str) -> bool:
    """The text speaks as "I" (I, me, my, myself, mine, I'm ...)."""
    return bool(_FIRST_PERSON.search(text))


def not_experience(sentence: str, config: RewriteConfig) -> str | None:
    """The opening that makes ``sentence`` a plan or a recommendation instead of an experience, if any."""
    norm = sentence.translate(_APOSTROPHES).strip().lower()
    for opening in config.not_experience:
        lowered = opening.translate(_APOSTROPHES).lower()
        if norm == lowered or norm.startswith(lowered + " ") or norm.startswith(lowered + ","):
            return opening
    return None


def _has_any(text: str, phrases: Sequence[str]) -> bool:
    norm = " " + " ".join(words(text)) + " "
    for phrase in phrases:
        p = phrase.lower()
        if p == "n't":
            if re.search(r"n't\b", text.translate(_APOSTROPHES).lower()):
                return True
        elif f" {' '.join(words(p))} " in norm:
            return True
    return False


def polarity_problem(content: str, negated: bool, carried: str, config: RewriteConfig) -> str | None:
    """Why ``carried`` flips the polarity of ``content`` ("don't reply" -> "I replied"), or None.

    Only the action clause counts (before ", so"), since the consequence may negate freely
    ("I called early, so there were no surprises").
    """
    action = re.split(r",\s*so\b", carried, maxsplit=1)[0]
    neg = config.negation
    if negated and not _has_any(action, neg.strict + neg.soft):
        return "the advice says not to do something, but the rewrite says I did it"
    if not negated and not _has_any(content, neg.strict) and _has_any(action, neg.strict):
        return "the rewrite says I did not do what the advice recommends"
    return None


def head_verb(content: str, config: RewriteConfig) -> str | None:
    """The verb an action-advice content starts with ("not reply to ..." -> "reply"), if any."""
    for word in words(content):
        if word not in config.skip_words:
            return word if word.isalpha() else None
    return None


def verb_forms(verb: str, config: RewriteConfig) -> set[str]:
    """Forms of ``verb`` that count as saying it: base, -s, -ed, -ing, irregular past, -ise/-ize."""
    v = verb.lower()
    forms = {v, v + "s", v + "es", v + "ed", v + "d", v + "ing"}
    if v.endswith("e"):
        forms.add(v[:-1] + "ing")
    if v.endswith("y") and len(v) > 2 and v[-2] not in "aeiou":
        forms |= {v[:-1] + "ied", v[:-1] + "ies"}
    if len(v) > 2 and v[-1] not in "aeiouwxy" and v[-2] in "aeiou" and v[-3] not in "aeiou":
        forms |= {v + v[-1] + "ed", v + v[-1] + "ing"}
    forms |= set(config.irregular.get(v, ()))
    # British and American spellings ("apologise", "apologized") count as the same verb.
    return forms | {f.replace("is", "iz") for f in forms if "is" in f} | {f.replace("iz", "is") for f in forms if "iz" in f}


def verb_problem(content: str, kind: str, carried: str, config: RewriteConfig) -> str | None:
    """Why ``carried`` does not say I did the advice's action (its verb is missing), or None."""
    if kind != "action":
        return None
    verb = head_verb(content, config)
    if verb is None:
        return None
    action = re.split(r",\s*so\b", carried, maxsplit=1)[0]
    if set(words(action)) & verb_forms(verb, config):
        return None
    return f"it must say that I did it: use the verb '{verb}'"


def meta_talk(sentence: str, draft: str, config: RewriteConfig) -> str | None:
    """A word about the task ("advice", "try again") in ``sentence`` that the draft does not use, if any."""
    said = " " + " ".join(words(sentence)) + " "
    drafted = " " + " ".join(words(draft)) + " "
    for phrase in config.meta_words:
        p = " " + " ".join(words(phrase)) + " "
        if p in said and p not in drafted:
            return phrase
    return None


_NUMBER = re.compile(r"\b\w*\d[\w:./-]*")
_CAPITALISED = re.compile(r"(?<![\w'])[A-Z][\w'\u2019-]*")


def invented_specifics(sentence: str, draft: str) -> list[str]:
    """Numbers and capitalised names in ``sentence`` that the draft never mentions.

    The first word and words after a sentence mark are skipped (capitalised by grammar), as is "I".
    """
    norm_draft = draft.translate(_APOSTROPHES).lower()
    invented: list[str] = []
    for m in _NUMBER.finditer(sentence):
        if m.group().lower().rstrip(".") not in norm_draft:
            invented.append(m.group().rstrip("."))
    for m in _CAPITALISED.finditer(sentence):
        word = m.group().translate(_APOSTROPHES)
        before = sentence[:m.start()].rstrip()
        if not before or before[-1] in ".!?:\"\u201c" or word.split("'")[0] == "I":
            continue
        if word.split("'")[0].lower() not in norm_draft and word not in invented:
            invented.append(word)
    return invented


def missing_specifics(specifics: Sequence[str], text: str) -> list[str]:
    """The specifics (names, numbers, dates, quoted terms) that ``text`` leaves out."""
    norm = text.translate(_APOSTROPHES)
    return [s for s in specifics if not re.search(rf"(?<![\w]){re.escape(s.translate(_APOSTROPHES))}(?![\w])", norm)]


def _describe(findings: Sequence[Finding]) -> str:
    return "; ".join(f'"{f.text}" ({f.rule})' for f in findings[:3])


def check_piece(
    advice: Advice,
    text: str,
    carried: str,
    sentence: str,
    config: RewriteConfig,
    rules: RuleSet,
    prompt_text: str,
    draft: str,
    quoted: bool = False,
) -> tuple[list[Problem], float]:
    """Problems of one rewritten piece (empty = accepted) and its meaning similarity.

    ``text`` is the piece as it will appear, ``carried`` the part that carries the advice (compared
    with the advice content), ``sentence`` the model's own sentence (checked for the experience form).
    ``quoted`` marks the last-resort fallback, which quotes the draft sentence ("you" included) verbatim.
    """
    problems: list[Problem] = []
    if len(words(text)) < 3:
        return [Problem("length_ok", "the answer is empty or too short")], 0.0
    limit = int(config.max_piece_ratio * len(advice.sentence)) + config.max_piece_extra_chars
    if len(text) > limit:
        problems.append(Problem("length_ok", f"the answer is too long ({len(text)} characters, limit {limit})"))
    findings = find_spans(text, AnalysisContext(permission_asked=True), rules)
    directives = [f for f in findings if f.kind in ("directive", "advice-unasked")]
    if directives:
        problems.append(Problem("no_directives", f"it tells the reader what to do: {_describe(directives)}"))
    if not first_person(text):
        problems.append(Problem("first_person", "it does not speak as 'I'"))
    action = re.split(r",\s*so\b", carried, maxsplit=1)[0]
    second = _SECOND_PERSON.search(action.translate(_APOSTROPHES))
    if second and not quoted:
        problems.append(Problem("first_person", f"it says '{second.group()}': tell it as my own experience, with 'I' and 'my'"))
    opening = not_experience(sentence, config)
    if opening:
        problems.append(Problem("first_person", f"it starts with '{opening}': say what I did, in the past tense"))
    score = similarity(advice.content, carried)
    if score < config.meaning_threshold:
        problems.append(Problem("meaning_kept", f"it drifts from the advice (similarity {score:.2f} < {config.meaning_threshold:.2f})"))
    flipped = polarity_problem(advice.content, advice.negated, carried, config)
    if flipped:
        problems.append(Problem("meaning_kept", flipped))
    lost_verb = verb_problem(advice.content, advice.kind, carried, config)
    if lost_verb:
        problems.append(Problem("meaning_kept", lost_verb))
    missing = missing_specifics(advice.specifics, text)
    if missing:
        problems.append(Problem("specifics_kept", "it leaves out " + ", ".join(missing)))
    invented = invented_specifics(sentence, draft) if not quoted else []
    if invented:
        problems.append(Problem("specifics_kept", "it adds names or numbers the draft does not have: " + ", ".join(invented[:4])))
    judgmental = [f for f in findings if f.kind == "judgmental"]
    if judgmental:
        problems.append(Problem("no_judgmental", f"judgmental wording: {_describe(judgmental)}"))
    leak = leaked_phrase(text, prompt_text, draft, config.leak_words)
    if leak:
        problems.append(Problem("no_prompt_leak", f'it copies the instructions ("{leak}")'))
    meta = meta_talk(sentence, draft, config)
    if meta:
        problems.append(Problem("no_prompt_leak", f"it talks about the task ('{meta}') instead of telling the story"))
    return problems, score


def _check(name: str, passed: bool, detail: str) -> Check:
    return Check(name=name, label=CHECK_LABELS[name], passed=passed, detail=detail)


def verify_rewrite(
    text: str,
    segmented: Segmented,
    spans: Sequence[Span],
    piece_problems: dict[int, list[Problem]],
    similarities: dict[int, float],
    context_licensed: bool,
    config: RewriteConfig,
    rules: RuleSet,
    prompt_text: str,
) -> list[Check]:
    """The checklist of an assembled rewrite (every item must pass before it is returned).

    ``piece_problems`` holds each piece's :func:`check_piece` problems for its final wording.
    """
    context = AnalysisContext(permission_asked=context_licensed)
    findings = find_spans(text, context, rules)
    pieces = [s for s in spans if s.role == "piece"]
    generated = [s for s in spans if s.role in ("opener", "piece", "handback")]
    advises = bool(pieces) or segmented.story_start is not None
    checks: list[Check] = []

    if not advises:
        checks.append(_check("asks_permission", True, "not needed: the draft gives no advice"))
    else:
        if pieces:
            first = min(s.start for s in pieces)
        else:
            # A story: permission must come before its first first-person story phrase.
            first = min((f.offset for f in findings if f.kind == "story"), default=0)
        asked = [f for f in findings if f.kind == "permission" and f.offset < first]
        unasked = [f for f in findings if f.kind == "advice-unasked"]
        ok = (context_licensed or bool(asked)) and not unasked
        detail = (f'asks first: "{asked[0].text}"' if asked else "permission was given earlier in the conversation") \
            if ok else "advice comes before any permission is asked"
        checks.append(_check("asks_permission", ok, detail))

    def piece_check(name: str, good: str, none: str) -> Check:
        if not pieces:
            return _check(name, True, none)
        bad = [(i, p) for i, problems in piece_problems.items() for p in problems if p.check == name]
        if bad:
            return _check(name, False, "; ".join(f"piece {i + 1}: {p.message}" for i, p in bad[:3]))
        return _check(name, True, good)

    story = any(f.kind == "story" for f in findings)
    checks.append(piece_check("first_person", "every piece is told as my own experience",
                              "the story is told in the first person" if story else "not needed: no advice to retell"))
    loud = [f for f in findings if f.kind in ("directive", "advice-unasked") and LEVELS.index(f.level) >= _WARNING]
    checks.append(_check("no_directives", not loud,
                         "no directive at warning level or above" if not loud else f"still directive: {_describe(loud)}"))
    meaning = piece_check("meaning_kept", "", "not needed: nothing was rewritten")
    if pieces and meaning.passed:
        low = min(similarities.values()) if similarities else 1.0
        meaning = _check("meaning_kept", True, f"lowest similarity {low:.2f} >= {config.meaning_threshold:.2f}, negations and verbs kept")
    checks.append(meaning)
    checks.append(piece_check("specifics_kept", "every name, number, date and quoted term is kept",
                              "not needed: nothing was rewritten"))
    if pieces or segmented.story_start is not None:
        if pieces:
            last = max(s.end for s in pieces)
        else:
            last = min((f.offset for f in findings if f.kind == "story"), default=0)
        back = [f for f in findings if f.kind == "handback" and f.offset >= last]
        checks.append(_check("hands_back", bool(back),
                             f'"{back[0].text}"' if back else "the choice is not handed back after the advice"))
    else:
        checks.append(_check("hands_back", True, "not needed: the draft gives no advice"))
    judged = [f for f in findings if f.kind == "judgmental" and any(s.start <= f.offset < s.end for s in generated)]
    checks.append(_check("no_judgmental", not judged,
                         "no judgmental wording in what was rewritten" if not judged else _describe(judged)))
    leak = leaked_phrase(text, prompt_text, segmented.text, config.leak_words) if prompt_text else None
    checks.append(_check("no_prompt_leak", leak is None,
                         "no instructions copied" if leak is None else f'copies the instructions: "{leak}"'))
    limit = int(config.max_piece_ratio * len(segmented.text)) + config.max_piece_extra_chars * (len(pieces) + 2)
    bounded = bool(text.strip()) and len(text) <= limit and not piece_problems_of(piece_problems, "length_ok")
    checks.append(_check("length_ok", bounded, f"{len(text)} characters (limit {limit})" if bounded
                         else f"empty or too long: {len(text)} characters (limit {limit})"))
    return checks


def piece_problems_of(piece_problems: dict[int, list[Problem]], name: str) -> list[Problem]:
    """All piece problems of one check."""
    return [p for problems in piece_problems.values() for p in problems if p.check == name]
