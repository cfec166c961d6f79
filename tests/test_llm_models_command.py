"""``coach models``: shows the active model and settings, never the key; ``--check`` makes one real call."""

from __future__ import annotations

import json

import pytest

from coach.cli import main
from coach.config import get_settings
from tests.llm_servers import Reply, ScriptedServer, completion_body
from tests.servers import free_port

KEY = "sk-do-not-print-me-42"


def test_models_lists_the_local_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    coach, grader = json.loads(capsys.readouterr().out)
    assert coach["provider"] == "local" and coach["bundled"] is True
    assert coach["model"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert grader["role"] == "grader" and coach["context_size"] == get_settings().context_size


def test_models_never_prints_the_key_and_says_whether_it_is_sent(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COACH_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("COACH_MODEL", "llama3")
    get_settings.cache_clear()
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert KEY not in out
    assert "coach: openai / llama3" in out and "OPENAI_API_KEY is not sent to 127.0.0.1:9" in out


def test_models_check_calls_the_server(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer([Reply("json", body=completion_body("Ready"))]) as server:
        monkeypatch.setenv("COACH_PROVIDER", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        get_settings.cache_clear()
        assert main(["models", "--check"]) == 0
    assert "check: answered 'Ready'" in capsys.readouterr().out
    assert len(server.requests) == 1


def test_models_check_reports_an_unreachable_server(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COACH_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    monkeypatch.setenv("COACH_MAX_RETRIES", "0")
    get_settings.cache_clear()
    assert main(["models", "--check"]) == 1
    assert "connection refused" in capsys.readouterr().err
