"""``coach critique`` end to end through coach.cli.main: formats, exit codes, --fix, bad input."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from coach.cli import main
from coach.config import get_settings


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


@pytest.fixture
def draft(tmp_path: Path) -> Path:
    path = tmp_path / "draft.txt"
    path.write_text("Thanks for asking.\nYou should call her first.\n", encoding="utf-8")
    return path


def test_warnings_only_exit_zero(draft: Path, capsys) -> None:
    assert main(["critique", str(draft), "--no-behaviour"]) == 0
    out = capsys.readouterr().out
    assert f"{draft}:2:1: warning [directive-should]" in out
    assert f"{draft}:2:1: warning [advice-unasked]" in out


def test_error_level_finding_exits_one(tmp_path: Path, capsys) -> None:
    path = tmp_path / "harsh.txt"
    path.write_text("Stop whining and suck it up.", encoding="utf-8")
    assert main(["critique", str(path), "--no-behaviour"]) == 1
    # --min-level hides lower findings but never changes the exit code rule.
    assert main(["critique", str(path), "--no-behaviour", "--min-level", "error"]) == 1
    assert "[judgmental-dismissive]" in capsys.readouterr().out


def test_min_level_filters_output(draft: Path, capsys) -> None:
    draft.write_text("How are you? You should call her.", encoding="utf-8")
    main(["critique", str(draft), "--no-behaviour", "--format", "json"])
    all_levels = {f["level"] for f in json.loads(capsys.readouterr().out)["findings"]}
    main(["critique", str(draft), "--no-behaviour", "--format", "json", "--min-level", "warning"])
    warned = {f["level"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert "suggestion" in all_levels and warned == {"warning"}


def test_stdin_and_json(monkeypatch, capsys) -> None:
    _stdin(monkeypatch, "Can I offer an idea? You should call her first.".encode())
    assert main(["critique", "-", "--format", "json", "--no-behaviour"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["file"] == "stdin" and data["permission_asked"] is True
    assert "advice-unasked" not in {f["rule"] for f in data["findings"]}


def test_permission_asked_flag(draft: Path, capsys) -> None:
    main(["critique", str(draft), "--no-behaviour", "--permission-asked"])
    assert "advice-unasked" not in capsys.readouterr().out


def test_sarif_output(draft: Path, capsys) -> None:
    assert main(["critique", str(draft), "--format", "sarif"]) == 0
    log = json.loads(capsys.readouterr().out)
    assert log["version"] == "2.1.0"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in log["runs"][0]["results"]}
    assert uris == {draft.as_posix()}


def test_fix_to_stdout_with_diff_on_stderr(draft: Path, capsys) -> None:
    assert main(["critique", str(draft), "--fix"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "Thanks for asking.\nOne thing that worked for me was to call her first.\n"
    assert "-You should call her first.\n+One thing that worked for me was to call her first.\n" in captured.err
    assert draft.read_text(encoding="utf-8").startswith("Thanks for asking.\nYou should")


def test_fix_write_in_place(draft: Path, capsys) -> None:
    assert main(["critique", str(draft), "--fix", "--write"]) == 0
    assert draft.read_text(encoding="utf-8") == "Thanks for asking.\nOne thing that worked for me was to call her first.\n"
    out = capsys.readouterr().out
    assert out.startswith(f"--- {draft}\n+++ {draft} (fixed)\n")
    assert not list(draft.parent.glob(".draft.txt.*"))  # no temp file left behind


def test_fix_keeps_error_exit_when_errors_remain(tmp_path: Path, capsys) -> None:
    path = tmp_path / "x.txt"
    path.write_text("You should call her. Suck it up.", encoding="utf-8")
    assert main(["critique", str(path), "--fix"]) == 1
    assert "1 error-level finding remain" in capsys.readouterr().err


def test_fix_keeps_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes("\ufeffYou should call her.".encode())
    assert main(["critique", str(path), "--fix", "--write"]) == 0
    assert path.read_bytes() == "\ufeffOne thing that worked for me was to call her.".encode()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--write"], "--write only makes sense with --fix"),
        (["--fix", "--write", "-"], "--write needs a FILE"),
    ],
)
def test_usage_errors(argv, message, capsys) -> None:
    assert main(["critique", *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_file_and_directory(tmp_path: Path, capsys) -> None:
    assert main(["critique", str(tmp_path / "nope.txt")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["critique", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like a binary file"),
        (b"You should call her \xff\xfe first.", "is not valid UTF-8 text (byte 0xff at offset 20)"),
        (b"", "nothing to critique: stdin is empty"),
        (b"  \n\t \r\n", "nothing to critique: stdin is only whitespace"),
    ],
)
def test_bad_stdin(monkeypatch, capsys, data: bytes, message: str) -> None:
    _stdin(monkeypatch, data)
    assert main(["critique", "-", "--no-behaviour"]) == 2
    assert message in capsys.readouterr().err


def test_binary_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "blob.bin"
    path.write_bytes(bytes(range(256)))
    assert main(["critique", str(path)]) == 2
    assert "binary" in capsys.readouterr().err


def test_text_over_the_limit_is_refused_with_the_limit(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "big.txt"
    path.write_text("You should call her. " * 50_000, encoding="utf-8")  # about 1 MB
    assert main(["critique", str(path), "--no-behaviour"]) == 2
    assert f"limit of {get_settings().max_analyze_chars} characters" in capsys.readouterr().err
    monkeypatch.setenv("COACH_MAX_ANALYZE_CHARS", "500")
    get_settings.cache_clear()
    path.write_text("\U0001F600" * 400 + "x" * 101, encoding="utf-8")  # 501 characters, 1701 bytes
    assert main(["critique", str(path), "--no-behaviour"]) == 2
    assert "has 501 characters, over the analyzer limit of 500" in capsys.readouterr().err


def test_emoji_and_rtl_file(tmp_path: Path, capsys) -> None:
    path = tmp_path / "mixed.txt"
    path.write_text("\u05e9\u05dc\u05d5\u05dd \U0001F44B\nYou must call her.", encoding="utf-8")
    assert main(["critique", str(path), "--no-behaviour"]) == 0
    assert f"{path}:2:1: warning [directive-need-to]" in capsys.readouterr().out


def test_terminal_stdin_is_refused_instead_of_waiting(monkeypatch, capsys) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal(""))
    assert main(["critique"]) == 2
    assert "no input: give a FILE" in capsys.readouterr().err


def test_sarif_uri_is_percent_encoded(tmp_path: Path, capsys) -> None:
    path = tmp_path / "my draft.txt"
    path.write_text("You must call her.", encoding="utf-8")
    assert main(["critique", str(path), "--format", "sarif"]) == 0
    result = json.loads(capsys.readouterr().out)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("/my%20draft.txt")
