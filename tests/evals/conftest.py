"""Helpers of the eval-framework tests: write case files, principle ids of the bundled knowledge."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.config import PROJECT_ROOT
from evals.targets import knowledge_ids


@pytest.fixture(scope="session")
def ids() -> frozenset[str]:
    """Principle card ids of the bundled knowledge folder."""
    return knowledge_ids(PROJECT_ROOT / "knowledge")


@pytest.fixture
def write(tmp_path: Path):
    """write(name, text) -> path of a new file under tmp_path."""
    def make(name: str, text: str | bytes) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path
    return make
