"""Assertion types: what a case may expect of an output, each validated when the case file loads.

Deterministic: ``contains``, ``not-contains``, ``regex``, ``not-regex``, ``finding-present``,
``finding-absent`` (analyzer findings by rule id, kind or principle), ``principle-cited``,
``json-schema``, ``length``, ``retrieved`` (ids in the top k), ``metric`` (a number in the output's
data). Embedding: ``similar`` (cosine of MiniLM embeddings). Model-graded: ``rubric`` (the grader
model returns a JSON verdict, see :mod:`evals.grader`).

Each type declares its parameters; :func:`validate` checks a spec when the file is loaded so a
typo is reported with file and line before anything runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from coach.analyzer.model import KINDS, LEVELS, Finding
from evals.model import AssertionSpec, Case, Output


@dataclass(frozen=True)
class Verdict:
    """The judgement of one assertion on one output. ``passed`` is None when it could not be judged."""

    passed: bool | None
    reason: str
    score: float | None = None

    @property
    def errored(self) -> bool:
        """True when the assertion could not be judged (e.g. the grader never returned valid JSON)."""
        return self.passed is None


class CheckContext(Protocol):
    """What an assertion may use besides the output: the case, the principle ids, the grader."""

    case: Case

    def principle_ids(self) -> frozenset[str]:
        """Card ids in knowledge/principles/IDS.txt."""
        ...

    def grade(self, rubric: str, output: str, input_text: str) -> Verdict:
        """Ask the grader model for a verdict on ``output`` against ``rubric``."""
        ...


@dataclass(frozen=True)
class Param:
    """A parameter of an assertion type: accepted Python types, whether required, and what it means."""

    types: tuple[type, ...]
    required: bool = False
    help: str = ""


Check = Callable[[Mapping[str, Any], Output, CheckContext], Verdict]


@dataclass(frozen=True)
class AssertionType:
    """A registered assertion type."""

    name: str
    params: Mapping[str, Param]
    check: Check
    summary: str
    model_graded: bool = False
    extra: Callable[[Mapping[str, Any], CheckContext | None], None] | None = None  # more validation


TYPES: dict[str, AssertionType] = {}
_TEXTS = (str, list)
_NUMBER = (int, float)


def _register(name: str, summary: str, params: Mapping[str, Param], *, model_graded: bool = False,
              extra: Callable[[Mapping[str, Any], CheckContext | None], None] | None = None) -> Callable[[Check], Check]:
    def wrap(check: Check) -> Check:
        TYPES[name] = AssertionType(name, params, check, summary, model_graded, extra)
        return check
    return wrap


class SpecError(ValueError):
    """An assertion spec is invalid; ``field`` names the parameter (empty for the spec itself)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def valid_types() -> str:
    """Comma-separated names of the assertion types."""
    return ", ".join(sorted(TYPES))


def validate(type_name: str, params: Mapping[str, Any], principle_ids: frozenset[str] | None = None) -> None:
    """Raise :class:`SpecError` unless ``params`` fit assertion type ``type_name``."""
    kind = TYPES.get(type_name)
    if kind is None:
        raise SpecError("type", f"unknown assertion type {type_name!r}; valid types: {valid_types()}")
    for key, value in params.items():
        if key not in kind.params:
            raise SpecError(key, f"assertion {type_name!r} has no parameter {key!r}; it takes: {', '.join(kind.params)}")
        param = kind.params[key]
        if isinstance(value, bool) and bool not in param.types:
            raise SpecError(key, f"{key!r} must be {_type_names(param.types)}, not a boolean")
        if not isinstance(value, param.types):
            raise SpecError(key, f"{key!r} must be {_type_names(param.types)}, not {type(value).__name__}")
        if list in param.types and isinstance(value, list) and not all(isinstance(v, str) and v for v in value):
            raise SpecError(key, f"{key!r} must be a list of non-empty strings")
        if isinstance(value, str) and not value.strip():
            raise SpecError(key, f"{key!r} must not be empty")
    for key, param in kind.params.items():
        if param.required and key not in params:
            raise SpecError(key, f"assertion {type_name!r} needs {key!r} ({param.help})")
    if kind.extra:
        kind.extra(params, _Ids(principle_ids) if principle_ids is not None else None)


class _Ids:
    """Just enough of a CheckContext for validation that needs the principle ids."""

    def __init__(self, ids: frozenset[str]) -> None:
        self._ids = ids

    def principle_ids(self) -> frozenset[str]:
        return self._ids


def _type_names(types: tuple[type, ...]) -> str:
    names = {str: "text", list: "a list of texts", int: "a number", float: "a number", bool: "true/false",
             dict: "a mapping"}
    return " or ".join(dict.fromkeys(names.get(t, t.__name__) for t in types))


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _bounds(params: Mapping[str, Any], low: str, high: str) -> None:
    if low in params and high in params and params[low] > params[high]:
        raise SpecError(low, f"{low!r} ({params[low]}) is greater than {high!r} ({params[high]})")


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


# --- text ------------------------------------------------------------------------------------------

_CASE = Param((bool,), help="match case exactly (default false)")


@_register("contains", "the output contains the value(s)", {
    "value": Param(_TEXTS, True, "text or list of texts"),
    "mode": Param((str,), help="all (default) or any"),
    "case_sensitive": _CASE,
}, extra=lambda p, _: _mode(p))
def _contains(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found, missing = _scan(params, output.text)
    if params.get("mode", "all") == "any":
        ok = bool(found)
    else:
        ok = not missing
    if ok:
        return Verdict(True, f"output contains {', '.join(map(_quote, found))}")
    return Verdict(False, f"output lacks {', '.join(map(_quote, missing))}")


@_register("not-contains", "the output contains none of the value(s)", {
    "value": Param(_TEXTS, True, "text or list of texts"),
    "case_sensitive": _CASE,
})
def _not_contains(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found, _ = _scan(params, output.text)
    if found:
        return Verdict(False, f"output contains {', '.join(map(_quote, found))}")
    return Verdict(True, "none of the forbidden texts appear")


def _mode(params: Mapping[str, Any]) -> None:
    if params.get("mode", "all") not in ("all", "any"):
        raise SpecError("mode", f"'mode' must be 'all' or 'any', not {params['mode']!r}")


def _scan(params: Mapping[str, Any], text: str) -> tuple[list[str], list[str]]:
    values = _as_list(params["value"])
    haystack = text if params.get("case_sensitive") else text.casefold()
    found = [v for v in values if (v if params.get("case_sensitive") else v.casefold()) in haystack]
    return found, [v for v in values if v not in found]


def _compile(params: Mapping[str, Any]) -> re.Pattern[str]:
    flags = 0
    for letter in params.get("flags", ""):
        if letter not in "imsx":
            raise SpecError("flags", f"unknown regex flag {letter!r}; use any of i, m, s, x")
        flags |= {"i": re.I, "m": re.M, "s": re.S, "x": re.X}[letter]
    try:
        return re.compile(params["pattern"], flags)
    except re.error as exc:
        raise SpecError("pattern", f"invalid regular expression {params['pattern']!r}: {exc}") from None


_REGEX = {"pattern": Param((str,), True, "a Python regular expression"), "flags": Param((str,), help="i, m, s, x")}


@_register("regex", "the pattern matches somewhere in the output", _REGEX, extra=lambda p, _: _compile(p) and None)
def _regex(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    match = _compile(params).search(output.text)
    if match:
        return Verdict(True, f"matched {_quote(match.group(0))}")
    return Verdict(False, f"no match for /{params['pattern']}/")


@_register("not-regex", "the pattern matches nowhere in the output", _REGEX, extra=lambda p, _: _compile(p) and None)
def _not_regex(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    match = _compile(params).search(output.text)
    if match:
        return Verdict(False, f"forbidden pattern matched {_quote(match.group(0))}")
    return Verdict(True, f"no match for /{params['pattern']}/")


@_register("length", "the output's length lies within bounds", {
    "min_chars": Param((int,)), "max_chars": Param((int,)), "min_words": Param((int,)), "max_words": Param((int,)),
}, extra=lambda p, _: _length_spec(p))
def _length(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    chars, words = len(output.text), len(output.text.split())
    problems = []
    if chars < params.get("min_chars", 0):
        problems.append(f"{chars} characters < {params['min_chars']}")
    if "max_chars" in params and chars > params["max_chars"]:
        problems.append(f"{chars} characters > {params['max_chars']}")
    if words < params.get("min_words", 0):
        problems.append(f"{words} words < {params['min_words']}")
    if "max_words" in params and words > params["max_words"]:
        problems.append(f"{words} words > {params['max_words']}")
    if problems:
        return Verdict(False, "; ".join(problems))
    return Verdict(True, f"{chars} characters, {words} words")


def _length_spec(params: Mapping[str, Any]) -> None:
    if not params:
        raise SpecError("", "assertion 'length' needs at least one of min_chars, max_chars, min_words, max_words")
    for key, value in params.items():
        if value < 0:
            raise SpecError(key, f"{key!r} must not be negative")
    _bounds(params, "min_chars", "max_chars")
    _bounds(params, "min_words", "max_words")


# --- analyzer findings -----------------------------------------------------------------------------

_FINDING = {
    "rule": Param(_TEXTS, help="rule id(s), e.g. directive-should"),
    "kind": Param(_TEXTS, help=f"finding kind(s): {', '.join(KINDS)}"),
    "principle": Param(_TEXTS, help="principle card id(s)"),
    "min_level": Param((str,), help="suggestion, warning or error"),
}


def _finding_spec(params: Mapping[str, Any], ctx: CheckContext | None) -> None:
    if not any(k in params for k in ("rule", "kind", "principle")):
        raise SpecError("", "a finding assertion needs at least one of 'rule', 'kind' or 'principle'")
    for kind in _as_list(params.get("kind", [])):
        if kind not in KINDS:
            raise SpecError("kind", f"unknown finding kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if params.get("min_level", "suggestion") not in LEVELS:
        raise SpecError("min_level", f"'min_level' must be one of {', '.join(LEVELS)}")
    if ctx is not None:
        for pid in _as_list(params.get("principle", [])):
            if pid not in ctx.principle_ids():
                raise SpecError("principle", f"unknown principle card id {pid!r}; see knowledge/principles/IDS.txt")


def _matching(params: Mapping[str, Any], output: Output) -> list[Finding]:
    findings = output.findings
    if findings is None:
        # The output is text from a model: the analyzer verifies it (rules only, no model involved).
        from coach.analyzer import find_spans

        findings = tuple(find_spans(output.text))
    rules, kinds = set(_as_list(params.get("rule", []))), set(_as_list(params.get("kind", [])))
    principles = set(_as_list(params.get("principle", [])))
    floor = LEVELS.index(params.get("min_level", "suggestion"))
    return [
        f for f in findings
        if (not rules or f.rule in rules) and (not kinds or f.kind in kinds)
        and (not principles or f.principle in principles) and LEVELS.index(f.level) >= floor
    ]


def _describe_filter(params: Mapping[str, Any]) -> str:
    parts = [f"{key} {'/'.join(_as_list(params[key]))}" for key in ("rule", "kind", "principle") if key in params]
    if "min_level" in params:
        parts.append(f"at {params['min_level']} or above")
    return ", ".join(parts)


@_register("finding-present", "the analyzer finds a matching span in the output", {
    **_FINDING, "min_count": Param((int,), help="at least this many (default 1)"),
}, extra=_finding_spec)
def _finding_present(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found = _matching(params, output)
    need = params.get("min_count", 1)
    if len(found) >= need:
        spans = ", ".join(f"{f.rule} {_quote(f.text, 40)}" for f in found[:4])
        return Verdict(True, f"found {len(found)} ({spans})")
    return Verdict(False, f"expected {need} finding(s) with {_describe_filter(params)}; found {len(found)}")


@_register("finding-absent", "the analyzer finds no matching span in the output", _FINDING, extra=_finding_spec)
def _finding_absent(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found = _matching(params, output)
    if found:
        spans = "; ".join(f"{f.rule} at {f.line}:{f.column} {_quote(f.text, 50)}" for f in found[:4])
        return Verdict(False, f"unexpected finding(s): {spans}")
    return Verdict(True, f"no finding with {_describe_filter(params)}")


# --- principles, structure, retrieval --------------------------------------------------------------

def _principle_spec(params: Mapping[str, Any], ctx: CheckContext | None) -> None:
    _mode(params)
    _positive(params, "top")
    if ctx is not None:
        for pid in _as_list(params["id"]):
            if pid not in ctx.principle_ids():
                raise SpecError("id", f"unknown principle card id {pid!r}; see knowledge/principles/IDS.txt")


def cited_principles(output: Output, ids: frozenset[str]) -> tuple[str, ...]:
    """Ids the output cites: the target's own list, else card ids written in the text."""
    if output.principles:
        return output.principles
    return tuple(pid for pid in sorted(ids) if re.search(rf"(?<![\w-]){re.escape(pid)}(?![\w-])", output.text))


@_register("principle-cited", "the output cites the principle card id(s)", {
    "id": Param(_TEXTS, True, "principle card id or list"),
    "mode": Param((str,), help="any (default) or all"),
    "top": Param((int,), help="only the first N cited ids count (targets list the most important first)"),
}, extra=_principle_spec)
def _principle_cited(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    wanted = _as_list(params["id"])
    cited = cited_principles(output, ctx.principle_ids())[: params.get("top")]
    hits = [pid for pid in wanted if pid in cited]
    ok = len(hits) == len(wanted) if params.get("mode", "any") == "all" else bool(hits)
    shown = ", ".join(cited) or "none"
    if ok:
        return Verdict(True, f"cites {', '.join(hits)} (cited: {shown})")
    return Verdict(False, f"expected {' and '.join(wanted) if params.get('mode') == 'all' else ' or '.join(wanted)}; cited: {shown}")


def _schema_spec(params: Mapping[str, Any], ctx: CheckContext | None) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(params["schema"])
    except SchemaError as exc:
        raise SpecError("schema", f"invalid JSON schema: {exc.message}") from None


@_register("json-schema", "the output (its data, or its text parsed as JSON) fits the schema", {
    "schema": Param((dict,), True, "a JSON Schema (draft 2020-12)"),
}, extra=_schema_spec)
def _json_schema(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    from jsonschema import Draft202012Validator

    instance = output.data
    if instance is None:
        try:
            instance = json.loads(output.text)
        except ValueError as exc:
            return Verdict(False, f"output is not JSON: {exc}")
    errors = sorted(Draft202012Validator(params["schema"]).iter_errors(instance), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        path = "/".join(map(str, first.path)) or "(root)"
        return Verdict(False, f"at {path}: {first.message}" + (f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""))
    return Verdict(True, "fits the schema")


@_register("retrieved", "an expected id is within the top k results (score: reciprocal rank)", {
    "ids": Param(_TEXTS, True, "expected id(s)"), "k": Param((int,), help="cut-off (default 3)"),
}, extra=lambda p, _: _positive(p, "k"))
def _retrieved(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    from evals.retrieval import hit_at_k, reciprocal_rank

    expected, k = _as_list(params["ids"]), params.get("k", 3)
    score = reciprocal_rank(output.ranked, expected)
    top = ", ".join(output.ranked[:k]) or "nothing"
    if hit_at_k(output.ranked, expected, k):
        return Verdict(True, f"hit in top {k} (reciprocal rank {score:.2f}): {top}", score)
    return Verdict(False, f"none of {', '.join(expected)} in top {k}; got {top}", score)


def _positive(params: Mapping[str, Any], key: str) -> None:
    if key in params and params[key] < 1:
        raise SpecError(key, f"{key!r} must be at least 1")


@_register("metric", "a number in the output's data lies within bounds", {
    "name": Param((str,), True, "key of the number in the output data"),
    "min": Param(_NUMBER), "max": Param(_NUMBER),
}, extra=lambda p, _: _metric_spec(p))
def _metric(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    data = output.data if isinstance(output.data, Mapping) else {}
    value = data.get(params["name"])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Verdict(False, f"the output has no number {params['name']!r}")
    if "min" in params and value < params["min"]:
        return Verdict(False, f"{params['name']} = {value:.3f} < {params['min']}", float(value))
    if "max" in params and value > params["max"]:
        return Verdict(False, f"{params['name']} = {value:.3f} > {params['max']}", float(value))
    return Verdict(True, f"{params['name']} = {value:.3f}", float(value))


def _metric_spec(params: Mapping[str, Any]) -> None:
    if "min" not in params and "max" not in params:
        raise SpecError("", "assertion 'metric' needs 'min', 'max' or both")
    _bounds(params, "min", "max")


# --- embedding and model-graded --------------------------------------------------------------------

@_register("similar", "embedding cosine between output and reference lies within bounds (meaning kept)", {
    "to": Param((str,), help="reference text (default: the case input)"),
    "min": Param(_NUMBER, help="lowest cosine"), "max": Param(_NUMBER, help="highest cosine"),
}, extra=lambda p, _: _similar_spec(p))
def _similar(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    from coach.embeddings import cosine, embed

    reference = params.get("to") or ctx.case.input_text()
    vectors = embed([output.text, reference])
    score = cosine(vectors[0], vectors[1])
    if "min" in params and score < params["min"]:
        return Verdict(False, f"cosine {score:.3f} < {params['min']} (meaning drifted)", score)
    if "max" in params and score > params["max"]:
        return Verdict(False, f"cosine {score:.3f} > {params['max']} (too close to the reference)", score)
    return Verdict(True, f"cosine {score:.3f}", score)


def _similar_spec(params: Mapping[str, Any]) -> None:
    if "min" not in params and "max" not in params:
        raise SpecError("", "assertion 'similar' needs 'min', 'max' or both")
    for key in ("min", "max"):
        if key in params and not -1.0 <= params[key] <= 1.0:
            raise SpecError(key, f"{key!r} is a cosine: it must lie between -1 and 1")
    _bounds(params, "min", "max")


@_register("rubric", "the grader model judges the output against a rubric (JSON verdict)", {
    "rubric": Param((str,), True, "what a passing output does, in plain words"),
    "threshold": Param(_NUMBER, help="also require the grader's score >= this (0-1)"),
}, model_graded=True, extra=lambda p, _: _rubric_spec(p))
def _rubric(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    verdict = ctx.grade(params["rubric"], output.text, ctx.case.input_text())
    if verdict.passed and "threshold" in params and (verdict.score or 0.0) < params["threshold"]:
        return Verdict(False, f"score {verdict.score:.2f} < threshold {params['threshold']}: {verdict.reason}", verdict.score)
    return verdict


def _rubric_spec(params: Mapping[str, Any]) -> None:
    if "threshold" in params and not 0.0 <= params["threshold"] <= 1.0:
        raise SpecError("threshold", "'threshold' must lie between 0 and 1")


def is_model_graded(spec: AssertionSpec) -> bool:
    """True for assertions judged by the grader model (reported apart; gating depends on the grader)."""
    kind = TYPES.get(spec.type)
    return bool(kind and kind.model_graded)


def evaluate(spec: AssertionSpec, output: Output, ctx: CheckContext) -> Verdict:
    """Judge ``output`` with one assertion; an unexpected exception becomes an errored verdict, never a pass."""
    from coach.errors import CoachError

    try:
        return TYPES[spec.type].check(spec.params, output, ctx)
    except CoachError:
        raise  # model failures and the cost ceiling concern the whole run: the runner decides
    except Exception as exc:  # noqa: BLE001 - one broken assertion must not stop the run
        return Verdict(None, f"assertion {spec.type} failed to run: {type(exc).__name__}: {exc}")
