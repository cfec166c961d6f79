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

from evals.assertions import coach as _coach  # noqa: F401 - registers the coach assertions
from evals.assertions import text as _text  # noqa: F401 - registers the text assertions
from evals.assertions.base import (
    TYPES, AssertionType, CheckContext, Param, SpecError, Verdict, evaluate, is_model_graded, valid_types, validate,
)
from evals.assertions.coach import cited_principles

__all__ = ["TYPES", "AssertionType", "CheckContext", "Param", "SpecError", "Verdict", "cited_principles", "evaluate",
           "is_model_graded", "valid_types", "validate"]
