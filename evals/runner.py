"""Run cases: repeats, a concurrency limit, cached model calls, a cost ceiling, and a clean stop.

Attempts (case x repeat) run on a thread pool of ``jobs`` workers. A model that proves unreachable
fails its later calls at once (those cases are errored); a spent budget stops scheduling (the rest
is "not-run"); Ctrl-C stops the run and keeps what finished. Either way a :class:`RunResult` comes
back, so reports are always written.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, TypeVar

from coach.config import Settings
from coach.errors import CoachError, ModelError
from coach.llm import ChatModel, ModelRole, get_chat_model
from evals import assertions, grader
from evals.assertions import Verdict
from evals.cache import CachedChatModel, CallCache, CallTotals, CostCeilingReached, ModelUnreachable, RunGuard
from evals.model import Case, Output
from evals.results import AssertionResult, AttemptResult, CaseResult, attempt_status
from evals.targets import TARGETS, TargetSkipped, TargetUnavailable, knowledge_ids

T = TypeVar("T")
#: Longest output text kept in a report per attempt (the rest is cut with a mark).
MAX_REPORTED_CHARS = 20_000


@dataclass
class RunOptions:
    """How to run: repeats, pass rule, workers, cache, budget, and whether rubric verdicts gate."""

    repeat: int = 1
    pass_rule: str = "all"
    jobs: int = 1
    use_cache: bool = True
    max_cost_usd: float | None = None
    rubric_gating: bool = False
    on_case: Callable[[CaseResult], None] | None = None


@dataclass
class RunResult:
    """Case results in input order, plus why the run stopped early (if it did)."""

    results: list[CaseResult]
    started: float
    finished: float
    interrupted: bool = False
    stop_reason: str | None = None
    guard: RunGuard = field(default_factory=RunGuard)


class _Shared:
    """Run-wide memo: each value is built once, under its own lock; a failure is remembered too."""

    def __init__(self) -> None:
        self._values: dict[str, tuple[bool, Any]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, name: str, build: Callable[[], T]) -> T:
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._values:
                try:
                    self._values[name] = (True, build())
                except Exception as exc:  # noqa: BLE001 - re-raised to every caller below
                    self._values[name] = (False, exc)
            ok, value = self._values[name]
        if not ok:
            raise value
        return value


class Attempt:
    """Context of one attempt: what targets and assertions may use (see SolveContext, CheckContext)."""

    def __init__(self, runner: Runner, case: Case, repeat: int) -> None:
        self.runner, self.case, self.repeat = runner, case, repeat
        self.settings = runner.settings
        self.totals = CallTotals()
        self._models: dict[str, CachedChatModel] = {}

    def _model(self, role: ModelRole) -> CachedChatModel:
        if role not in self._models:
            settings = self.settings
            self._models[role] = CachedChatModel(
                lambda: get_chat_model(settings, role), settings, role, cache=self.runner.cache,
                guard=self.runner.guard, totals=self.totals, repeat=self.repeat)
        return self._models[role]

    def coach_model(self) -> ChatModel:
        """The coach model for this attempt."""
        return self._model("coach")

    def shared(self, name: str, build: Callable[[], T]) -> T:
        """A run-wide value built once."""
        return self.runner.memo.get(name, build)

    def principle_ids(self) -> frozenset[str]:
        """Card ids of the knowledge folder."""
        return self.runner.principle_ids

    def grade(self, rubric: str, output: str, input_text: str) -> Verdict:
        """The grader model's verdict (strict JSON, bounded retries)."""
        return grader.grade(self._model("grader"), rubric, output, input_text).verdict


class Runner:
    """Runs cases under one settings object and one set of options."""

    def __init__(self, settings: Settings, options: RunOptions) -> None:
        self.settings, self.options = settings, options
        self.cache = CallCache(settings.cache_dir / "evals" if options.use_cache else None)
        self.guard = RunGuard(max_cost_usd=options.max_cost_usd)
        self.memo = _Shared()
        self.principle_ids = knowledge_ids(settings.knowledge_dir)
        self._stop: str | None = None

    def attempt(self, case: Case, repeat: int) -> AttemptResult:
        """Run one attempt: target, then every assertion; never raises for a case's own problems."""
        if self._stop:
            return AttemptResult(repeat, "not-run", error=f"not run: {self._stop}")
        ctx = Attempt(self, case, repeat)
        started = time.perf_counter()
        result = AttemptResult(repeat, "error", totals=ctx.totals)
        try:
            output = TARGETS[case.target].solve(case, ctx)
            result.output, result.data = _clip(output.text), output.data
            result.assertions = [self._judge(spec, output, ctx) for spec in case.expect]
            result.status = attempt_status(result.assertions)
        except TargetSkipped as exc:
            result.status, result.error = "skip", f"skipped: {exc}"
        except CostCeilingReached as exc:
            self._stop = str(exc)
            result.status, result.error = "not-run", f"not run: {exc}"
        except (TargetUnavailable, ModelError, CoachError) as exc:
            result.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a crashing target errors its case, the run goes on
            result.error = f"{case.target} raised {type(exc).__name__}: {exc}"
        result.seconds = time.perf_counter() - started
        return result

    def _judge(self, spec: assertions.AssertionSpec, output: Output, ctx: Attempt) -> AssertionResult:
        graded = assertions.is_model_graded(spec)
        try:
            verdict = assertions.evaluate(spec, output, ctx)
        except ModelUnreachable as exc:
            verdict = Verdict(None, f"grader unreachable: {exc}")
        except ModelError as exc:
            verdict = Verdict(None, f"grader failed: {exc}")
        return AssertionResult(spec.type, spec.describe(), verdict.passed, verdict.reason, verdict.score,
                               model_graded=graded, gating=self.options.rubric_gating or not graded)

    def run(self, cases: Sequence[Case]) -> RunResult:
        """Run every case ``repeat`` times; returns even when interrupted or stopped by the budget."""
        started = time.time()
        results = [CaseResult(case, case.pass_rule or self.options.pass_rule) for case in cases]
        pending: dict[int, int] = {}
        runnable: list[tuple[int, int]] = []
        unavailable = {name: TARGETS[name].unavailable() for name in {c.target for c in cases}}
        for index, case in enumerate(cases):
            reason = unavailable[case.target]
            if reason:
                results[index].attempts = [AttemptResult(r, "error", error=reason) for r in range(self.options.repeat)]
                self._done(results[index])
                continue
            pending[index] = self.options.repeat
            runnable += [(index, r) for r in range(self.options.repeat)]
        interrupted = False
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.jobs), thread_name_prefix="eval")
        futures: dict[Future[AttemptResult], int] = {}
        try:
            for index, repeat in runnable:
                futures[pool.submit(self.attempt, cases[index], repeat)] = index
            remaining = set(futures)
            while remaining:
                done, remaining = wait(remaining, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    index = futures[future]
                    results[index].attempts.append(future.result())
                    pending[index] -= 1
                    if pending[index] == 0:
                        results[index].attempts.sort(key=lambda a: a.repeat)
                        self._done(results[index])
        except KeyboardInterrupt:
            interrupted = True
            self._stop = "interrupted (Ctrl-C)"
            for future in futures:
                future.cancel()
        finally:
            pool.shutdown(wait=not interrupted, cancel_futures=True)
        for result in results:
            if result.status == "not-run" and (interrupted or result.attempts):
                result.attempts.sort(key=lambda a: a.repeat)
                result.finish()
                if interrupted and len(result.attempts) < self.options.repeat:
                    result.status, result.reason = "not-run", "not run: interrupted (Ctrl-C)"
        return RunResult(results, started, time.time(), interrupted, self._stop if not interrupted else "interrupted (Ctrl-C)",
                         self.guard)

    def _done(self, result: CaseResult) -> None:
        result.finish()
        if self.options.on_case:
            self.options.on_case(result)


def _clip(text: str) -> str:
    if len(text) <= MAX_REPORTED_CHARS:
        return text
    return text[:MAX_REPORTED_CHARS] + f"\n[... {len(text) - MAX_REPORTED_CHARS} more characters not shown]"
