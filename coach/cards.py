"""Principle cards: Markdown files with YAML front matter in ``knowledge/principles/``.

Parsing and validation only; storing and searching them is :mod:`coach.knowledge`'s job.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from coach.errors import UsageError

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?(.*)\Z", re.DOTALL)
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class CardSource(BaseModel):
    """Where a card's idea comes from: the seed document and the part of it."""

    file: str = Field(min_length=1)
    part: str = Field(min_length=1)
    author: str = Field(min_length=1)


class PrincipleCard(BaseModel):
    """One mentoring principle, in our own words, with phrases that follow and break it."""

    id: str
    title: str = Field(min_length=3, max_length=120)
    summary: str = Field(min_length=20, max_length=600)
    source: CardSource
    applies_to: list[Literal["mentor", "mentee"]] = Field(min_length=1)
    tags: list[str] = Field(min_length=1)
    sounds_like: list[str] = Field(min_length=3)
    not_like: list[str] = Field(min_length=3)
    body: str = Field(min_length=50)
    path: Path | None = None

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"id {value!r} must be lowercase words joined by hyphens")
        return value

    @field_validator("sounds_like", "not_like", "tags")
    @classmethod
    def _non_empty_items(cls, value: list[str]) -> list[str]:
        if any(not str(item).strip() for item in value):
            raise ValueError("items must be non-empty strings")
        return [str(item).strip() for item in value]


def split_front_matter(text: str) -> tuple[dict, str]:
    """Split ``---`` YAML front matter from the Markdown body. Raises ValueError when absent or invalid."""
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if not match:
        raise ValueError("no YAML front matter (the file must start with a '---' line and close it with '---')")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ValueError(f"front matter is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(meta, dict):
        raise ValueError("front matter must be a mapping of fields")
    return meta, match.group(2).strip()


def parse_card(path: Path) -> PrincipleCard:
    """Read and validate one card; errors name the file and the offending field."""
    try:
        meta, body = split_front_matter(path.read_text(encoding="utf-8"))
        card = PrincipleCard(**meta, body=body, path=path)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise UsageError(f"{path}: invalid principle card: {problems}") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from exc
    if card.id != path.stem:
        raise UsageError(f"{path}: id {card.id!r} must match the file name {path.stem!r}")
    return card


def load_cards(directory: Path) -> list[PrincipleCard]:
    """All cards in a directory, sorted by id. Duplicate ids are an error naming both files."""
    cards: dict[str, PrincipleCard] = {}
    for path in sorted(directory.glob("*.md")):
        card = parse_card(path)
        if card.id in cards:
            raise UsageError(f"duplicate card id {card.id!r} in {cards[card.id].path} and {path}")
        cards[card.id] = card
    return sorted(cards.values(), key=lambda c: c.id)


@lru_cache(maxsize=8)
def _cards_by_id(directory: str) -> dict[str, PrincipleCard]:
    return {card.id: card for card in load_cards(Path(directory))}


def card_index(directory: Path) -> dict[str, PrincipleCard]:
    """Cards of a directory keyed by id (parsed once per process)."""
    return _cards_by_id(str(directory))
