"""Data types of the eval framework: cases as loaded from files, and what a target produced.

An eval is dataset + solver + scorer (as in inspect_ai): a :class:`Case` holds the input and the
expectations, a *target* (solver, see :mod:`evals.targets`) turns the input into an :class:`Output`,
and *assertions* (scorers, see :mod:`evals.assertions`) judge that output. Pure data, no logic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from coach.analyzer.model import Finding

@dataclass(frozen=True)
class AssertionSpec:
    """One expectation of a case: its type, its parameters and where it was written."""

    type: str
    params: Mapping[str, Any]
    where: str  # "file:line"

    def describe(self) -> str:
        """Short human form, e.g. ``finding-absent kind=directive``."""
        shown = []
        for key, value in self.params.items():
            if isinstance(value, list) and all(isinstance(v, str) for v in value):
                text = ",".join(value)
            else:
                text = value if isinstance(value, str) else repr(value)
            text = " ".join(str(text).split())
            shown.append(f"{key}={text[:60] + '...' if len(text) > 60 else text}")
        return " ".join([self.type, *shown])


@dataclass(frozen=True)
class Case:
    """One eval case: input, expectations and free-form metadata, with its file and line."""

    id: str
    suite: str
    target: str
    input: Any
    expect: tuple[AssertionSpec, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    line: int = 0
    pass_rule: str | None = None  # overrides the run's rule for this case

    @property
    def where(self) -> str:
        """``file:line`` of the case."""
        return f"{self.source}:{self.line}"

    def input_text(self) -> str:
        """The input as text: a string as is; for a mapping, its ``text``/``draft``/``query`` field, else JSON."""
        if isinstance(self.input, str):
            return self.input
        if isinstance(self.input, Mapping):
            for key in ("text", "draft", "query", "turn", "output"):
                if isinstance(self.input.get(key), str):
                    return self.input[key]
        import json

        return json.dumps(self.input, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class Output:
    """What a target produced for one attempt.

    ``text`` is what text assertions read. ``data`` is the structured form (JSON schema and metric
    assertions read it). ``findings`` are analyzer findings when the target computed them (otherwise
    finding assertions analyse ``text``). ``principles`` are the principle card ids the output cites,
    ``ranked`` the ids a retrieval returned, best first.
    """

    text: str
    data: Any = None
    findings: tuple[Finding, ...] | None = None
    principles: tuple[str, ...] = ()
    ranked: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()
