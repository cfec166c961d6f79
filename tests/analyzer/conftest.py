"""Fixtures of the analyzer tests: the bundled rule set, and a writable copy of it for broken-rule tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coach.analyzer.rules import RuleSet, load_rules, read_principle_ids
from coach.config import PROJECT_ROOT

KNOWLEDGE = PROJECT_ROOT / "knowledge"


@pytest.fixture(scope="session")
def rules() -> RuleSet:
    """The bundled rules, loaded once per test session."""
    return load_rules(KNOWLEDGE / "rules", read_principle_ids(KNOWLEDGE))


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    """A private copy of knowledge/rules/ that a test may break."""
    target = tmp_path / "rules"
    shutil.copytree(KNOWLEDGE / "rules", target)
    return target


@pytest.fixture(scope="session")
def principle_ids() -> frozenset[str]:
    """Card ids from knowledge/principles/IDS.txt."""
    return read_principle_ids(KNOWLEDGE)
