"""Load eval cases from YAML or JSONL files; every error names the file, the line and the field.

YAML suite file::

    suite: analyzer            # default: the file name without extension
    target: analyzer           # what produces the output (see evals.targets); default: the suite name
    description: ...
    defaults: {metadata: {...}, expect: [...], pass_rule: majority}   # merged into every case
    datasets: [{path: ../datasets/retrieval.jsonl, format: retrieval, k: 3}]
    cases:
      - id: directive-should
        input: You should call her first.
        expect:
          - {type: finding-present, kind: directive}
        metadata: {principle: first-person-story}

JSONL: one case object per line (same keys); an optional first line without ``id`` sets ``suite``
and ``target`` for the file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from coach.analyzer.yamlsrc import LineDict, LineList, RuleFileError, load_yaml
from coach.errors import UsageError
from evals import assertions
from evals.model import AssertionSpec, Case
from evals.stats import parse_pass_rule

SUFFIXES = (".yaml", ".yml", ".jsonl")
FILE_KEYS = ("suite", "target", "description", "defaults", "cases", "datasets")
CASE_KEYS = ("id", "input", "expect", "metadata", "pass_rule", "target")
DEFAULT_KEYS = ("metadata", "expect", "pass_rule", "target")
DATASET_FORMATS = ("retrieval",)
#: Larger case files are refused: a case file is hand-written data, not a dump.
MAX_FILE_BYTES = 5_000_000


class CaseFileError(UsageError):
    """A case file is unreadable or invalid (exit code 2); the message starts with ``file:line:``."""


def _fail(path: Path, line: int, message: str) -> CaseFileError:
    return CaseFileError(f"{path}:{line}: {message}")


def discover(paths: Sequence[Path]) -> list[Path]:
    """Case files under ``paths`` (files as given, folders searched recursively), sorted, deduplicated."""
    found: list[Path] = []
    for path in paths:
        path = Path(path).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                raise CaseFileError(f"{path}: not a case file (use {', '.join(SUFFIXES)})")
            found.append(path)
        else:
            raise CaseFileError(f"{path}: no such file or folder")
    return list(dict.fromkeys(p.resolve() for p in found))


def load_cases(paths: Sequence[Path], principle_ids: frozenset[str]) -> list[Case]:
    """Every case in the files under ``paths``; ids must be unique within a suite."""
    files = discover(paths)
    if not files:
        raise CaseFileError(f"no case files ({', '.join(SUFFIXES)}) under {', '.join(map(str, paths))}")
    cases: list[Case] = []
    seen: dict[tuple[str, str], str] = {}
    for path in files:
        for case in load_file(path, principle_ids):
            key = (case.suite, case.id)
            if key in seen:
                raise _fail(Path(case.source), case.line, f"case id {case.id!r} repeats in suite {case.suite!r} (first at {seen[key]})")
            seen[key] = case.where
            cases.append(case)
    return cases


def _read(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CaseFileError(f"{path}: cannot read case file: {exc.strerror or exc}") from exc
    if len(raw) > MAX_FILE_BYTES:
        raise CaseFileError(f"{path}: case file is {len(raw)} bytes; the limit is {MAX_FILE_BYTES}")
    if b"\x00" in raw:
        raise CaseFileError(f"{path}: case file is binary, not text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CaseFileError(f"{path}: case file is not valid UTF-8 (byte {exc.start})") from exc


def load_file(path: Path, principle_ids: frozenset[str]) -> list[Case]:
    """The cases of one YAML or JSONL file."""
    path = Path(path)
    text = _read(path)
    if path.suffix == ".jsonl":
        return _load_jsonl(path, text, principle_ids)
    try:
        data = load_yaml(path)
    except RuleFileError as exc:
        raise CaseFileError(str(exc)) from exc
    if data is None:
        raise CaseFileError(f"{path}:1: the case file is empty")
    if not isinstance(data, LineDict):
        raise _fail(path, getattr(data, "line", 1), "a YAML case file must be a mapping with 'cases:' (and optionally suite, target, defaults, datasets)")
    _known_keys(path, data, FILE_KEYS, "the file")
    suite = _name(path, data, "suite", path.stem)
    target = _name(path, data, "target", suite)
    defaults = data.get("defaults") or LineDict()
    if not isinstance(defaults, dict):
        raise _fail(path, data.line_of("defaults"), "field 'defaults' must be a mapping")
    if isinstance(defaults, LineDict):
        _known_keys(path, defaults, DEFAULT_KEYS, "'defaults'")
    raw_cases = data.get("cases", LineList())
    if not isinstance(raw_cases, list):
        raise _fail(path, data.line_of("cases"), "field 'cases' must be a list of cases")
    if not raw_cases and not data.get("datasets"):
        raise _fail(path, data.line, "the file has no cases (give 'cases:' or 'datasets:')")
    cases = [
        _case(path, item, raw_cases.line_of(i) if isinstance(raw_cases, LineList) else data.line, suite, target,
              defaults, principle_ids, f"cases[{i}]")
        for i, item in enumerate(raw_cases)
    ]
    for i, spec in enumerate(data.get("datasets") or []):
        cases += _dataset(path, spec, data.get("datasets").line_of(i), suite, target, defaults, principle_ids)
    return cases


def _known_keys(path: Path, data: Mapping[str, Any], allowed: Sequence[str], what: str) -> None:
    for key in data:
        if key not in allowed:
            line = data.line_of(key) if isinstance(data, LineDict) else getattr(data, "line", 1)
            raise _fail(path, line, f"{what} has an unknown field {key!r}; allowed: {', '.join(allowed)}")


def _name(path: Path, data: LineDict, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, data.line_of(key), f"field {key!r} must be a non-empty name")
    return value.strip()


def _case(path: Path, item: Any, line: int, suite: str, target: str, defaults: Mapping[str, Any],
          principle_ids: frozenset[str], where: str) -> Case:
    from evals.targets import TARGETS

    if not isinstance(item, dict):
        raise _fail(path, line, f"{where} must be a mapping with id, input and expect")
    line = getattr(item, "line", line) or line
    _known_keys(path, item, CASE_KEYS, where)

    def at(key: str) -> int:
        return item.line_of(key) if isinstance(item, LineDict) else line

    case_id = item.get("id")
    if not isinstance(case_id, (str, int)) or isinstance(case_id, bool) or not str(case_id).strip():
        raise _fail(path, at("id"), f"{where}: field 'id' is required (a short unique name)")
    label = f"case {str(case_id)!r}"
    if "input" not in item or item["input"] is None:
        raise _fail(path, at("input"), f"{label}: field 'input' is required")
    case_target = item.get("target", defaults.get("target", target))
    if case_target not in TARGETS:
        hint = "" if "target" in item or "target" in defaults else " (no 'target' given, so the suite name was tried)"
        raise _fail(path, at("target") if "target" in item else line,
                    f"{label}: unknown target {case_target!r}{hint}; valid targets: {', '.join(sorted(TARGETS))}")
    if not isinstance(item.get("metadata") or {}, dict):
        raise _fail(path, at("metadata"), f"{label}: field 'metadata' must be a mapping")
    metadata = {**(defaults.get("metadata") or {}), **(item.get("metadata") or {})}
    pass_rule = item.get("pass_rule", defaults.get("pass_rule"))
    if pass_rule is not None:
        try:
            pass_rule = parse_pass_rule(str(pass_rule))
        except ValueError as exc:
            raise _fail(path, at("pass_rule"), f"{label}: field 'pass_rule': {exc}") from None
    raw_expect = [*(defaults.get("expect") or []), *(item.get("expect") or [])]
    if not isinstance(item.get("expect", []), list):
        raise _fail(path, at("expect"), f"{label}: field 'expect' must be a list of assertions")
    if not raw_expect:
        raise _fail(path, at("expect") if "expect" in item else line, f"{label}: field 'expect' needs at least one assertion")
    lines = getattr(item.get("expect"), "item_lines", None) or []
    offset = len(defaults.get("expect") or [])
    expect = tuple(
        _assertion(path, spec, lines[i - offset] if offset <= i < offset + len(lines) else at("expect"),
                   label, f"expect[{i}]", principle_ids)
        for i, spec in enumerate(raw_expect)
    )
    return Case(id=str(case_id).strip(), suite=suite, target=case_target, input=item["input"], expect=expect,
                metadata=metadata, source=str(path), line=line, pass_rule=pass_rule)


def _assertion(path: Path, spec: Any, line: int, label: str, field: str,
               principle_ids: frozenset[str]) -> AssertionSpec:
    if not isinstance(spec, dict) or "type" not in spec:
        raise _fail(path, line, f"{label} field '{field}': an assertion must be a mapping with 'type' "
                                f"(valid types: {assertions.valid_types()})")
    line = getattr(spec, "line", line) or line
    params = {k: v for k, v in spec.items() if k != "type"}
    try:
        assertions.validate(str(spec["type"]), params, principle_ids)
    except assertions.SpecError as exc:
        name = f"{field}.{exc.field}" if exc.field else field
        at = spec.line_of(exc.field) if isinstance(spec, LineDict) and exc.field else line
        raise _fail(path, at, f"{label} field '{name}': {exc}") from None
    return AssertionSpec(type=str(spec["type"]), params=params, where=f"{path}:{line}")


def _dataset(path: Path, spec: Any, line: int, suite: str, target: str, defaults: Mapping[str, Any],
             principle_ids: frozenset[str]) -> list[Case]:
    """Expand a labelled dataset into cases (``format: retrieval`` rows ``{query, expected}``)."""
    from evals.retrieval import load_cases as load_retrieval

    if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
        raise _fail(path, line, "each entry of 'datasets' needs 'path' (relative to this file) and 'format'")
    unknown = set(spec) - {"path", "format", "k"}
    if unknown:
        raise _fail(path, line, f"dataset entry has unknown field(s) {', '.join(sorted(unknown))}; allowed: path, format, k")
    if spec.get("format") not in DATASET_FORMATS:
        raise _fail(path, line, f"dataset 'format' must be one of {', '.join(DATASET_FORMATS)}")
    k = spec.get("k", 3)
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise _fail(path, line, "dataset 'k' must be a whole number of at least 1")
    source = (path.parent / spec["path"]).resolve()
    if not source.is_file():
        raise _fail(path, line, f"dataset file not found: {source}")
    try:
        rows = load_retrieval(source)
    except UsageError as exc:
        raise CaseFileError(f"{exc} (dataset of {path}:{line})") from exc
    cases = []
    for row in rows:
        item = {"id": f"{source.stem}-{row.line}", "input": row.query,
                "expect": [{"type": "retrieved", "ids": list(row.expected), "k": k}],
                "metadata": {"dataset": str(source.name), "dataset_line": row.line}}
        case = _case(path, item, line, suite, target, defaults, principle_ids, f"dataset row {source.name}:{row.line}")
        cases.append(Case(**{**case.__dict__, "source": str(source), "line": row.line}))
    return cases


def _load_jsonl(path: Path, text: str, principle_ids: frozenset[str]) -> list[Case]:
    suite, target = path.stem, None
    cases: list[Case] = []
    first = True
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except ValueError as exc:
            raise _fail(path, number, f"invalid JSON: {exc}") from None
        if not isinstance(item, dict):
            raise _fail(path, number, "each line must be a JSON object (a case, or a first line with suite/target)")
        if first and "id" not in item and set(item) <= {"suite", "target", "description"}:
            suite = str(item.get("suite") or suite)
            target = item.get("target")
            first = False
            continue
        first = False
        cases.append(_case(path, item, number, suite, str(target or suite), {}, principle_ids, f"line {number}"))
    if not cases:
        raise CaseFileError(f"{path}:1: the case file has no cases")
    return cases


def suites_of(cases: Iterable[Case]) -> list[str]:
    """Suite names in first-seen order."""
    return list(dict.fromkeys(c.suite for c in cases))
