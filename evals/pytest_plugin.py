"""Collect eval cases as pytest tests: ``pytest evals/`` runs the same cases as ``coach eval``.

Case files under a ``suites/`` folder, and any ``*.eval.yaml`` / ``*.eval.jsonl`` file, become one
test per case (node id ``file::case-id``). A case that fails its pass rule fails the test with every
reason; an errored case (target not available, model unreachable) is a test error; a skipped one
(e.g. AnnoMI data absent) is skipped with the reason. Model-graded verdicts gate only as in
``coach eval`` (not with the bundled grader). Options: ``--eval-repeat N``, ``--eval-pass-rule RULE``,
``--eval-no-cache``, ``--eval-gate-rubric``, ``--eval-config FILE`` (run.max_tokens and rubric gating;
default evals/thresholds.yaml). Teams load it elsewhere with ``-p evals.pytest_plugin``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evals.cases import SUFFIXES

_RUNNER_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Options of the eval run (the same knobs as ``coach eval``)."""
    group = parser.getgroup("coach-eval", "coach eval cases")
    group.addoption("--eval-repeat", type=int, default=1, help="attempts per case (default 1)")
    group.addoption("--eval-pass-rule", default="all", help="all, majority or pass@K")
    group.addoption("--eval-no-cache", action="store_true", help="call the models even when an answer is cached")
    group.addoption("--eval-gate-rubric", action="store_true", help="model-graded verdicts gate even with the bundled grader")
    group.addoption("--eval-config", default=None, help="config file for run.max_tokens and rubric gating "
                    "(default: evals/thresholds.yaml)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker every eval case carries (``-m eval`` selects them)."""
    config.addinivalue_line("markers", "eval: an eval case collected from a YAML/JSONL case file")


def _is_case_file(path: Path) -> bool:
    if path.suffix not in SUFFIXES:
        return False
    return "suites" in path.parent.parts or path.name.endswith((".eval.yaml", ".eval.yml", ".eval.jsonl"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A case file becomes a collector of its cases."""
    if _is_case_file(file_path):
        return CaseFile.from_parent(parent, path=file_path)
    return None


def _runner(config: pytest.Config):
    """One runner per pytest session (shared cache, budget and run-wide memos)."""
    if _RUNNER_KEY not in config.stash:
        from coach.config import get_settings
        from evals.runner import Runner, RunOptions
        from evals.session import grader_is_bundled
        from evals.stats import parse_pass_rule

        from evals.session import DEFAULT_CONFIG
        from evals.thresholds import load_config

        eval_config = load_config(Path(config.getoption("--eval-config", default=None) or DEFAULT_CONFIG))
        settings = get_settings()
        if eval_config.max_tokens:
            settings = settings.model_copy(update={"max_tokens": eval_config.max_tokens})
        gating = {"true": True, "false": False}.get(eval_config.rubric_gating, not grader_is_bundled(settings))
        repeat = max(1, int(config.getoption("--eval-repeat", default=1)))
        options = RunOptions(
            repeat=repeat,
            pass_rule=parse_pass_rule(config.getoption("--eval-pass-rule", default="all"), repeat),
            use_cache=not config.getoption("--eval-no-cache", default=False),
            max_cost_usd=settings.eval_max_cost_usd,
            rubric_gating=bool(config.getoption("--eval-gate-rubric", default=False)) or gating,
        )
        config.stash[_RUNNER_KEY] = Runner(settings, options)
    return config.stash[_RUNNER_KEY]


class CaseError(Exception):
    """The case could not be judged (shown as a test error)."""


class CaseFailure(AssertionError):
    """The case failed its pass rule (shown as a test failure)."""


class CaseFile(pytest.File):
    """One YAML/JSONL case file."""

    def collect(self):
        """One item per case; a malformed file is a collection error naming file, line and field."""
        from coach.config import get_settings
        from evals.cases import load_file
        from evals.targets import knowledge_ids

        from coach.errors import CoachError

        try:
            cases = load_file(self.path, knowledge_ids(get_settings().knowledge_dir))
        except CoachError as exc:
            raise self.CollectError(str(exc)) from None  # file, line and field; no framework traceback
        for case in cases:
            yield CaseItem.from_parent(self, name=case.id, case=case)


class CaseItem(pytest.Item):
    """One eval case run as a test."""

    def __init__(self, *, case: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.add_marker(pytest.mark.eval)
        self.user_properties.append(("suite", case.suite))

    def runtest(self) -> None:
        """Run every repeat, apply the pass rule, and raise the outcome."""
        from evals.results import CaseResult
        from evals.targets import TARGETS

        runner = _runner(self.config)
        if reason := TARGETS[self.case.target].unavailable():
            raise CaseError(reason)
        result = CaseResult(self.case, self.case.pass_rule or runner.options.pass_rule)
        result.attempts = [runner.attempt(self.case, r) for r in range(runner.options.repeat)]
        result.finish()
        if result.status == "skip":
            pytest.skip(result.reason)
        if result.status == "not-run":
            pytest.skip(result.reason or "not run")
        if result.status == "error":
            raise CaseError(result.reason)
        if result.status == "fail":
            lines = [f"{result.passes}/{len(result.attempts)} attempts passed (pass rule {result.pass_rule})"]
            for attempt in result.attempts:
                for verdict in attempt.assertions:
                    if verdict.gating and verdict.passed is False:
                        lines.append(f"repeat {attempt.repeat + 1}: {verdict.description}: {verdict.reason}")
                lines.append(f"repeat {attempt.repeat + 1} output: {(attempt.output or '')[:500]}")
            raise CaseFailure("\n".join(lines))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The reasons, without a Python traceback of the framework."""
        if isinstance(excinfo.value, (CaseFailure, CaseError)):
            return f"{self.case.where}: {excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        """File, line and name shown by pytest."""
        return self.path, self.case.line - 1, f"{self.case.suite}/{self.case.id}"
