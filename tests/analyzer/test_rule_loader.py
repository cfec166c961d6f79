"""Loading rule files: schema validation, and errors that name the file, the line and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coach.analyzer.rules import RuleFileError, load_rules
from coach.analyzer.yamlsrc import load_yaml

GOOD_RULE = """\
rules:
  - id: sample-rule
    principle: first-person-story
    level: warning
    kind: directive
    polarity: bad
    message: Says "you should" (first-person-story); share your experience instead.
    patterns:
      - '\\byou\\s+should\\b'
    examples:
      match: [You should go.]
      no_match: [I should go.]
"""


def _write(rules_copy: Path, name: str, text: str) -> Path:
    path = rules_copy / name
    path.write_text(text, encoding="utf-8")
    return path


def _load(rules_copy: Path, principle_ids: frozenset[str]):
    return load_rules(rules_copy, principle_ids)


def test_bundled_rules_load_with_unique_ids(rules) -> None:
    ids = [r.id for r in rules.rules]
    assert len(ids) == len(set(ids)) and len(ids) >= 30


def test_a_valid_extra_file_is_loaded(rules_copy: Path, principle_ids) -> None:
    _write(rules_copy, "zz_extra.yaml", GOOD_RULE)
    loaded = _load(rules_copy, principle_ids)
    assert loaded.by_id("sample-rule").source == "zz_extra.yaml:2"


def test_yaml_syntax_error_names_file_and_line(rules_copy: Path, principle_ids) -> None:
    broken = GOOD_RULE.replace("    level: warning\n", "    level: [warning\n")
    path = _write(rules_copy, "zz_broken.yaml", broken)
    with pytest.raises(RuleFileError) as info:
        _load(rules_copy, principle_ids)
    message = str(info.value)
    assert message.startswith(f"{path}:")
    line = int(re.match(re.escape(str(path)) + r":(\d+)", message).group(1))
    assert 5 <= line <= 7  # the unclosed bracket opens on line 5; PyYAML reports where it notices
    assert "YAML syntax error" in message


def test_syntax_error_in_a_bundled_file_is_reported(rules_copy: Path, principle_ids) -> None:
    path = rules_copy / "directives.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[12] = lines[12] + " : : ["  # break line 13
    path.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(RuleFileError, match=re.escape(str(path)) + r":\d+:\d+: YAML syntax error"):
        _load(rules_copy, principle_ids)


@pytest.mark.parametrize(
    ("old", "new", "line", "expected"),
    [
        ("level: warning", "level: warn", 4, "field 'level' must be one of suggestion, warning, error; got 'warn'"),
        ("kind: directive", "kind: bossy", 5, "field 'kind' must be one of"),
        ("polarity: bad", "polarity: awful", 6, "field 'polarity' must be one of good, bad, neutral"),
        ("principle: first-person-story", "principle: no-such-card", 3, "'no-such-card' is not a card id"),
        ("    examples:", "    colour: red\n    examples:", 10, "unknown field 'colour'"),
        ("'\\byou\\s+should\\b'", "'\\byou(\\s+should'", 9, "field 'patterns' item 1: invalid regex"),
        ("'\\byou\\s+should\\b'", "'x?'", 9, "matches the empty string"),
        ("id: sample-rule", "id: Sample Rule", 2, "field 'id' must be lowercase words"),
        ("      no_match: [I should go.]\n", "", 10, "needs at least one 'match' and one 'no_match' example"),
        ("    message: Says", "    message: 42\n    title: Says", 7, "field 'message' must be a non-empty string"),
    ],
)
def test_bad_field_names_file_line_and_field(rules_copy: Path, principle_ids, old, new, line, expected) -> None:
    assert old in GOOD_RULE
    path = _write(rules_copy, "zz_bad.yaml", GOOD_RULE.replace(old, new))
    with pytest.raises(RuleFileError) as info:
        _load(rules_copy, principle_ids)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: rule "), message
    assert expected in message


def test_missing_required_field(rules_copy: Path, principle_ids) -> None:
    path = _write(rules_copy, "zz_bad.yaml", GOOD_RULE.replace("    level: warning\n", ""))
    with pytest.raises(RuleFileError, match=re.escape(f"{path}:2: rule 'sample-rule': missing required field 'level'")):
        _load(rules_copy, principle_ids)


def test_duplicate_rule_id_across_files(rules_copy: Path, principle_ids) -> None:
    path = _write(rules_copy, "zz_dup.yaml", GOOD_RULE.replace("sample-rule", "directive-should"))
    with pytest.raises(RuleFileError, match=re.escape(f"{path}:2: rule 'directive-should': duplicate id")):
        _load(rules_copy, principle_ids)


def test_duplicate_yaml_key_is_an_error(rules_copy: Path, principle_ids) -> None:
    path = _write(rules_copy, "zz_dupkey.yaml", GOOD_RULE.replace("    level: warning\n", "    level: warning\n    level: error\n"))
    with pytest.raises(RuleFileError, match=re.escape(f"{path}:5:") + ".*duplicate key 'level'"):
        _load(rules_copy, principle_ids)


def test_unknown_guard_is_named(rules_copy: Path, principle_ids) -> None:
    text = GOOD_RULE.replace("    examples:", "    unless: [quoted, no-such-guard]\n    examples:")
    path = _write(rules_copy, "zz_guard.yaml", text)
    with pytest.raises(RuleFileError, match=re.escape(f"{path}:10: rule 'sample-rule': field 'unless' names unknown guard 'no-such-guard'")):
        _load(rules_copy, principle_ids)


def test_fix_template_must_use_existing_groups(rules_copy: Path, principle_ids) -> None:
    text = GOOD_RULE.replace("    examples:", "    fix: one thing that worked for me was to {verb}\n    examples:")
    path = _write(rules_copy, "zz_fix.yaml", text)
    with pytest.raises(RuleFileError, match=re.escape(f"{path}:9: rule 'sample-rule': field 'fix' uses {{verb}}")):
        _load(rules_copy, principle_ids)


def test_file_without_rules_key(rules_copy: Path, principle_ids) -> None:
    path = _write(rules_copy, "zz_empty.yaml", "- just a list\n")
    with pytest.raises(RuleFileError, match=re.escape(str(path)) + ":1: a rule file must hold exactly one key"):
        _load(rules_copy, principle_ids)


def test_guard_file_errors_name_the_guard(rules_copy: Path, principle_ids) -> None:
    path = rules_copy / "_guards.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("scope: before", "scope: behind", 1), encoding="utf-8")
    with pytest.raises(RuleFileError, match=re.escape(str(path)) + r":\d+: guard 'story-frame': field 'scope'"):
        _load(rules_copy, principle_ids)


def test_non_utf8_rule_file(rules_copy: Path, principle_ids) -> None:
    path = rules_copy / "zz_latin1.yaml"
    path.write_bytes(GOOD_RULE.replace("Says", "Sa\xefs").encode("latin-1"))
    with pytest.raises(RuleFileError, match=re.escape(str(path)) + ": rule file is not valid UTF-8"):
        _load(rules_copy, principle_ids)


def test_missing_rules_directory(tmp_path: Path, principle_ids) -> None:
    with pytest.raises(RuleFileError, match="rules directory not found"):
        load_rules(tmp_path / "nowhere", principle_ids)


def test_yaml_loader_keeps_lines(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a:\n  - 1\n  - 2\nb: x\n", encoding="utf-8")
    data = load_yaml(path)
    assert data.line_of("b") == 4 and data["a"].line_of(1) == 3


def test_cli_reports_a_broken_rule_file(rules_copy: Path, monkeypatch, capsys) -> None:
    from coach.cli import main
    from coach.config import PROJECT_ROOT, get_settings

    _write(rules_copy, "zz_broken.yaml", GOOD_RULE.replace("level: warning", "level: [warning"))
    knowledge = rules_copy.parent / "knowledge"
    (knowledge / "principles").mkdir(parents=True)
    rules_copy.rename(knowledge / "rules")
    ids = (PROJECT_ROOT / "knowledge" / "principles" / "IDS.txt").read_text(encoding="utf-8")
    (knowledge / "principles" / "IDS.txt").write_text(ids, encoding="utf-8")
    monkeypatch.setenv("COACH_KNOWLEDGE_DIR", str(knowledge))
    get_settings.cache_clear()
    text_file = rules_copy.parent / "draft.txt"
    text_file.write_text("You should call her.", encoding="utf-8")
    assert main(["critique", str(text_file), "--no-behaviour"]) == 1
    err = capsys.readouterr().err
    assert f"{knowledge / 'rules' / 'zz_broken.yaml'}:" in err and "YAML syntax error" in err
