"""Assertions that use the coach's own components: analyzer findings, principle ids, retrieval ranks,
embedding similarity (MiniLM) and the rubric grader."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from coach.analyzer.model import KINDS, LEVELS, Finding
from evals.assertions.base import (
    NUMBER, TEXTS, CheckContext, Param, SpecError, Verdict, as_list, check_bounds, check_mode, check_positive, quote, register,
)
from evals.model import Output

# --- analyzer findings -----------------------------------------------------------------------------

_FINDING = {
    "rule": Param(TEXTS, help="rule id(s), e.g. directive-should"),
    "kind": Param(TEXTS, help=f"finding kind(s): {', '.join(KINDS)}"),
    "principle": Param(TEXTS, help="principle card id(s)"),
    "min_level": Param((str,), help="suggestion, warning or error"),
}


def _finding_spec(params: Mapping[str, Any], ctx: CheckContext | None) -> None:
    if not any(k in params for k in ("rule", "kind", "principle")):
        raise SpecError("", "a finding assertion needs at least one of 'rule', 'kind' or 'principle'")
    for kind in as_list(params.get("kind", [])):
        if kind not in KINDS:
            raise SpecError("kind", f"unknown finding kind {kind!r}; valid kinds: {', '.join(KINDS)}")
    if params.get("min_level", "suggestion") not in LEVELS:
        raise SpecError("min_level", f"'min_level' must be one of {', '.join(LEVELS)}")
    if ctx is not None:
        for pid in as_list(params.get("principle", [])):
            if pid not in ctx.principle_ids():
                raise SpecError("principle", f"unknown principle card id {pid!r}; see knowledge/principles/IDS.txt")


def _matching(params: Mapping[str, Any], output: Output) -> list[Finding]:
    findings = output.findings
    if findings is None:
        # The output is text from a model: the analyzer verifies it (rules only, no model involved).
        from coach.analyzer import find_spans

        findings = tuple(find_spans(output.text))
    rules, kinds = set(as_list(params.get("rule", []))), set(as_list(params.get("kind", [])))
    principles = set(as_list(params.get("principle", [])))
    floor = LEVELS.index(params.get("min_level", "suggestion"))
    return [
        f for f in findings
        if (not rules or f.rule in rules) and (not kinds or f.kind in kinds)
        and (not principles or f.principle in principles) and LEVELS.index(f.level) >= floor
    ]


def _describe_filter(params: Mapping[str, Any]) -> str:
    parts = [f"{key} {'/'.join(as_list(params[key]))}" for key in ("rule", "kind", "principle") if key in params]
    if "min_level" in params:
        parts.append(f"at {params['min_level']} or above")
    return ", ".join(parts)


@register("finding-present", "the analyzer finds a matching span in the output", {
    **_FINDING, "min_count": Param((int,), help="at least this many (default 1)"),
}, extra=_finding_spec)
def _finding_present(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found = _matching(params, output)
    need = params.get("min_count", 1)
    if len(found) >= need:
        spans = ", ".join(f"{f.rule} {quote(f.text, 40)}" for f in found[:4])
        return Verdict(True, f"found {len(found)} ({spans})")
    return Verdict(False, f"expected {need} finding(s) with {_describe_filter(params)}; found {len(found)}")


@register("finding-absent", "the analyzer finds no matching span in the output", _FINDING, extra=_finding_spec)
def _finding_absent(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    found = _matching(params, output)
    if found:
        spans = "; ".join(f"{f.rule} at {f.line}:{f.column} {quote(f.text, 50)}" for f in found[:4])
        return Verdict(False, f"unexpected finding(s): {spans}")
    return Verdict(True, f"no finding with {_describe_filter(params)}")


# --- principles, structure, retrieval --------------------------------------------------------------

def _principle_spec(params: Mapping[str, Any], ctx: CheckContext | None) -> None:
    check_mode(params)
    check_positive(params, "top")
    if ctx is not None:
        for pid in as_list(params["id"]):
            if pid not in ctx.principle_ids():
                raise SpecError("id", f"unknown principle card id {pid!r}; see knowledge/principles/IDS.txt")


def cited_principles(output: Output, ids: frozenset[str]) -> tuple[str, ...]:
    """Ids the output cites: the target's own list, else card ids written in the text."""
    if output.principles:
        return output.principles
    return tuple(pid for pid in sorted(ids) if re.search(rf"(?<![\w-]){re.escape(pid)}(?![\w-])", output.text))


@register("principle-cited", "the output cites the principle card id(s)", {
    "id": Param(TEXTS, True, "principle card id or list"),
    "mode": Param((str,), help="any (default) or all"),
    "top": Param((int,), help="only the first N cited ids count (targets list the most important first)"),
}, extra=_principle_spec)
def _principle_cited(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    wanted = as_list(params["id"])
    cited = cited_principles(output, ctx.principle_ids())[: params.get("top")]
    hits = [pid for pid in wanted if pid in cited]
    ok = len(hits) == len(wanted) if params.get("mode", "any") == "all" else bool(hits)
    shown = ", ".join(cited) or "none"
    if ok:
        return Verdict(True, f"cites {', '.join(hits)} (cited: {shown})")
    return Verdict(False, f"expected {' and '.join(wanted) if params.get('mode') == 'all' else ' or '.join(wanted)}; cited: {shown}")


@register("retrieved", "an expected id is within the top k results (score: reciprocal rank)", {
    "ids": Param(TEXTS, True, "expected id(s)"), "k": Param((int,), help="cut-off (default 3)"),
}, extra=lambda p, _: check_positive(p, "k"))
def _retrieved(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    from evals.retrieval import hit_at_k, reciprocal_rank

    expected, k = as_list(params["ids"]), params.get("k", 3)
    score = reciprocal_rank(output.ranked, expected)
    top = ", ".join(output.ranked[:k]) or "nothing"
    if hit_at_k(output.ranked, expected, k):
        return Verdict(True, f"hit in top {k} (reciprocal rank {score:.2f}): {top}", score)
    return Verdict(False, f"none of {', '.join(expected)} in top {k}; got {top}", score)


# --- embedding and model-graded --------------------------------------------------------------------

@register("similar", "embedding cosine between output and reference lies within bounds (meaning kept)", {
    "to": Param((str,), help="reference text (default: the case input)"),
    "min": Param(NUMBER, help="lowest cosine"), "max": Param(NUMBER, help="highest cosine"),
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
    check_bounds(params, "min", "max")


@register("rubric", "the grader model judges the output against a rubric (JSON verdict)", {
    "rubric": Param((str,), True, "what a passing output does, in plain words"),
    "threshold": Param(NUMBER, help="also require the grader's score >= this (0-1)"),
}, model_graded=True, extra=lambda p, _: _rubric_spec(p))
def _rubric(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    verdict = ctx.grade(params["rubric"], output.text, ctx.case.input_text())
    if verdict.passed and "threshold" in params and (verdict.score or 0.0) < params["threshold"]:
        return Verdict(False, f"score {verdict.score:.2f} < threshold {params['threshold']}: {verdict.reason}", verdict.score)
    return verdict


def _rubric_spec(params: Mapping[str, Any]) -> None:
    if "threshold" in params and not 0.0 <= params["threshold"] <= 1.0:
        raise SpecError("threshold", "'threshold' must lie between 0 and 1")



#: Sources that count as the model's own work: rewrites it wrote (or repaired) and persona replies
#: it gave on the first or second try. Everything else is a scripted fallback.
MODEL_SOURCES = ("model", "model-repaired", "retry")


def _output_sources(output: Output) -> list[str]:
    """Who produced each part of the output: a rewrite's ``path``, each persona reply's ``source``."""
    data = output.data if isinstance(output.data, Mapping) else {}
    if isinstance(data.get("sources"), list):
        return [str(s) for s in data["sources"]]
    if isinstance(data.get("path"), str):
        return [data["path"]]
    return []


@register("produced-by", "share of the output the model produced rather than a scripted fallback; "
          "scored per case, gated per suite with score.produced-by", {
    "value": Param(TEXTS, help=f"sources that count (default: {', '.join(MODEL_SOURCES)})"),
    "per_case": Param((bool,), help="also fail the case when any part is a fallback (default false)"),
})
def _produced_by(params: Mapping[str, Any], output: Output, ctx: CheckContext) -> Verdict:
    """The fallbacks keep every output safe, so a broken prompt would still pass the per-case checks;
    this score is what shows it (e.g. ``min: {score.produced-by: 0.7}`` in the thresholds)."""
    accepted = set(as_list(params["value"])) if "value" in params else set(MODEL_SOURCES)
    sources = _output_sources(output)
    if not sources:
        return Verdict(None, "the output does not say who produced it (no 'path' or 'sources' in its data)")
    score = sum(s in accepted for s in sources) / len(sources)
    reason = f"{score:.0%} produced by the model ({', '.join(sources)})"
    return Verdict(score == 1.0 or not params.get("per_case", False), reason, score)
