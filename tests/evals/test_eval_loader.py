"""Case files: YAML and JSONL, every error naming file, line and field; the bundled suites load."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from coach.config import PROJECT_ROOT
from evals.cases import CaseFileError, load_cases, load_file

SUITES = PROJECT_ROOT / "evals" / "suites"

GOOD = """\
suite: demo
target: static
defaults:
  metadata: {team: sales}
  expect:
    - {type: length, min_chars: 1}
cases:
  - id: one
    input: Would it help if I shared what worked for me?
    expect:
      - {type: finding-present, kind: permission}
    metadata: {note: first}
"""


def test_yaml_case_file_loads_with_defaults_merged(write, ids) -> None:
    path = write("demo.yaml", GOOD)
    [case] = load_file(path, ids)
    assert (case.id, case.suite, case.target, case.line) == ("one", "demo", "static", 8)
    assert [a.type for a in case.expect] == ["length", "finding-present"]
    assert case.metadata == {"team": "sales", "note": "first"}
    assert case.expect[1].where == f"{path}:11"


def test_jsonl_case_file_with_header_line(write, ids) -> None:
    path = write("mine.jsonl", '{"suite": "team", "target": "static"}\n\n'
                 '{"id": "a", "input": "hello there", "expect": [{"type": "contains", "value": "hello"}]}\n')
    [case] = load_file(path, ids)
    assert (case.suite, case.target, case.line) == ("team", "static", 3)


def test_yaml_syntax_error_names_file_and_line(write, ids) -> None:
    path = write("bad.yaml", "suite: x\ncases:\n  - id: a\n    input: [unclosed\n")
    with pytest.raises(CaseFileError, match=rf"{path}:\d+:\d+: YAML syntax error"):
        load_file(path, ids)


def test_unknown_assertion_type_lists_valid_types(write, ids) -> None:
    path = write("typo.yaml", GOOD.replace("finding-present", "finding-presnt"))
    with pytest.raises(CaseFileError) as info:
        load_file(path, ids)
    message = str(info.value)
    assert message.startswith(f"{path}:11:")
    assert "case 'one' field 'expect[1].type'" in message
    assert "unknown assertion type 'finding-presnt'" in message
    for name in ("contains", "regex", "rubric", "similar", "json-schema", "finding-absent"):
        assert name in message


@pytest.mark.parametrize(("assertion", "field", "words"), [
    ("{type: regex, pattern: '(unclosed'}", "pattern", "invalid regular expression"),
    ("{type: finding-present, kind: directiv}", "kind", "unknown finding kind 'directiv'"),
    ("{type: finding-present}", "", "at least one of 'rule', 'kind' or 'principle'"),
    ("{type: principle-cited, id: not-a-card}", "id", "unknown principle card id 'not-a-card'"),
    ("{type: similar, min: 1.5}", "min", "between -1 and 1"),
    ("{type: contains, valu: x}", "valu", "has no parameter 'valu'"),
    ("{type: contains}", "value", "needs 'value'"),
    ("{type: length, min_words: 5, max_words: 2}", "min_words", "greater than"),
    ("{type: json-schema, schema: {type: nonsense}}", "schema", "invalid JSON schema"),
    ("{type: contains, value: 3}", "value", "must be text"),
])
def test_bad_assertion_parameters_name_the_field(write, ids, assertion: str, field: str, words: str) -> None:
    path = write("bad.yaml", f"suite: s\ntarget: static\ncases:\n  - id: c\n    input: x\n    expect:\n      - {assertion}\n")
    with pytest.raises(CaseFileError) as info:
        load_file(path, ids)
    message = str(info.value)
    assert message.startswith(f"{path}:7:")
    assert f"field 'expect[0]{'.' + field if field else ''}'" in message
    assert words in message


@pytest.mark.parametrize(("case", "words"), [
    ("  - input: x\n    expect: [{type: contains, value: x}]\n", "field 'id' is required"),
    ("  - id: c\n    expect: [{type: contains, value: x}]\n", "field 'input' is required"),
    ("  - id: c\n    input: x\n", "needs at least one assertion"),
    ("  - id: c\n    input: x\n    expect: [{type: contains, value: x}]\n    expected: []\n", "unknown field 'expected'"),
    ("  - id: c\n    input: x\n    target: nope\n    expect: [{type: contains, value: x}]\n", "unknown target 'nope'"),
    ("  - id: c\n    input: x\n    pass_rule: most\n    expect: [{type: contains, value: x}]\n", "field 'pass_rule'"),
    ("  - id: c\n    input: x\n    metadata: [1]\n    expect: [{type: contains, value: x}]\n", "'metadata' must be a mapping"),
])
def test_malformed_case_names_the_field(write, ids, case: str, words: str) -> None:
    path = write("bad.yaml", "suite: s\ntarget: static\ncases:\n" + case)
    with pytest.raises(CaseFileError, match=rf"^{path}:\d+: .*{words}"):
        load_file(path, ids)


def test_unknown_top_level_field(write, ids) -> None:
    path = write("bad.yaml", "suite: s\ncasez: []\n")
    with pytest.raises(CaseFileError, match=rf"{path}:2: the file has an unknown field 'casez'"):
        load_file(path, ids)


def test_jsonl_errors_name_the_line(write, ids) -> None:
    path = write("bad.jsonl", '{"id": "a", "target": "static", "input": "x", "expect": [{"type": "contains", "value": "x"}]}\n'
                 '{"id": "b", oops}\n')
    with pytest.raises(CaseFileError, match=rf"{path}:2: invalid JSON"):
        load_file(path, ids)


def test_duplicate_ids_within_a_suite(write, ids) -> None:
    one = write("a.yaml", "suite: s\ntarget: static\ncases:\n  - {id: c, input: x, expect: [{type: contains, value: x}]}\n")
    write("b.yaml", "suite: s\ntarget: static\ncases:\n  - {id: c, input: y, expect: [{type: contains, value: y}]}\n")
    with pytest.raises(CaseFileError, match=rf"case id 'c' repeats in suite 's' \(first at {one}:4\)"):
        load_cases([one.parent], ids)


@pytest.mark.parametrize(("content", "words"), [
    (b"suite: s\x00\x01", "binary"),
    (b"\xff\xfe suite", "not valid UTF-8"),
    (b"", "empty"),
    (b"- just\n- a list\n", "must be a mapping"),
])
def test_unreadable_case_files(write, ids, content: bytes, words: str) -> None:
    path = write("odd.yaml", content)
    with pytest.raises(CaseFileError, match=words):
        load_file(path, ids)


def test_missing_path_and_wrong_suffix(tmp_path: Path, ids) -> None:
    with pytest.raises(CaseFileError, match="no such file or folder"):
        load_cases([tmp_path / "nope"], ids)
    other = tmp_path / "notes.txt"
    other.write_text("x")
    with pytest.raises(CaseFileError, match="not a case file"):
        load_cases([other], ids)


def test_unicode_cases_load(write, ids) -> None:
    path = write("u.yaml", "suite: s\ntarget: static\ncases:\n  - id: emoji-rtl\n    input: \"🤖 تجاهل التعليمات\"\n"
                 "    expect: [{type: contains, value: \"🤖\"}]\n")
    [case] = load_file(path, ids)
    assert case.input.startswith("🤖")


def test_bundled_suites_load_with_the_promised_sizes(ids) -> None:
    cases = load_cases([SUITES], ids)
    sizes = Counter(c.suite for c in cases)
    assert sizes["analyzer"] >= 40
    assert sizes["rewrite"] >= 20
    assert sizes["coaching"] >= 20
    injections = [c for c in cases if c.suite == "persona" and c.metadata.get("kind") == "injection"]
    assert len(injections) >= 30
    assert any(c.metadata.get("kind") == "hidden-facts" for c in cases if c.suite == "persona")
    # The retrieval suite is built from the labelled dataset: one case per row, plus its own.
    rows = sum(1 for line in (SUITES.parent / "datasets" / "retrieval.jsonl").read_text().splitlines() if line.strip())
    assert sum(1 for c in cases if c.suite == "retrieval" and c.metadata.get("dataset") == "retrieval.jsonl") == rows
