"""Every principle card follows the schema, ids are unique, and every seed document is covered."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.cards import load_cards, parse_card
from coach.config import PROJECT_ROOT
from coach.errors import UsageError

CARDS_DIR = PROJECT_ROOT / "knowledge" / "principles"
SEEDS = ["000_c245be68278ff950.txt", "001_e2b6fbc3eecbbff9.txt", "002_6e9827b75336178b.txt",
         "003_bd19be49e2541075.txt", "004_46263e9c4204501e.txt"]


def test_every_card_parses_with_required_fields() -> None:
    cards = load_cards(CARDS_DIR)
    assert 30 <= len(cards) <= 45
    for card in cards:
        assert card.source.file in SEEDS, f"{card.id}: unknown seed {card.source.file}"
        assert len(card.sounds_like) >= 3 and len(card.not_like) >= 3
        assert set(card.applies_to) <= {"mentor", "mentee"}


def test_ids_are_unique_and_match_the_list() -> None:
    cards = load_cards(CARDS_DIR)
    ids = [c.id for c in cards]
    assert len(ids) == len(set(ids))
    listed = [line.strip() for line in (CARDS_DIR / "IDS.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert sorted(listed) == sorted(ids)


def test_all_five_seed_documents_are_covered() -> None:
    used = {c.source.file for c in load_cards(CARDS_DIR)}
    assert used == set(SEEDS)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    source = next(CARDS_DIR.glob("*.md"))
    (tmp_path / "a").mkdir()
    copy = tmp_path / "a" / source.name
    copy.write_text(source.read_text())
    (tmp_path / "a" / "other.md").write_text(source.read_text().replace(f"id: {source.stem}", "id: other", 1))
    cards = load_cards(tmp_path / "a")
    assert {c.id for c in cards} == {source.stem, "other"}
    # Same id in two files: named in the error.
    (tmp_path / "a" / "other.md").write_text(source.read_text())
    with pytest.raises(UsageError, match="must match the file name|duplicate"):
        load_cards(tmp_path / "a")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("no front matter here", "no YAML front matter"),
        ("---\nid: [unclosed\n---\nbody", "not valid YAML at line"),
        ("---\nid: x\ntitle: Hi there\n---\n" + "body " * 20, "summary"),
    ],
)
def test_bad_card_names_file_and_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.md"
    path.write_text(content)
    with pytest.raises(UsageError) as info:
        parse_card(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)
