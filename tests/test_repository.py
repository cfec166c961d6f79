"""The repository itself: nothing the code imports may be hidden from a clean clone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("coach", "ui", "evals", "tests", "benchmarks", "scripts", "prompts", "knowledge")


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_source_file_is_ignored_by_git() -> None:
    """A .gitignore pattern such as 'reports/' once hid evals/reports/ from clean clones and broke CI."""
    files = [
        str(path.relative_to(ROOT))
        for folder in SOURCE_DIRS
        for path in (ROOT / folder).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix not in {".pyc"}
    ]
    result = _git("check-ignore", "--no-index", *files)
    ignored = [line for line in result.stdout.splitlines() if line.strip()]
    assert ignored == [], f"git ignores source files a clean clone would then lack: {ignored}"
