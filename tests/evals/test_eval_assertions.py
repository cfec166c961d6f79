"""Every assertion type, passing and failing, on real components (the analyzer, the MiniLM embedder)."""

from __future__ import annotations

from typing import Any

import pytest

from coach.analyzer import find_spans
from evals import assertions
from evals.assertions import Verdict, evaluate
from evals.model import AssertionSpec, Case, Output

DRAFT = "You should call Dana before Friday."
REWRITE = "Would it help if I shared what worked for me? When I was new, I called my customer before Friday."


class Ctx:
    """Just what assertions read: the case, the principle ids, and (for rubric) a grader."""

    def __init__(self, ids: frozenset[str], case_input: Any = DRAFT, verdict: Verdict | None = None) -> None:
        self.case = Case(id="c", suite="s", target="static", input=case_input, expect=())
        self._ids = ids
        self._verdict = verdict
        self.graded: list[tuple[str, str, str]] = []

    def principle_ids(self) -> frozenset[str]:
        return self._ids

    def grade(self, rubric: str, output: str, input_text: str) -> Verdict:
        self.graded.append((rubric, output, input_text))
        assert self._verdict is not None
        return self._verdict


def check(ids, kind: str, params: dict, output: Output | str, **ctx: Any) -> Verdict:
    assertions.validate(kind, params, ids)
    out = Output(text=output) if isinstance(output, str) else output
    return evaluate(AssertionSpec(kind, params, "test:1"), out, Ctx(ids, **ctx))


@pytest.mark.parametrize(("kind", "params", "text", "passed"), [
    ("contains", {"value": "dana"}, DRAFT, True),
    ("contains", {"value": "dana", "case_sensitive": True}, DRAFT, False),
    ("contains", {"value": ["Dana", "Monday"]}, DRAFT, False),
    ("contains", {"value": ["Dana", "Monday"], "mode": "any"}, DRAFT, True),
    ("not-contains", {"value": ["system prompt", "as an AI"]}, DRAFT, True),
    ("not-contains", {"value": "friday"}, DRAFT, False),
    ("regex", {"pattern": r"\bI\b"}, REWRITE, True),
    ("regex", {"pattern": r"\bI\b"}, DRAFT, False),
    ("regex", {"pattern": "^you", "flags": "i"}, DRAFT, True),
    ("not-regex", {"pattern": "language model", "flags": "i"}, "As an AI Language Model, I cannot.", False),
    ("not-regex", {"pattern": "language model", "flags": "i"}, REWRITE, True),
    ("length", {"max_words": 7}, DRAFT, True),
    ("length", {"min_chars": 100}, DRAFT, False),
])
def test_text_assertions(ids, kind: str, params: dict, text: str, passed: bool) -> None:
    verdict = check(ids, kind, params, text)
    assert verdict.passed is passed, verdict.reason


def test_failure_reasons_say_what_was_wrong(ids) -> None:
    assert "lacks 'Monday'" in check(ids, "contains", {"value": ["Dana", "Monday"]}, DRAFT).reason
    assert "'friday'" in check(ids, "not-contains", {"value": "friday"}, DRAFT).reason.lower()
    assert "35 characters < 100" in check(ids, "length", {"min_chars": 100}, DRAFT).reason


def test_findings_present_and_absent_on_text_run_the_analyzer(ids) -> None:
    assert check(ids, "finding-present", {"rule": "directive-should"}, DRAFT).passed
    assert check(ids, "finding-present", {"kind": "permission"}, REWRITE).passed
    absent = check(ids, "finding-absent", {"kind": "directive", "min_level": "warning"}, DRAFT)
    assert absent.passed is False and "directive-should at 1:1 'You should'" in absent.reason
    assert check(ids, "finding-absent", {"kind": ["directive", "advice-unasked"]}, REWRITE).passed
    assert check(ids, "finding-present", {"principle": "ask-permission"}, REWRITE).passed
    assert not check(ids, "finding-present", {"kind": "story", "min_count": 3}, REWRITE).passed


def test_findings_of_the_target_are_used_when_given(ids) -> None:
    findings = tuple(find_spans(DRAFT))
    out = Output(text="(rendered elsewhere)", findings=findings)
    assert check(ids, "finding-present", {"rule": "directive-should"}, out).passed
    assert check(ids, "finding-absent", {"kind": "directive"}, Output(text=DRAFT, findings=())).passed


def test_min_level_filters_findings(ids) -> None:
    # A closed question is a suggestion-level (neutral) finding: invisible at warning level.
    text = "Did you send the proposal?"
    assert check(ids, "finding-present", {"kind": "question-closed"}, text).passed
    assert not check(ids, "finding-present", {"kind": "question-closed", "min_level": "error"}, text).passed


def test_principle_cited_from_text_and_from_the_target(ids) -> None:
    assert check(ids, "principle-cited", {"id": "ask-permission"}, "Card: ask-permission. Try asking first.").passed
    assert not check(ids, "principle-cited", {"id": "ask-permission"}, "ask-permissions are plural").passed
    ranked = Output(text="", principles=("first-person-story", "ask-permission", "listen-intently"))
    assert check(ids, "principle-cited", {"id": "ask-permission", "top": 2}, ranked).passed
    assert not check(ids, "principle-cited", {"id": "listen-intently", "top": 2}, ranked).passed
    assert not check(ids, "principle-cited", {"id": ["ask-permission", "mutual-trust"], "mode": "all"}, ranked).passed


def test_json_schema_on_data_and_on_text(ids) -> None:
    schema = {"type": "object", "properties": {"unlocked": {"contains": {"const": "split-email"}}}, "required": ["unlocked"]}
    assert check(ids, "json-schema", {"schema": schema}, Output(text="", data={"unlocked": ["split-email"]})).passed
    bad = check(ids, "json-schema", {"schema": schema}, Output(text="", data={"unlocked": []}))
    assert bad.passed is False and "unlocked" in bad.reason
    assert check(ids, "json-schema", {"schema": schema}, '{"unlocked": ["split-email"]}').passed
    prose = check(ids, "json-schema", {"schema": schema}, "sure, here you go")
    assert prose.passed is False and "not JSON" in prose.reason


def test_retrieved_scores_reciprocal_rank(ids) -> None:
    out = Output(text="", ranked=("a", "b", "ask-permission", "d"))
    hit = check(ids, "retrieved", {"ids": ["ask-permission"], "k": 3}, out)
    assert hit.passed and hit.score == pytest.approx(1 / 3)
    miss = check(ids, "retrieved", {"ids": "ask-permission", "k": 2}, out)
    assert miss.passed is False and miss.score == pytest.approx(1 / 3)


def test_metric_bounds(ids) -> None:
    out = Output(text="", data={"question_f1": 0.93})
    assert check(ids, "metric", {"name": "question_f1", "min": 0.9}, out).passed
    assert not check(ids, "metric", {"name": "question_f1", "min": 0.95}, out).passed
    assert not check(ids, "metric", {"name": "missing", "max": 1}, out).passed


def test_similar_uses_real_embeddings(ids) -> None:
    same = check(ids, "similar", {"min": 0.5}, "Calling Dana before Friday worked for me.", case_input=DRAFT)
    assert same.passed and 0.5 <= same.score <= 1.0
    other = check(ids, "similar", {"min": 0.5}, "The weather in Lisbon was lovely in May.", case_input=DRAFT)
    assert other.passed is False and "meaning drifted" in other.reason
    assert check(ids, "similar", {"to": "hidden fact: a written 70/30 split", "max": 0.6},
                 "I'm just upset about the announcement.").passed


def test_rubric_asks_the_grader_with_rubric_output_and_input(ids) -> None:
    ctx = Ctx(ids, verdict=Verdict(True, "asks first", 0.9))
    spec = AssertionSpec("rubric", {"rubric": "Asks permission first."}, "t:1")
    assert evaluate(spec, Output(text=REWRITE), ctx).passed
    assert ctx.graded == [("Asks permission first.", REWRITE, DRAFT)]
    low = Ctx(ids, verdict=Verdict(True, "barely", 0.4))
    result = evaluate(AssertionSpec("rubric", {"rubric": "x", "threshold": 0.7}, "t:1"), Output(text="y"), low)
    assert result.passed is False and "threshold" in result.reason
    assert assertions.is_model_graded(spec)


def test_an_assertion_that_crashes_is_errored_not_passed(ids) -> None:
    # A schema that validates but then meets an instance jsonschema cannot handle: any crash -> errored.
    kind = assertions.TYPES["contains"]
    broken = assertions.AssertionType("contains", kind.params, lambda p, o, c: 1 / 0, kind.summary)
    assertions.TYPES["contains"] = broken
    try:
        verdict = evaluate(AssertionSpec("contains", {"value": "x"}, "t:1"), Output(text="x"), Ctx(ids))
    finally:
        assertions.TYPES["contains"] = kind
    assert verdict.passed is None and "ZeroDivisionError" in verdict.reason


def test_produced_by_scores_the_model_share_and_fails_only_when_asked(ids) -> None:
    rewrite = Output(text="x", data={"path": "model-repaired"})
    assert check(ids, "produced-by", {}, rewrite) == Verdict(True, "100% produced by the model (model-repaired)", 1.0)
    persona = Output(text="x", data={"sources": ["model", "fallback", "retry", "fallback"]})
    verdict = check(ids, "produced-by", {}, persona)
    assert verdict.passed is True and verdict.score == 0.5  # counted in score.produced-by, not a case failure
    assert check(ids, "produced-by", {"per_case": True}, persona).passed is False
    assert check(ids, "produced-by", {"value": ["fallback"]}, persona).score == 0.5
    assert check(ids, "produced-by", {}, Output(text="x", data={"sources": ["fallback"]})).score == 0.0
    unknown = check(ids, "produced-by", {}, Output(text="no data"))
    assert unknown.errored and "does not say who produced it" in unknown.reason
