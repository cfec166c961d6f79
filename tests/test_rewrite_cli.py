"""``coach rewrite [FILE|-] [--json] [--stream]``: output formats, exit codes and bad input."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from coach.cli import main
from coach.config import Settings
from tests.llm_servers import ScriptedServer, stream_reply

DRAFT = "You should call Dana before Friday."


def _stdin(monkeypatch: pytest.MonkeyPatch, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))


def test_text_output_has_rewrite_checklist_path_and_cards(monkeypatch, capsys, settings: Settings) -> None:
    _stdin(monkeypatch, DRAFT.encode())
    assert main(["rewrite", "--no-model"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert "call Dana before Friday" in first and "should" not in first
    assert "Path: fallback" in out
    assert out.count("[x]") == 9 and "[ ]" not in out
    assert "first-person-story: Give advice as your own story" in out


def test_json_output_is_the_result(tmp_path: Path, capsys, settings: Settings) -> None:
    draft = tmp_path / "draft.txt"
    draft.write_text("\ufeff" + DRAFT, encoding="utf-8")  # a BOM is not part of the draft
    assert main(["rewrite", str(draft), "--json", "--no-model"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["verified"] is True and data["path"] == "fallback" and data["draft"] == DRAFT
    assert [c["name"] for c in data["checklist"]][:5] == [
        "asks_permission", "first_person", "no_directives", "meaning_kept", "specifics_kept"]
    assert {"id", "title", "summary", "cited", "score"} <= set(data["cards"][0])
    assert data["pieces"][0]["content"] == "call Dana before Friday"


def test_stream_json_prints_one_event_per_line(monkeypatch, capsys, settings: Settings) -> None:
    with ScriptedServer([stream_reply(["I called Dana before Friday, ", "so there were no surprises."])]) as server:
        monkeypatch.setenv("COACH_PROVIDER", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("COACH_MODEL", "test-model")
        from coach.config import get_settings

        get_settings.cache_clear()
        _stdin(monkeypatch, DRAFT.encode())
        assert main(["rewrite", "--stream", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    types = [e["type"] for e in events]
    assert types[-1] == "result" and "token" in types and "piece_done" in types
    assert events[-1]["result"]["path"] == "model" and events[-1]["result"]["verified"]
    assert "".join(e["text"] for e in events if e["type"] == "token") == \
        "I called Dana before Friday, so there were no surprises."


def test_stream_text_keeps_drafts_off_stdout(monkeypatch, capsys, settings: Settings) -> None:
    with ScriptedServer([stream_reply(["You should call Dana."]), stream_reply(["I called Dana before Friday, so it went well."])]) as server:
        monkeypatch.setenv("COACH_PROVIDER", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        from coach.config import get_settings

        get_settings.cache_clear()
        _stdin(monkeypatch, DRAFT.encode())
        assert main(["rewrite", "--stream"]) == 0
    captured = capsys.readouterr()
    assert "You should call Dana." in captured.err and "attempt 1 failed" in captured.err
    assert "You should call Dana." not in captured.out  # the rejected attempt never reaches the result
    assert "I called Dana before Friday, so it went well." in captured.out.splitlines()[0]
    assert "Path: model-repaired" in captured.out


@pytest.mark.parametrize(("data", "message"), [
    (b"", "the draft is empty"),
    (b"  \n\t\n", "contains only whitespace"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    (b"You should call Dana \xff\xfe before Friday.", "not valid UTF-8 text (byte 0xff at offset 21)"),
])
def test_bad_input_exits_2_with_a_clear_message(monkeypatch, capsys, settings: Settings, data: bytes, message: str) -> None:
    _stdin(monkeypatch, data)
    assert main(["rewrite", "--no-model"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_100_kb_draft_is_refused_naming_the_limit(tmp_path: Path, capsys, settings: Settings) -> None:
    big = tmp_path / "big.txt"
    big.write_text("You should call Dana before Friday. " * 2900, encoding="utf-8")  # about 100 KB
    assert main(["rewrite", str(big), "--no-model"]) == 2
    err = capsys.readouterr().err
    assert "limit of 20,000 characters (COACH_MAX_DRAFT_CHARS)" in err


def test_draft_just_over_the_limit_is_refused_by_the_rewriter(tmp_path: Path, capsys, settings: Settings) -> None:
    over = tmp_path / "over.txt"
    over.write_text("a" * 20_001, encoding="utf-8")
    assert main(["rewrite", str(over), "--no-model"]) == 2
    assert "20,001 characters, over the limit of 20,000" in capsys.readouterr().err


def test_missing_file_and_directory(tmp_path: Path, capsys, settings: Settings) -> None:
    assert main(["rewrite", str(tmp_path / "nope.txt")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main(["rewrite", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
