"""Skip regexes that cannot match: a literal-word prefilter derived from each pattern's syntax tree.

Scanning ~200 case-insensitive regexes over every utterance is what makes a naive matcher slow. Most
patterns need some literal word ("should", "sounds", "mistake"). From the parsed regex we derive a
*requirement*: a set of checks, one of which every match must pass. A check is either ``token`` (the
literal is a whole word, so it must be one of the text's ``\\w+`` tokens: a set lookup) or ``sub`` (it
must occur somewhere in the case-folded text). A pattern runs only when its requirement passes, and
patterns with no derivable requirement always run. The requirement is necessary, never sufficient, so
the prefilter changes speed, not results.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

try:  # Python >= 3.11
    import re._constants as _c
    import re._parser as _p
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

#: Very common words make weak prefilters: a pattern is indexed on its rarest literals instead.
#: Rough frequency tiers of conversational English (weight 1 and 0.3; any other word counts 0.05).
_VERY_COMMON = frozenset("""
a about all and are at be but can do for get have i if in is it just know like me my not of on one
or really right s so t that the there they think this to uh um was we well what with would yeah you
your okay re ve ll d m
""".split())
_COMMON = frozenset("""
after an any as back because been bit by could did does don feel from go going got had has he her here
him his how kind little lot make more much need no now our out people said say see she should some
something sort than them then these thing things those time too up us very want way were when where
which who why will yes
""".split())
_REPEATS = (_c.MAX_REPEAT, _c.MIN_REPEAT) + ((_c.POSSESSIVE_REPEAT,) if hasattr(_c, "POSSESSIVE_REPEAT") else ())
_NONWORD_CATEGORIES = {_c.CATEGORY_SPACE, _c.CATEGORY_NOT_WORD, _c.CATEGORY_LINEBREAK}
_NONWORD, _UNKNOWN, _ZERO = "nonword", "unknown", "zero"

Check = tuple[str, bool]  # (case-folded literal, True when it must be a whole token)


@dataclass(frozen=True)
class Requirement:
    """At least one check must pass for the pattern to possibly match."""

    checks: tuple[Check, ...]

    @property
    def whole(self) -> frozenset[str]:
        """Literals that must be whole tokens."""
        return frozenset(lit for lit, whole in self.checks if whole)

    @property
    def partial(self) -> tuple[str, ...]:
        """Literals that must occur anywhere in the case-folded text."""
        return tuple(lit for lit, whole in self.checks if not whole)

    def passes(self, folded: str, tokens: set[str]) -> bool:
        """True when ``folded`` (case-folded text) with these ``tokens`` might match."""
        return not self.whole.isdisjoint(tokens) or any(lit in folded for lit in self.partial)


def _is_word_char(code: int) -> bool:
    ch = chr(code)
    return ch.isalnum() or ch == "_"


def _op_edge(op, av, side: str) -> tuple[str, bool]:
    """(what a non-empty match of this op starts/ends with, whether it can match empty)."""
    if op is _c.LITERAL:
        return (_UNKNOWN if _is_word_char(av) else _NONWORD), False
    if op is _c.IN:
        nonword = all(
            (kind is _c.LITERAL and not _is_word_char(value))
            or (kind is _c.CATEGORY and value in _NONWORD_CATEGORIES)
            for kind, value in av
        )
        return (_NONWORD if nonword else _UNKNOWN), False
    if op is _c.AT:
        return (_NONWORD if av is not _c.AT_NON_BOUNDARY else _UNKNOWN), False
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return _ZERO, True
    if op in _REPEATS:
        low, _high, item = av
        kind, nullable = _edge(item, side)
        return kind, nullable or low == 0
    if op is _c.SUBPATTERN:
        return _edge(av[-1], side)
    if op is _c.BRANCH:
        edges = [_edge(branch, side) for branch in av[1]]
        kind = _NONWORD if all(k in (_NONWORD, _ZERO) for k, _ in edges) else _UNKNOWN
        return kind, any(n for _, n in edges)
    return _UNKNOWN, False


def _edge(seq, side: str) -> tuple[str, bool]:
    """Edge of a sequence: does every non-empty match start (side L) or end (R) at a non-word char?"""
    items = list(seq) if side == "L" else list(reversed(list(seq)))
    for op, av in items:
        kind, nullable = _op_edge(op, av, side)
        if kind == _ZERO:
            continue
        if kind == _UNKNOWN:
            return _UNKNOWN, False
        if not nullable:
            return _NONWORD, False
    return _NONWORD, True


def _bounded(seq, side: str, outer: bool) -> bool:
    """Is the boundary at the end (side R of ``seq``) or start (side L) certainly a word boundary?"""
    kind, nullable = _edge(seq, side)
    if kind == _UNKNOWN:
        return False
    return outer if nullable else True


def _requirements(seq, left: bool, right: bool) -> list[tuple[Check, ...]]:
    """Every requirement a match of ``seq`` must meet (each: any-of checks)."""
    seq = list(seq)
    found: list[tuple[Check, ...]] = []
    i = 0
    while i < len(seq):
        op, av = seq[i]
        if op is _c.LITERAL and _is_word_char(av):
            j = i
            while j < len(seq) and seq[j][0] is _c.LITERAL and _is_word_char(seq[j][1]):
                j += 1
            literal = "".join(chr(code) for _, code in seq[i:j]).casefold()
            whole = _bounded(seq[:i], "R", left) and _bounded(seq[j:], "L", right)
            found.append(((literal, whole),))
            i = j
            continue
        lb = _bounded(seq[:i], "R", left)
        rb = _bounded(seq[i + 1:], "L", right)
        if op is _c.SUBPATTERN:
            found.extend(_requirements(av[-1], lb, rb))
        elif op is _c.BRANCH:
            per_branch = [_best(_requirements(branch, lb, rb)) for branch in av[1]]
            if all(per_branch):
                found.append(tuple(check for best in per_branch for check in best))
        elif op in _REPEATS and av[0] >= 1:
            found.extend(_requirements(av[2], False, False))
        i += 1
    return found


def _weight(literal: str) -> float:
    if literal in _VERY_COMMON or len(literal) < 3:
        return 1.0
    return 0.3 if literal in _COMMON else 0.05


def _score(req: tuple[Check, ...]) -> tuple:
    """Higher is more selective: few expected hits (by word-frequency tier), then whole words."""
    return (-sum(_weight(lit) for lit, _ in req), all(whole for _, whole in req), min(len(lit) for lit, _ in req))


def _best(reqs: list[tuple[Check, ...]]) -> tuple[Check, ...] | None:
    return max(reqs, key=_score) if reqs else None


def requirements_for(regex: re.Pattern[str], anchored: bool = False) -> tuple[Requirement, ...]:
    """Every requirement of a compiled pattern, the most selective first; empty when it must always run.

    The first one feeds the :class:`PatternIndex`; the others are checked (cheaply) before the regex runs.
    ``anchored`` says the pattern is only tried at sentence starts.
    """
    try:
        parsed = _p.parse(regex.pattern, regex.flags)
    except Exception:  # noqa: BLE001 - an unparsable pattern simply runs unfiltered
        return ()
    # An anchored pattern only runs at a sentence start, which is always a word boundary.
    found = sorted(set(_requirements(list(parsed), anchored, False)), key=_score, reverse=True)
    return tuple(Requirement(checks) for checks in found)


_TOKEN = re.compile(r"\w+")


def text_keys(text: str) -> tuple[str, set[str]]:
    """The case-folded text and its set of word tokens, computed once per analysed text."""
    folded = text.casefold()
    return folded, set(_TOKEN.findall(folded))


class PatternIndex:
    """Inverted index from literal to the patterns that need it, so each text costs one lookup per token.

    Each entry is ``(key, requirements)``: the first requirement is indexed, the others are checked for
    the patterns the index lets through. Keys are ``(rule index, pattern index)`` in the rule set.
    """

    def __init__(self, entries: list[tuple[tuple[int, int], tuple[Requirement, ...]]]) -> None:
        self.by_token: dict[str, list[tuple[int, int]]] = {}
        by_sub: dict[str, list[tuple[int, int]]] = {}
        self.always: list[tuple[int, int]] = []
        # Secondary checks, flattened for speed: key -> ((whole-token set, partial literals), ...).
        self.secondary: dict[tuple[int, int], tuple[tuple[frozenset[str], tuple[str, ...]], ...]] = {}
        for key, reqs in entries:
            if not reqs:
                self.always.append(key)
                continue
            for literal, whole in reqs[0].checks:
                (self.by_token if whole else by_sub).setdefault(literal, []).append(key)
            if len(reqs) > 1:
                self.secondary[key] = tuple((r.whole, r.partial) for r in reqs[1:])
        self.by_sub = list(by_sub.items())

    def candidates(self, folded: str, tokens: set[str]) -> list[tuple[int, int]]:
        """Sorted keys of the patterns that might match the text."""
        active = set(self.always)
        get = self.by_token.get
        for token in tokens:
            keys = get(token)
            if keys:
                active.update(keys)
        for literal, keys in self.by_sub:
            if literal in folded:
                active.update(keys)
        secondary = self.secondary
        result = []
        for key in sorted(active):
            checks = secondary.get(key)
            if checks is not None and not _all_pass(checks, folded, tokens):
                continue
            result.append(key)
        return result


def _all_pass(checks: tuple[tuple[frozenset[str], tuple[str, ...]], ...], folded: str, tokens: set[str]) -> bool:
    # A plain loop: this runs for every candidate pattern of every text, so no generator overhead.
    for whole, partial in checks:
        if whole.isdisjoint(tokens):
            for literal in partial:
                if literal in folded:
                    break
            else:
                return False
    return True
