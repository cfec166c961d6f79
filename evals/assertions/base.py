"""The assertion registry: types declare their parameters, specs are validated when a case file loads,
and :func:`evaluate` judges an output (a crash becomes an errored verdict, never a pass)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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
TEXTS = (str, list)
NUMBER = (int, float)


def register(name: str, summary: str, params: Mapping[str, Param], *, model_graded: bool = False,
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


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def check_bounds(params: Mapping[str, Any], low: str, high: str) -> None:
    if low in params and high in params and params[low] > params[high]:
        raise SpecError(low, f"{low!r} ({params[low]}) is greater than {high!r} ({params[high]})")


def quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")



def check_mode(params: Mapping[str, Any]) -> None:
    if params.get("mode", "all") not in ("all", "any"):
        raise SpecError("mode", f"'mode' must be 'all' or 'any', not {params['mode']!r}")


def check_positive(params: Mapping[str, Any], key: str) -> None:
    if key in params and params[key] < 1:
        raise SpecError(key, f"{key!r} must be at least 1")


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
