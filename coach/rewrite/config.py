"""The rewriter's data: ``knowledge/rewrite.yaml`` loaded and validated into :class:`RewriteConfig`.

Templates, limits and the calibrated meaning threshold are data, not code; every field is checked
here once, and errors name the file and the field.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from coach.errors import CoachError

FILE_NAME = "rewrite.yaml"


class RewriteConfigError(CoachError):
    """knowledge/rewrite.yaml is missing or malformed (a packaging bug, not user input)."""


@dataclass(frozen=True)
class Negation:
    """Words that mark an action as negated (see ``verify.negation`` in the YAML)."""

    strict: tuple[str, ...]
    soft: tuple[str, ...]
    negative_verbs: tuple[str, ...]


@dataclass(frozen=True)
class RewriteConfig:
    """Everything the rewriter reads from ``knowledge/rewrite.yaml``."""

    @property
    def attempts(self) -> int:
        """Model attempts per piece: the first one plus one per repair."""
        return 1 + len(self.repairs)

    path: Path
    openers_one: tuple[str, ...]
    openers_many: tuple[str, ...]
    handbacks: tuple[str, ...]
    leads_first: tuple[str, ...]
    leads_next: tuple[str, ...]
    fallback_first: tuple[str, ...]
    fallback_next: tuple[str, ...]
    fallback_statement: tuple[str, ...]
    fallback_quoted: str
    fix_lead: re.Pattern[str]
    removable_words: tuple[str, ...]
    not_vocative: frozenset[str]
    repairs: tuple[str, ...]
    temperature: float
    base_max_tokens: int
    max_tokens_cap: int
    leak_words: int
    meta_words: tuple[str, ...]
    max_piece_ratio: float
    max_piece_extra_chars: int
    not_experience: tuple[str, ...]
    negation: Negation
    skip_words: frozenset[str]
    irregular: dict[str, tuple[str, ...]]
    meaning_threshold: float
    meaning_calibration: str


def pick(options: tuple[str, ...], *keys: object) -> str:
    """One of ``options``, chosen by a stable hash of ``keys`` (same draft, same choice, every run)."""
    digest = hashlib.sha256("\x1f".join(str(k) for k in keys).encode("utf-8")).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def _strings(data: dict[str, Any], path: Path, dotted: str, minimum: int = 1) -> tuple[str, ...]:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, list) or len(node) < minimum or not all(isinstance(s, str) and s.strip() for s in node):
        raise RewriteConfigError(f"{path}: '{dotted}' must be a list of at least {minimum} non-empty strings")
    return tuple(node)


def _number(data: dict[str, Any], path: Path, dotted: str, kind: type, low: float, high: float) -> Any:
    node: Any = data
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, bool) or not isinstance(node, (int, float)) or (kind is int and not isinstance(node, int)):
        raise RewriteConfigError(f"{path}: '{dotted}' must be a number ({kind.__name__})")
    if not low <= node <= high:
        raise RewriteConfigError(f"{path}: '{dotted}' must be between {low} and {high}, not {node}")
    return kind(node)


def _template(text: str, path: Path, dotted: str, fields: set[str]) -> str:
    used = set(re.findall(r"\{(\w+)\}", text))
    if used != fields:
        raise RewriteConfigError(f"{path}: '{dotted}' template {text!r} must use exactly {sorted(fields)}")
    return text


REPAIRS = ("resample", "feedback")


def _repairs(data: dict[str, Any], path: Path) -> tuple[str, ...]:
    repairs = data.get("model", {}).get("repairs") if isinstance(data.get("model"), dict) else None
    if not isinstance(repairs, list) or len(repairs) > 5 or any(r not in REPAIRS for r in repairs):
        raise RewriteConfigError(f"{path}: 'model.repairs' must be a list of at most 5 of {', '.join(REPAIRS)}")
    return tuple(repairs)


def parse_config(path: Path) -> RewriteConfig:
    """Read and validate the rewriter's YAML file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RewriteConfigError(f"the rewriter's data file is missing: {path}") from None
    except yaml.YAMLError as exc:
        raise RewriteConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RewriteConfigError(f"{path} must be a mapping")
    fallback_first = _strings(data, path, "fallback.first")
    fallback_next = _strings(data, path, "fallback.next")
    for name, group in (("fallback.first", fallback_first), ("fallback.next", fallback_next)):
        for text in group:
            _template(text, path, name, {"to", "action"})
    fallback_statement = _strings(data, path, "fallback.statement")
    for text in fallback_statement:
        _template(text, path, "fallback.statement", {"statement"})
    quoted = data.get("fallback", {}).get("quoted")
    if not isinstance(quoted, str):
        raise RewriteConfigError(f"{path}: 'fallback.quoted' must be a template string")
    try:
        fix_lead = re.compile(str(data.get("fix_lead", "")), re.IGNORECASE)
    except re.error as exc:
        raise RewriteConfigError(f"{path}: 'fix_lead' is not a valid regex: {exc}") from exc
    if "neg" not in fix_lead.groupindex:
        raise RewriteConfigError(f"{path}: 'fix_lead' needs a named group 'neg'")
    negation = data.get("verify", {}).get("negation", {})
    irregular = data.get("verify", {}).get("irregular")
    if not isinstance(irregular, dict) or not all(
        isinstance(v, str) and isinstance(forms, list) and all(isinstance(f, str) for f in forms)
        for v, forms in irregular.items()
    ):
        raise RewriteConfigError(f"{path}: 'verify.irregular' must map each verb to a list of its irregular forms")
    return RewriteConfig(
        path=path,
        openers_one=_strings(data, path, "openers.one"),
        openers_many=_strings(data, path, "openers.many"),
        handbacks=_strings(data, path, "handbacks"),
        leads_first=_strings(data, path, "story_leads.first"),
        leads_next=_strings(data, path, "story_leads.next"),
        fallback_first=fallback_first,
        fallback_next=fallback_next,
        fallback_statement=fallback_statement,
        fallback_quoted=_template(quoted, path, "fallback.quoted", {"sentence"}),
        fix_lead=fix_lead,
        removable_words=_strings(data, path, "removable_words"),
        not_vocative=frozenset(w.lower() for w in _strings(data, path, "not_vocative")),
        repairs=_repairs(data, path),
        temperature=_number(data, path, "model.temperature", float, 0.0, 2.0),
        base_max_tokens=_number(data, path, "model.base_max_tokens", int, 8, 2048),
        max_tokens_cap=_number(data, path, "model.max_tokens_cap", int, 8, 4096),
        leak_words=_number(data, path, "verify.leak_words", int, 3, 50),
        meta_words=_strings(data, path, "verify.meta_words"),
        max_piece_ratio=_number(data, path, "verify.max_piece_ratio", float, 1.0, 10.0),
        max_piece_extra_chars=_number(data, path, "verify.max_piece_extra_chars", int, 0, 2000),
        not_experience=_strings(data, path, "verify.not_experience"),
        negation=Negation(
            strict=_strings(negation, path, "strict"),
            soft=_strings(negation, path, "soft"),
            negative_verbs=_strings(negation, path, "negative_verbs"),
        ),
        skip_words=frozenset(w.lower() for w in _strings(data, path, "verify.skip_words")),
        irregular={v.lower(): tuple(f.lower() for f in forms) for v, forms in irregular.items()},
        meaning_threshold=_number(data, path, "verify.meaning_threshold", float, -1.0, 1.0),
        meaning_calibration=str(data.get("verify", {}).get("meaning_calibration", "")),
    )


@lru_cache(maxsize=8)
def _load(path: str, mtime_ns: int) -> RewriteConfig:
    return parse_config(Path(path))


def load_config(knowledge_dir: Path) -> RewriteConfig:
    """The rewriter's data in ``knowledge_dir`` (re-read when the file changes)."""
    path = Path(knowledge_dir) / FILE_NAME
    try:
        mtime = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise RewriteConfigError(f"the rewriter's data file is missing: {path}") from None
    return _load(str(path), mtime)
