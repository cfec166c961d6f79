"""Load rehearsal scenarios from YAML: the built-in ones and the user's own.

Built-in scenarios live in ``<knowledge_dir>/scenarios/*.yaml``; a user adds their own in
``<COACH_HOME>/scenarios/*.yaml`` or passes a path. Every error names the file and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from coach.config import Settings, get_settings
from coach.errors import UsageError
from coach.rehearsal.models import Scenario

#: Larger files are refused before parsing: a scenario is a page of text, not a data dump.
MAX_SCENARIO_BYTES = 200_000
#: libyaml's safe loader when PyYAML was built with it (about 10x faster), else the pure one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def principle_ids(knowledge_dir: Path) -> frozenset[str]:
    """Card ids from ``principles/IDS.txt`` (one per line, ``#`` comments ignored)."""
    path = knowledge_dir / "principles" / "IDS.txt"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read the principle id list {path}: {exc.strerror or exc}") from exc
    return frozenset(s for line in lines if (s := line.split("#", 1)[0].strip()))


def scenario_dirs(settings: Settings | None = None) -> list[Path]:
    """Where scenarios are looked up, built-in first."""
    settings = settings or get_settings()
    return [settings.knowledge_dir / "scenarios", settings.home / "scenarios"]


def _loc(loc: tuple[Any, ...]) -> str:
    """('hidden_facts', 2, 'unlock') -> 'hidden_facts[2].unlock'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UsageError(f"scenario file {path}: not found") from None
    except OSError as exc:
        raise UsageError(f"scenario file {path}: cannot read ({exc.strerror or exc})") from exc
    if size > MAX_SCENARIO_BYTES:
        raise UsageError(f"scenario file {path}: {size} bytes is over the {MAX_SCENARIO_BYTES}-byte limit")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"scenario file {path}: not UTF-8 text (is it a binary file?)") from None
    if "\x00" in text:
        raise UsageError(f"scenario file {path}: contains NUL bytes (is it a binary file?)")
    try:
        data = yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader either way
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(f"scenario file {path}: invalid YAML{where}: {problem}") from None
    if data is None:
        raise UsageError(f"scenario file {path}: is empty")
    if not isinstance(data, dict):
        raise UsageError(f"scenario file {path}: the top level must be a mapping of fields, not {type(data).__name__}")
    return data


def load_scenario_file(path: Path, *, known_principles: frozenset[str] | None = None) -> Scenario:
    """Parse and validate one scenario file; raise :class:`UsageError` naming the file and field."""
    path = Path(path).expanduser()
    data = _read_yaml(path)
    if known_principles is None:
        known_principles = principle_ids(get_settings().knowledge_dir)
    try:
        return Scenario.model_validate(data, context={"principle_ids": known_principles})
    except ValidationError as exc:
        lines = [f"field '{_loc(err['loc'])}': {err['msg']}" for err in exc.errors()]
        raise UsageError(f"scenario file {path}: " + "; ".join(lines)) from None


@dataclass
class Library:
    """Every scenario found, where it came from, and the files that failed to load."""

    scenarios: dict[str, Scenario] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def ids(self) -> list[str]:
        """Scenario ids, sorted."""
        return sorted(self.scenarios)


def load_library(settings: Settings | None = None) -> Library:
    """Load all scenario files; bad files are collected in ``errors`` so one typo hides nothing else."""
    settings = settings or get_settings()
    known = principle_ids(settings.knowledge_dir)
    lib = Library()
    for folder in scenario_dirs(settings):
        if not folder.is_dir():
            continue
        for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
            try:
                scenario = load_scenario_file(path, known_principles=known)
            except UsageError as exc:
                lib.errors.append(str(exc))
                continue
            if scenario.id in lib.scenarios:
                lib.errors.append(
                    f"scenario file {path}: field 'id': {scenario.id!r} is already defined in "
                    f"{lib.sources[scenario.id]}; pick another id"
                )
                continue
            lib.scenarios[scenario.id] = scenario
            lib.sources[scenario.id] = path
    return lib


def _looks_like_path(ref: str) -> bool:
    return ref.endswith((".yaml", ".yml")) or "/" in ref or "\\" in ref


def get_scenario(ref: str, settings: Settings | None = None) -> Scenario:
    """A scenario by id, or by file path; an unknown id raises an error listing the valid ids."""
    ref = (ref or "").strip()
    if not ref:
        raise UsageError("no scenario given; pass a scenario id or a path to a .yaml file")
    settings = settings or get_settings()
    if _looks_like_path(ref):
        return load_scenario_file(Path(ref), known_principles=principle_ids(settings.knowledge_dir))
    lib = load_library(settings)
    if ref in lib.scenarios:
        return lib.scenarios[ref]
    message = f"unknown scenario {ref!r}; valid ids: {', '.join(lib.ids()) or '(none found)'}"
    if lib.errors:
        message += f" ({len(lib.errors)} scenario file(s) failed to load: {lib.errors[0]})"
    raise UsageError(message)
