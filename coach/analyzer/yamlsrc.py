"""Read a YAML file and remember where every mapping, key and list item came from.

The rule loader reports errors as ``file:line: ...``; plain ``yaml.safe_load`` forgets line
numbers, so this loader builds dicts and lists that carry them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from coach.errors import CoachError


class RuleFileError(CoachError):
    """A rule file cannot be read: YAML syntax, a missing or bad field. Names file, line and field."""

    exit_code = 1


class LineDict(dict):
    """A YAML mapping with the 1-based line of the mapping and of each of its keys."""

    line: int = 0
    key_lines: dict[str, int]

    def line_of(self, key: str) -> int:
        """Line of ``key`` when present, else the line of the mapping itself."""
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A YAML sequence with the 1-based line of the sequence and of each item."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        """Line of item ``index``."""
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences remember their lines; duplicate keys are errors."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None, None, f"mapping keys must be strings, got {key!r}", key_node.start_mark
            )
        if key in result:
            # yaml.safe_load keeps the last value silently; a duplicated rule field is always a mistake.
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path) -> Any:
    """Parse ``path``; a syntax error becomes :class:`RuleFileError` naming the file, line and column."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RuleFileError(f"{path}: cannot read rule file: {exc.strerror or exc}") from exc
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RuleFileError(f"{path}: rule file is not valid UTF-8 (byte {exc.start})") from exc
    try:
        return yaml.load(source, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        what = " ".join(part for part in (exc.context, exc.problem) if part)
        raise RuleFileError(f"{where}: YAML syntax error: {what}") from exc
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{path}: YAML error: {exc}") from exc
