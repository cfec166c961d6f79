"""Text and structure assertions: contains, not-contains, regex, not-regex, length, json-schema, metric."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from evals.assertions.base import (
    NUMBER, TEXTS, CheckContext, Param, SpecError, Verdict, as_list, check_bounds, check_mode, quote, register,
)
from evals.model import Output

# --- text ------------------------------------------------------------------------------------------

_CASE = Param((bool,), help="match case exactly (default false)")


@register("contains", "the output contains the value(s)", {
    "value": Param(TEXTS, True, "text or list of texts"),
    "mode": Param((str,), help="all (default) or any"),
    "case_sensitive": _CASE,
}, extra=lambda p, _: check_mode(p))
def _contains(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found, missing = _scan(params, output.text)
    if params.get("mode", "all") == "any":
        ok = bool(found)
    else:
        ok = not missing
    if ok:
        return Verdict(True, f"output contains {', '.join(map(quote, found))}")
    return Verdict(False, f"output lacks {', '.join(map(quote, missing))}")


@register("not-contains", "the output contains none of the value(s)", {
    "value": Param(TEXTS, True, "text or list of texts"),
    "case_sensitive": _CASE,
})
def _not_contains(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found, _ = _scan(params, output.text)
    if found:
        return Verdict(False, f"output contains {', '.join(map(quote, found))}")
    return Verdict(True, "none of the forbidden texts appear")


def _scan(params: Mapping[str, Any], text: str) -> tuple[list[str], list[str]]:
    values = as_list(params["value"])
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


@register("regex", "the pattern matches somewhere in the output", _REGEX, extra=lambda p, _: _compile(p) and None)
def _regex(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    match = _compile(params).search(output.text)
    if match:
        return Verdict(True, f"matched {quote(match.group(0))}")
    return Verdict(False, f"no match for /{params['pattern']}/")


@register("not-regex", "the pattern matches nowhere in the output", _REGEX, extra=lambda p, _: _compile(p) and None)
def _not_regex(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    match = _compile(params).search(output.text)
    if match:
        return Verdict(False, f"forbidden pattern matched {quote(match.group(0))}")
    return Verdict(True, f"no match for /{params['pattern']}/")


@register("length", "the output's length lies within bounds", {
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
    check_bounds(params, "min_chars", "max_chars")
    check_bounds(params, "min_words", "max_words")


def _schema_spec(params: Mapping[str, Any], ctx: CheckContext | None) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(params["schema"])
    except SchemaError as exc:
        raise SpecError("schema", f"invalid JSON schema: {exc.message}") from None


@register("json-schema", "the output (its data, or its text parsed as JSON) fits the schema", {
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


@register("metric", "a number in the output's data lies within bounds", {
    "name": Param((str,), True, "key of the number in the output data"),
    "min": Param(NUMBER), "max": Param(NUMBER),
}, extra=lambda p, _: _metric_spec(p))
def _metric(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    data = output.data if isinstance(output.data, Mapping) else {}
    value = data.get(params["name"])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Verdict(False, f"the output has no number {params['name']!r}")
    if "min" in params and value < params["min"]:
        return Verdict(False, f"{params['name']} = {value:.3f} < {params['min']}")
    if "max" in params and value > params["max"]:
        return Verdict(False, f"{params['name']} = {value:.3f} > {params['max']}")
    return Verdict(True, f"{params['name']} = {value:.3f}")


def _metric_spec(params: Mapping[str, Any]) -> None:
    if "min" not in params and "max" not in params:
        raise SpecError("", "assertion 'metric' needs 'min', 'max' or both")
    check_bounds(params, "min", "max")

