"""The lowercase twins of rule regexes behave exactly like the originals."""

from __future__ import annotations

import re

import pytest

from coach.analyzer import fastre


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"\bI\s+Should\b", r"\bi\s+should\b"),
        (r"(?P<Verb>Call)\S+\W", r"(?P<Verb>call)\S+\W"),
        (r"[A-Z]+(?P=x)", r"[a-z]+(?P=x)"),
    ],
)
def test_lowercase_source_keeps_escapes_and_names(source: str, expected: str) -> None:
    assert fastre.lowercase_source(source) == expected


def test_leading_boundary_is_stripped_only_when_it_guards_everything() -> None:
    twin, stripped = fastre.fast_variant(re.compile(r"\byou\s+should", re.I))
    assert stripped and twin.pattern == r"you\s+should"
    twin, stripped = fastre.fast_variant(re.compile(r"\byou|should", re.I))
    assert not stripped and twin.pattern == r"\byou|should"
    assert fastre.fast_variant(re.compile(r"(?-i:You) should", re.I)) == (None, False)


@pytest.mark.parametrize(
    "text",
    ["Yours truly, you should go", "ayou should; you should", "_you should", "you\u00e9 should you should", ""],
)
def test_twin_finds_what_the_original_finds(text: str) -> None:
    original = re.compile(r"\byou\s+should\b", re.I)
    twin, boundary = fastre.fast_variant(original)
    expected = [m.span() for m in original.finditer(text)]
    got = [m.span() for m in fastre.finditer(twin, boundary, text.lower(), text, 0, len(text))]
    assert got == expected
    for pos in range(len(text)):
        want = original.match(text, pos)
        have = fastre.match(twin, boundary, text.lower(), text, pos, len(text))
        assert (want and want.span()) == (have and have.span())
