"""Prompt templates as files in ``prompts/``, loaded by name and rendered with LangChain templates.

Convention (see prompts/README.md): ``prompts/<name>.md`` (or ``.txt``) starts with a YAML front-matter
block declaring a ``description`` and every ``variables`` entry with an example value; the body is a
LangChain f-string template (``{draft}``; literal braces doubled: ``{{`` ``}}``). ``<name>.yaml`` holds
the same keys plus ``template``. A conversation is a pair ``<name>.system.md`` + ``<name>.user.md``.

Rendering is strict both ways: a missing variable and an undeclared one each raise :class:`PromptError`
naming the prompt and the variable, so a typo never sends a half-filled prompt to a model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from langchain_core.prompts import ChatPromptTemplate, PromptTemplate

from coach.config import get_settings
from coach.errors import CoachError
from coach.llm import Message

#: File types a prompt may use, in lookup order.
SUFFIXES = (".md", ".txt", ".yaml")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class PromptError(CoachError):
    """A prompt file is missing or malformed, or was rendered with wrong variables (a bug, not user input)."""


@dataclass(frozen=True)
class Prompt:
    """One template file: its declared variables (with examples) and its body."""

    name: str
    path: Path
    description: str
    template: str
    examples: Mapping[str, str] = field(default_factory=dict)

    @property
    def variables(self) -> frozenset[str]:
        """Names the template needs."""
        return frozenset(self.examples)

    def render(self, /, **values: object) -> str:
        """The template filled with ``values``; every declared variable must be given, and no other."""
        _check_values(self.name, self.variables, values)
        template = PromptTemplate.from_template(self.template)
        return template.format(**{k: str(v) for k, v in values.items()})


def _prompts_dir(prompts_dir: Path | None) -> Path:
    return prompts_dir if prompts_dir is not None else get_settings().prompts_dir


def _check_values(name: str, declared: frozenset[str], values: Mapping[str, object]) -> None:
    missing = sorted(declared - values.keys())
    if missing:
        raise PromptError(f"prompt '{name}' needs variable '{missing[0]}', which was not given")
    extra = sorted(values.keys() - declared)
    if extra:
        raise PromptError(f"prompt '{name}' has no variable '{extra[0]}' (it declares: {', '.join(sorted(declared)) or 'none'})")


def _find(name: str, directory: Path) -> Path:
    if not _NAME.match(name) or ".." in name:
        raise PromptError(f"invalid prompt name {name!r}: use lower-case letters, digits, '_', '-' and '.'")
    for suffix in SUFFIXES:
        path = directory / f"{name}{suffix}"
        if path.is_file():
            return path
    raise PromptError(f"no prompt named '{name}' in {directory} (looked for {', '.join(name + s for s in SUFFIXES)})")


def _parse(name: str, path: Path) -> Prompt:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".yaml":
        meta, body = yaml.safe_load(text) or {}, None
        if isinstance(meta, dict):
            body = meta.get("template")
    else:
        match = _FRONT_MATTER.match(text)
        if not match:
            raise PromptError(f"prompt '{name}' ({path}) must start with a '---' front-matter block declaring its variables")
        meta, body = yaml.safe_load(match.group(1)) or {}, text[match.end():]
    if not isinstance(meta, dict) or not isinstance(body, str) or not body.strip():
        raise PromptError(f"prompt '{name}' ({path}) has no template text")
    description = meta.get("description")
    if not isinstance(description, str) or not description.strip():
        raise PromptError(f"prompt '{name}' ({path}) needs a 'description' in its front matter")
    examples = meta.get("variables") or {}
    if not isinstance(examples, dict):
        raise PromptError(f"prompt '{name}' ({path}): 'variables' must map each variable to an example value")
    examples = {str(k): str(v) for k, v in examples.items()}
    try:
        used = set(PromptTemplate.from_template(body).input_variables)
    except (ValueError, KeyError) as exc:
        raise PromptError(f"prompt '{name}' ({path}) is not a valid template: {exc}") from exc
    if used != set(examples):
        undeclared, unused = sorted(used - set(examples)), sorted(set(examples) - used)
        detail = f"uses undeclared {undeclared}" if undeclared else f"declares unused {unused}"
        raise PromptError(f"prompt '{name}' ({path}) {detail}; its front matter must list exactly the variables it uses")
    return Prompt(name=name, path=path, description=description.strip(), template=body.strip("\n"), examples=examples)


@lru_cache(maxsize=128)
def _load(name: str, path: Path, mtime_ns: int) -> Prompt:
    # Keyed on the modification time so an edited prompt is re-read without restarting.
    return _parse(name, path)


def load_prompt(name: str, prompts_dir: Path | None = None) -> Prompt:
    """The prompt called ``name`` (file ``<name>.md|.txt|.yaml`` in ``prompts_dir`` or settings.prompts_dir)."""
    path = _find(name, _prompts_dir(prompts_dir))
    return _load(name, path, path.stat().st_mtime_ns)


def list_prompts(prompts_dir: Path | None = None) -> list[str]:
    """Names of every prompt file in the directory (README.md is documentation, not a prompt)."""
    directory = _prompts_dir(prompts_dir)
    names = {p.stem for p in directory.iterdir() if p.suffix in SUFFIXES and p.is_file() and p.stem != "README"}
    return sorted(names)


def chat_messages(name: str, prompts_dir: Path | None = None, /, **values: object) -> list[Message]:
    """Render the conversation ``<name>.system`` + ``<name>.user`` into messages for a chat model.

    ``values`` must cover the variables of both files, and nothing else (``name`` and ``prompts_dir``
    are positional-only, so prompts may use variables with those names).
    """
    system = load_prompt(f"{name}.system", prompts_dir)
    user = load_prompt(f"{name}.user", prompts_dir)
    _check_values(name, system.variables | user.variables, values)
    template = ChatPromptTemplate.from_messages([("system", system.template), ("human", user.template)])
    rendered = template.format_messages(**{k: str(v) for k, v in values.items()})
    return [Message(role="system" if m.type == "system" else "user", content=str(m.content)) for m in rendered]
