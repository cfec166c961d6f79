"""Rules as data: load and validate ``knowledge/rules/*.yaml`` into compiled, immutable rules.

One file per family holds ``rules:``, a list of rules. ``_guards.yaml`` holds the named sentence
conditions that rules refer to in ``only:`` / ``unless:``. Every field is checked here, once, so the
matcher's hot path never validates anything. Errors name the file, the line and the field.

Rule fields (see ``knowledge/rules/README.md`` for the full description):
``id, principle, level, kind, polarity, message, patterns, anchor, span, exceptions, only, unless,
advice, trigger, fix, title, examples``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from coach.analyzer.fastre import fast_variant
from coach.analyzer.model import KINDS, LEVELS
from coach.analyzer.prefilter import PatternIndex, Requirement, requirements_for
from coach.analyzer.yamlsrc import LineDict, LineList, RuleFileError, load_yaml

#: Every pattern is matched case-insensitively (Vale does the same for its tokens).
FLAGS = re.IGNORECASE
POLARITIES = ("good", "bad", "neutral")
ANCHORS = ("anywhere", "start")
SPANS = ("match", "sentence")
TRIGGERS = ("advice-before-permission",)
#: Guards computed by the matcher itself, not defined in _guards.yaml.
BUILTIN_GUARDS = ("quoted", "question", "statement")
SENTENCE_TYPES = ("any", "question", "statement")
GUARD_SCOPES = ("sentence", "before", "after")
FIX_FILTERS = ("lower", "upper", "cap")
_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_PLACEHOLDER = re.compile(r"\{(\w+)(?:\|(\w+))?\}")

RULE_FIELDS = {
    "id", "principle", "level", "kind", "polarity", "message", "title", "patterns", "anchor", "span",
    "exceptions", "only", "unless", "advice", "trigger", "fix", "examples",
}
REQUIRED_RULE_FIELDS = ("id", "principle", "level", "kind", "polarity", "message", "examples")
GUARD_FIELDS = {"description", "sentence", "scope", "patterns", "except"}


@dataclass(frozen=True)
class Pattern:
    """One compiled regex of a rule, the fix template for its matches, and its prefilter."""

    regex: re.Pattern[str]
    fix: str | None
    #: Literal-word prefilter: the first requirement is indexed, the rest are checked before the regex runs.
    requirements: tuple[Requirement, ...] = ()
    #: Lowercase twin for lowercased text (see :mod:`coach.analyzer.fastre`), and whether it lost a leading \b.
    fast: re.Pattern[str] | None = None
    boundary: bool = False


@dataclass(frozen=True)
class Rule:
    """One validated rule. ``source`` is ``file:line`` of its definition, for messages."""

    id: str
    principle: str
    level: str
    kind: str
    polarity: str
    message: str
    title: str
    patterns: tuple[Pattern, ...]
    anchor: str
    span: str
    exceptions: tuple[re.Pattern[str], ...]
    only: tuple[str, ...]
    unless: tuple[str, ...]
    advice: bool
    trigger: str | None
    examples_match: tuple[str, ...]
    examples_no_match: tuple[str, ...]
    source: str
    index: int = 0  # position in the rule set: ties between findings at one offset sort by it


@dataclass(frozen=True)
class Guard:
    """A named condition on the sentence around a match (see ``_guards.yaml``)."""

    name: str
    description: str
    sentence: str
    scope: str
    patterns: tuple[re.Pattern[str], ...]
    excepts: tuple[re.Pattern[str], ...]


@dataclass(frozen=True)
class RuleSet:
    """All rules (in file then definition order), the guards they use, and client-permission patterns."""

    rules: tuple[Rule, ...]
    guards: dict[str, Guard]
    client_permission: tuple[re.Pattern[str], ...]
    directory: Path
    prefilter: PatternIndex

    def by_id(self, rule_id: str) -> Rule:
        """The rule with this id; ``KeyError`` when unknown."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


class _Ctx:
    """Where we are while validating, so every error can say file, line and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, line: int, message: str) -> RuleFileError:
        return RuleFileError(f"{self.path}:{line}: {message}")


def _str(ctx: _Ctx, data: LineDict, key: str, where: str, *, choices: tuple[str, ...] | None = None,
         default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ctx.fail(data.line_of(key), f"{where}: field '{key}' must be a non-empty string, got {value!r}")
    if choices is not None and value not in choices:
        raise ctx.fail(data.line_of(key), f"{where}: field '{key}' must be one of {', '.join(choices)}; got {value!r}")
    return value


def _str_list(ctx: _Ctx, data: LineDict, key: str, where: str) -> list[tuple[str, int]]:
    """A list of non-empty strings with the line of each item (missing field = empty list)."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, LineList):
        raise ctx.fail(data.line_of(key), f"{where}: field '{key}' must be a list of strings")
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise ctx.fail(value.line_of(index), f"{where}: field '{key}' item {index + 1} must be a non-empty string, got {item!r}")
        items.append((item, value.line_of(index)))
    return items


def _compile(ctx: _Ctx, source: str, line: int, where: str) -> re.Pattern[str]:
    try:
        regex = re.compile(source, FLAGS)
    except re.error as exc:
        raise ctx.fail(line, f"{where}: invalid regex {source!r}: {exc}") from exc
    if regex.match(""):
        raise ctx.fail(line, f"{where}: regex {source!r} matches the empty string")
    return regex


def _check_fix(ctx: _Ctx, template: str, regex: re.Pattern[str], line: int, where: str) -> None:
    for name, filt in _PLACEHOLDER.findall(template):
        if name != "0" and name not in regex.groupindex:
            raise ctx.fail(line, f"{where}: field 'fix' uses {{{name}}} but pattern {regex.pattern!r} has no group named {name!r}")
        if filt and filt not in FIX_FILTERS:
            raise ctx.fail(line, f"{where}: field 'fix' filter '|{filt}' must be one of {', '.join(FIX_FILTERS)}")


def _patterns(ctx: _Ctx, data: LineDict, where: str, default_fix: str | None, anchored: bool) -> tuple[Pattern, ...]:
    value = data.get("patterns")
    if not isinstance(value, LineList) or not value:
        raise ctx.fail(data.line_of("patterns"), f"{where}: field 'patterns' must be a non-empty list")
    result = []
    for index, item in enumerate(value):
        line = value.line_of(index)
        fix = default_fix
        if isinstance(item, LineDict):
            unknown = set(item) - {"regex", "fix"}
            if unknown:
                raise ctx.fail(line, f"{where}: field 'patterns' item {index + 1} has unknown keys {sorted(unknown)}")
            source, fix = item.get("regex"), item.get("fix", default_fix)
            if fix is not None and (not isinstance(fix, str) or not fix.strip()):
                raise ctx.fail(item.line_of("fix"), f"{where}: field 'patterns' item {index + 1} 'fix' must be a non-empty string")
        else:
            source = item
        if not isinstance(source, str) or not source.strip():
            raise ctx.fail(line, f"{where}: field 'patterns' item {index + 1} must be a regex string or {{regex, fix}}")
        regex = _compile(ctx, source, line, f"{where}: field 'patterns' item {index + 1}")
        if fix is not None:
            _check_fix(ctx, fix, regex, line, where)
        result.append(Pattern(regex, fix, requirements_for(regex, anchored), *fast_variant(regex)))
    return tuple(result)


def _examples(ctx: _Ctx, data: LineDict, where: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    value = data.get("examples")
    if not isinstance(value, LineDict):
        raise ctx.fail(data.line_of("examples"), f"{where}: field 'examples' must be a mapping with 'match' and 'no_match' lists")
    unknown = set(value) - {"match", "no_match"}
    if unknown:
        raise ctx.fail(data.line_of("examples"), f"{where}: field 'examples' has unknown keys {sorted(unknown)}")
    match = [s for s, _ in _str_list(ctx, value, "match", f"{where}: examples")]
    no_match = [s for s, _ in _str_list(ctx, value, "no_match", f"{where}: examples")]
    if not match or not no_match:
        raise ctx.fail(data.line_of("examples"), f"{where}: field 'examples' needs at least one 'match' and one 'no_match' example")
    return tuple(match), tuple(no_match)


def _rule(ctx: _Ctx, data: Any, line: int, principles: frozenset[str], guard_names: set[str]) -> Rule:
    if not isinstance(data, LineDict):
        raise ctx.fail(line, f"each rule must be a mapping, got {type(data).__name__}")
    rule_id = data.get("id")
    where = f"rule {rule_id!r}" if isinstance(rule_id, str) else "rule"
    unknown = sorted(set(data) - RULE_FIELDS)
    if unknown:
        raise ctx.fail(data.line_of(unknown[0]), f"{where}: unknown field '{unknown[0]}' (allowed: {', '.join(sorted(RULE_FIELDS))})")
    for key in REQUIRED_RULE_FIELDS:
        if key not in data:
            raise ctx.fail(data.line, f"{where}: missing required field '{key}'")
    _str(ctx, data, "id", where)
    if not _ID.match(rule_id):
        raise ctx.fail(data.line_of("id"), f"{where}: field 'id' must be lowercase words joined by '-'")
    principle = _str(ctx, data, "principle", where)
    if principle not in principles:
        raise ctx.fail(data.line_of("principle"), f"{where}: field 'principle' {principle!r} is not a card id in knowledge/principles/IDS.txt")
    trigger = _str(ctx, data, "trigger", where, choices=TRIGGERS)
    fix = _str(ctx, data, "fix", where)
    if trigger and "patterns" in data:
        raise ctx.fail(data.line_of("patterns"), f"{where}: a rule with 'trigger' is derived from other findings and takes no 'patterns'")
    anchor = _str(ctx, data, "anchor", where, choices=ANCHORS, default="anywhere")
    patterns = () if trigger else _patterns(ctx, data, where, fix, anchor == "start")
    guards = {}
    for key in ("only", "unless"):
        names = _str_list(ctx, data, key, where)
        for name, item_line in names:
            if name not in guard_names:
                raise ctx.fail(item_line, f"{where}: field '{key}' names unknown guard {name!r} (known: {', '.join(sorted(guard_names))})")
        guards[key] = tuple(name for name, _ in names)
    advice = data.get("advice", False)
    if not isinstance(advice, bool):
        raise ctx.fail(data.line_of("advice"), f"{where}: field 'advice' must be true or false")
    match, no_match = _examples(ctx, data, where)
    return Rule(
        id=rule_id,
        principle=principle,
        level=_str(ctx, data, "level", where, choices=LEVELS),
        kind=_str(ctx, data, "kind", where, choices=KINDS),
        polarity=_str(ctx, data, "polarity", where, choices=POLARITIES),
        message=_str(ctx, data, "message", where).strip(),
        title=(_str(ctx, data, "title", where) or rule_id.replace("-", " ").capitalize()).strip(),
        patterns=patterns,
        anchor=anchor,
        span=_str(ctx, data, "span", where, choices=SPANS, default="match"),
        exceptions=tuple(_compile(ctx, s, ln, f"{where}: field 'exceptions'") for s, ln in _str_list(ctx, data, "exceptions", where)),
        only=guards["only"],
        unless=guards["unless"],
        advice=advice,
        trigger=trigger,
        examples_match=match,
        examples_no_match=no_match,
        source=f"{ctx.path.name}:{data.line}",
    )


def _guards(ctx: _Ctx, data: Any) -> tuple[dict[str, Guard], tuple[re.Pattern[str], ...]]:
    if not isinstance(data, LineDict) or not isinstance(data.get("guards"), LineDict):
        raise ctx.fail(getattr(data, "line", 1), "guard file must have a 'guards:' mapping")
    unknown = set(data) - {"guards", "client_permission"}
    if unknown:
        raise ctx.fail(data.line, f"unknown top-level keys {sorted(unknown)}")
    guards: dict[str, Guard] = {}
    for name, spec in data["guards"].items():
        where = f"guard {name!r}"
        line = data["guards"].line_of(name)
        if name in BUILTIN_GUARDS:
            raise ctx.fail(line, f"{where}: name is reserved for a built-in guard")
        if not isinstance(spec, LineDict):
            raise ctx.fail(line, f"{where}: must be a mapping")
        bad = set(spec) - GUARD_FIELDS
        if bad:
            raise ctx.fail(spec.line, f"{where}: unknown field(s) {sorted(bad)}")
        patterns = tuple(_compile(ctx, s, ln, f"{where}: field 'patterns'") for s, ln in _str_list(ctx, spec, "patterns", where))
        sentence = _str(ctx, spec, "sentence", where, choices=SENTENCE_TYPES, default="any")
        if not patterns and sentence == "any":
            raise ctx.fail(spec.line, f"{where}: needs 'patterns' or a 'sentence' type")
        guards[name] = Guard(
            name=name,
            description=_str(ctx, spec, "description", where) or "",
            sentence=sentence,
            scope=_str(ctx, spec, "scope", where, choices=GUARD_SCOPES, default="sentence"),
            patterns=patterns,
            excepts=tuple(_compile(ctx, s, ln, f"{where}: field 'except'") for s, ln in _str_list(ctx, spec, "except", where)),
        )
    client: tuple[re.Pattern[str], ...] = ()
    if "client_permission" in data:
        spec = data["client_permission"]
        if not isinstance(spec, LineDict):
            raise ctx.fail(data.line_of("client_permission"), "client_permission must be a mapping with 'patterns'")
        client = tuple(_compile(ctx, s, ln, "client_permission") for s, ln in _str_list(ctx, spec, "patterns", "client_permission"))
    return guards, client


def read_principle_ids(knowledge_dir: Path) -> frozenset[str]:
    """Card ids listed in ``principles/IDS.txt`` (comments and blank lines skipped)."""
    path = knowledge_dir / "principles" / "IDS.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read principle ids: {exc.strerror or exc}") from exc
    return frozenset(s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#"))


def load_rules(rules_dir: Path, principles: frozenset[str]) -> RuleSet:
    """Load and validate every ``*.yaml`` in ``rules_dir``. Raises :class:`RuleFileError` on any problem."""
    if not rules_dir.is_dir():
        raise RuleFileError(f"{rules_dir}: rules directory not found")
    guards: dict[str, Guard] = {}
    client: tuple[re.Pattern[str], ...] = ()
    guard_files = sorted(rules_dir.glob("_*.yaml"))
    for path in guard_files:
        found, client_found = _guards(_Ctx(path), load_yaml(path))
        guards.update(found)
        client = client + client_found
    guard_names = set(guards) | set(BUILTIN_GUARDS)
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in sorted(p for p in rules_dir.glob("*.yaml") if not p.name.startswith("_")):
        ctx = _Ctx(path)
        data = load_yaml(path)
        if not isinstance(data, LineDict) or set(data) != {"rules"} or not isinstance(data["rules"], LineList):
            raise ctx.fail(getattr(data, "line", 1), "a rule file must hold exactly one key, 'rules:', with a list of rules")
        for index, item in enumerate(data["rules"]):
            rule = _rule(ctx, item, data["rules"].line_of(index), principles, guard_names)
            if rule.id in seen:
                raise ctx.fail(item.line_of("id"), f"rule {rule.id!r}: duplicate id (first defined at {seen[rule.id]})")
            seen[rule.id] = rule.source
            rules.append(replace(rule, index=len(rules)))
    if not rules:
        raise RuleFileError(f"{rules_dir}: no rule files (*.yaml) found")
    prefilter = PatternIndex([
        ((rule.index, i), pattern.requirements) for rule in rules for i, pattern in enumerate(rule.patterns)
    ])
    return RuleSet(rules=tuple(rules), guards=guards, client_permission=client, directory=rules_dir,
                   prefilter=prefilter)


@lru_cache(maxsize=4)
def rules_for(knowledge_dir: Path) -> RuleSet:
    """The rule set of a knowledge directory, loaded once per process (regexes are compiled once)."""
    return load_rules(knowledge_dir / "rules", read_principle_ids(knowledge_dir))
