"""Prompt files: loaded by name, rendered with LangChain templates, strict about variables."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coach.config import PROJECT_ROOT
from coach.llm import Message
from coach.prompts import PromptError, chat_messages, list_prompts, load_prompt

PROMPTS = PROJECT_ROOT / "prompts"


@pytest.mark.parametrize("name", list_prompts(PROMPTS))
def test_every_prompt_renders_with_its_examples(name: str) -> None:
    prompt = load_prompt(name, PROMPTS)
    text = prompt.render(**prompt.examples)
    assert text.strip()
    for value in prompt.examples.values():
        assert value in text
    for variable in prompt.variables:
        assert "{" + variable + "}" not in text


@pytest.mark.parametrize("name", sorted({n.rsplit(".", 1)[0] for n in list_prompts(PROMPTS) if n.endswith(".system")}))
def test_every_conversation_pair_renders_into_system_and_user(name: str) -> None:
    examples = {**load_prompt(f"{name}.system", PROMPTS).examples, **load_prompt(f"{name}.user", PROMPTS).examples}
    messages = chat_messages(name, PROMPTS, **examples)
    assert [m.role for m in messages] == ["system", "user"]


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text, encoding="utf-8")


GOOD = """---
description: A test prompt.
variables:
  draft: You should call Dana before Friday.
  name: Dana
---
Rewrite this advice for {name}, keeping {{braces}} literal:
{draft}
"""


def test_render_fills_variables_and_keeps_literal_braces(tmp_path: Path) -> None:
    _write(tmp_path, "rewrite.user.md", GOOD)
    prompt = load_prompt("rewrite.user", tmp_path)
    assert prompt.variables == {"draft", "name"}
    assert prompt.description == "A test prompt."
    text = prompt.render(draft="Ship it {now}", name="Amaru")
    assert "for Amaru, keeping {braces} literal" in text
    assert text.endswith("Ship it {now}")  # a value's braces are text, not a placeholder


def test_missing_variable_fails_loudly_with_prompt_and_variable(tmp_path: Path) -> None:
    _write(tmp_path, "rewrite.user.md", GOOD)
    with pytest.raises(PromptError, match=r"prompt 'rewrite.user' needs variable 'name'"):
        load_prompt("rewrite.user", tmp_path).render(draft="x")


def test_unknown_variable_is_refused(tmp_path: Path) -> None:
    _write(tmp_path, "rewrite.user.md", GOOD)
    with pytest.raises(PromptError, match=r"has no variable 'drfat'"):
        load_prompt("rewrite.user", tmp_path).render(draft="x", name="y", drfat="z")


def test_front_matter_must_declare_exactly_the_variables_used(tmp_path: Path) -> None:
    _write(tmp_path, "a.md", "---\ndescription: d\nvariables:\n  x: 1\n---\nHello {x} and {y}\n")
    with pytest.raises(PromptError, match=r"undeclared \['y'\]"):
        load_prompt("a", tmp_path)
    _write(tmp_path, "b.md", "---\ndescription: d\nvariables:\n  x: 1\n  z: 2\n---\nHello {x}\n")
    with pytest.raises(PromptError, match=r"unused \['z'\]"):
        load_prompt("b", tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello {x}\n", "front-matter"),
        ("---\nvariables: {}\n---\nHello\n", "description"),
        ("---\ndescription: d\n---\n\n", "no template text"),
        ("---\ndescription: d\nvariables: [x]\n---\nHello {x}\n", "must map each variable"),
        ("---\ndescription: d\n---\nHello {x\n", "not a valid template"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, "bad.md", text)
    with pytest.raises(PromptError, match=message):
        load_prompt("bad", tmp_path)


def test_yaml_and_txt_prompts_load_too(tmp_path: Path) -> None:
    _write(tmp_path, "q.yaml", "description: y\nvariables:\n  who: Dana\ntemplate: Ask {who} first.\n")
    _write(tmp_path, "t.txt", "---\ndescription: t\nvariables: {}\n---\nNo variables here.\n")
    assert load_prompt("q", tmp_path).render(who="Dana") == "Ask Dana first."
    assert load_prompt("t", tmp_path).render() == "No variables here."
    assert list_prompts(tmp_path) == ["q", "t"]


def test_chat_pair_renders_to_our_messages(tmp_path: Path) -> None:
    _write(tmp_path, "coach.system.md", "---\ndescription: s\nvariables:\n  card: Ask permission\n---\nUse: {card}\n")
    _write(tmp_path, "coach.user.md", "---\ndescription: u\nvariables:\n  draft: d\n---\nDraft: {draft}\n")
    messages = chat_messages("coach", tmp_path, card="Ask permission", draft="Just do it.")
    assert messages == [Message("system", "Use: Ask permission"), Message("user", "Draft: Just do it.")]
    with pytest.raises(PromptError, match="needs variable 'card'"):
        chat_messages("coach", tmp_path, draft="x")


@pytest.mark.parametrize("name", ["../secrets", "/etc/passwd", "Upper", "", "a/b"])
def test_names_cannot_escape_the_prompts_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(PromptError, match="invalid prompt name"):
        load_prompt(name, tmp_path)


def test_a_missing_prompt_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(PromptError, match=r"no prompt named 'nope'.*nope\.md"):
        load_prompt("nope", tmp_path)


def test_an_edited_prompt_is_reloaded(tmp_path: Path) -> None:
    _write(tmp_path, "p.md", "---\ndescription: d\nvariables: {}\n---\nOne\n")
    assert load_prompt("p", tmp_path).render() == "One"
    path = tmp_path / "p.md"
    path.write_text("---\ndescription: d\nvariables: {}\n---\nTwo\n", encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_prompt("p", tmp_path).render() == "Two"


def test_variables_may_be_called_name_or_prompts_dir(tmp_path: Path) -> None:
    _write(tmp_path, "p.system.md", "---\ndescription: s\nvariables:\n  name: Sam\n---\nYou are {name}.\n")
    _write(tmp_path, "p.user.md", "---\ndescription: u\nvariables:\n  prompts_dir: x\n---\nSee {prompts_dir}.\n")
    messages = chat_messages("p", tmp_path, name="Sam", prompts_dir="here")
    assert [m.content for m in messages] == ["You are Sam.", "See here."]
    assert load_prompt("p.system", tmp_path).render(name="Ana") == "You are Ana."
