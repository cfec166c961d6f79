"""The retrieval eval's private store mirrors one knowledge folder, whatever else was synced before."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from coach.config import PROJECT_ROOT, Settings
from coach.vectorstore import open_collection
from evals.targets import retrieval_store


@dataclass
class Ctx:
    settings: Settings
    repeat: int = 0
    memo: dict = field(default_factory=dict)

    def shared(self, name, build):
        return self.memo.setdefault(name, build())


def _copy_cards(to: Path, names: list[str]) -> Path:
    (to / "principles").mkdir(parents=True)
    for name in names:
        shutil.copy(PROJECT_ROOT / "knowledge" / "principles" / f"{name}.md", to / "principles")
    return to


def test_two_checkouts_never_share_chunks(tmp_path: Path) -> None:
    """Two clones on one machine (same COACH_HOME) once doubled every card in one shared store."""
    first = _copy_cards(tmp_path / "clone-a" / "knowledge", ["ask-permission", "be-present"])
    second = _copy_cards(tmp_path / "clone-b" / "knowledge", ["ask-permission", "be-present"])
    home = tmp_path / "home"
    store_a = retrieval_store(Ctx(Settings(home=home, knowledge_dir=first)))
    store_b = retrieval_store(Ctx(Settings(home=home, knowledge_dir=second)))
    assert store_a.home != store_b.home and store_a.home.parent == store_b.home.parent == home / "cache" / "retrieval-store"
    ids_b = open_collection(store_b).get()["ids"]
    assert ids_b and all(i.startswith(str(second.resolve())) for i in ids_b)
    assert len(ids_b) == len(open_collection(store_a).get()["ids"])
    # Syncing the same folder again reuses its store and adds nothing.
    again = retrieval_store(Ctx(Settings(home=home, knowledge_dir=second)))
    assert again.home == store_b.home and len(open_collection(again).get()["ids"]) == len(ids_b)
