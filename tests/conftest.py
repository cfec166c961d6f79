"""Shared fixtures. Every test gets its own COACH_HOME under tmp_path, so nothing touches ~."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from coach.config import PROJECT_ROOT, Settings, get_settings

# Analytics of Chroma and Gradio stay off in the test process too (read at import time by both).
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Derived model files (the pre-folded embedding model) are built once per machine, not once per test
# home, and never in the user's ~/.cache: one folder under the system temp dir, shared by subprocesses.
os.environ.setdefault("COACH_MODEL_CACHE", str(Path(tempfile.gettempdir()) / "coach-test-model-cache"))

SHARED_DIR = PROJECT_ROOT.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(autouse=True)
def coach_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point COACH_HOME at a fresh temporary folder and reset the cached settings."""
    home = tmp_path / "coach-home"
    monkeypatch.setenv("COACH_HOME", str(home))
    for name in ("COACH_CHROMA_HOST", "COACH_PROVIDER", "OPENAI_API_KEY", "OPENAI_BASE_URL", "COACH_AUTH",
                 "COACH_OPENAI_API_KEY", "COACH_OPENAI_BASE_URL", "COACH_MODEL", "COACH_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def settings(coach_home: Path) -> Settings:
    """Settings read from the (test) environment."""
    return get_settings()


@pytest.fixture(scope="session")
def ingested_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A knowledge store with the bundled knowledge/ ingested once per test session (read-only use)."""
    from coach.knowledge import ingest

    home = tmp_path_factory.mktemp("ingested-home")
    ingest([PROJECT_ROOT / "knowledge"], Settings(home=home))
    return home


@pytest.fixture
def ingested_settings(ingested_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose knowledge store holds the bundled cards (a private copy per test)."""
    home = tmp_path / "home-with-knowledge"
    shutil.copytree(ingested_home, home)
    monkeypatch.setenv("COACH_HOME", str(home))
    get_settings.cache_clear()
    return get_settings()


def chromium_path() -> str | None:
    """Debian's chromium, when installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")
