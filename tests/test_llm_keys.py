"""The API-key rule, proven with a server that records the Authorization header; keys never leak."""

from __future__ import annotations

import logging

import pytest

from coach.config import Settings, get_settings
from coach.errors import ModelError
from coach.llm import get_chat_model, user
from coach.llm_openai import PLACEHOLDER_KEY, choose_api_key
from tests.llm_servers import Reply, ScriptedServer, completion_body

OPENAI_KEY = "sk-generic-openai-key-0123456789"
COACH_KEY = "coach-server-key-abcdef"


def _authorization_sent() -> str:
    """One call with the process settings pointed at a recording server; the Authorization header it got."""
    get_settings.cache_clear()
    with ScriptedServer([Reply("json", body=completion_body("hi"))]) as server:
        update = {"provider": "openai", "openai_base_url": server.base_url, "max_retries": 0}
        get_chat_model(get_settings().model_copy(update=update)).complete([user("hi")])
    return server.requests[0].headers["authorization"]


def test_generic_openai_key_is_not_sent_to_another_host(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    with caplog.at_level(logging.WARNING, logger="coach"):
        assert _authorization_sent() == f"Bearer {PLACEHOLDER_KEY}"
    assert "set COACH_OPENAI_API_KEY" in caplog.text
    assert OPENAI_KEY not in caplog.text


def test_a_key_given_to_mentor_coach_is_sent_to_the_configured_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_OPENAI_API_KEY", COACH_KEY)
    assert _authorization_sent() == f"Bearer {COACH_KEY}"


def test_coach_key_wins_over_the_generic_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    monkeypatch.setenv("COACH_OPENAI_API_KEY", COACH_KEY)
    assert _authorization_sent() == f"Bearer {COACH_KEY}"


def test_no_key_sends_the_placeholder() -> None:
    assert _authorization_sent() == f"Bearer {PLACEHOLDER_KEY}"


def test_a_key_set_explicitly_in_settings_is_sent() -> None:
    settings = Settings(provider="openai", openai_api_key=COACH_KEY, max_retries=0)
    with ScriptedServer([Reply("json", body=completion_body("hi"))]) as server:
        get_chat_model(settings.model_copy(update={"openai_base_url": server.base_url})).complete([user("hi")])
    assert server.requests[0].headers["authorization"] == f"Bearer {COACH_KEY}"


def test_openai_itself_gets_the_generic_key_without_any_request() -> None:
    settings = Settings(openai_api_key=OPENAI_KEY)
    environ = {"OPENAI_API_KEY": OPENAI_KEY}
    assert choose_api_key(settings, environ).sent
    assert choose_api_key(settings.model_copy(update={"openai_base_url": "https://api.openai.com/v1/"}), environ).sent
    other = choose_api_key(settings.model_copy(update={"openai_base_url": "https://evil.example/v1"}), environ)
    assert not other.sent and other.key == PLACEHOLDER_KEY and "evil.example" in other.reason
    # A look-alike host is not OpenAI.
    assert not choose_api_key(settings.model_copy(update={"openai_base_url": "https://api.openai.com.evil.example/v1"}), environ).sent


def test_the_environment_base_url_is_never_used_behind_the_settings_back(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer([Reply("json", body=completion_body("hi"))]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        settings = Settings(provider="openai", openai_api_key=OPENAI_KEY, openai_base_url=None, max_retries=0)
        model = get_chat_model(settings)
        assert "api.openai.com" in model.where  # the settings say OpenAI, so OpenAI it is
        assert not server.requests


def test_keys_never_appear_in_logs_reprs_or_errors(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("COACH_OPENAI_API_KEY", COACH_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", OPENAI_KEY)
    get_settings.cache_clear()
    replies = [Reply("json", body=completion_body("hi")), Reply("json", 401, {"error": {"message": "invalid key"}})]
    with caplog.at_level(logging.DEBUG), ScriptedServer(replies) as server:
        settings = get_settings().model_copy(update={"provider": "openai", "openai_base_url": server.base_url, "max_retries": 0})
        model = get_chat_model(settings)
        model.complete([user("hi")])
        with pytest.raises(ModelError) as failure:
            model.complete([user("hi")])
        stream_model = get_chat_model(settings)
        with pytest.raises(ModelError):
            list(stream_model.stream([user("hi")]))
    assert server.requests[0].headers["authorization"] == f"Bearer {COACH_KEY}"
    texts = [caplog.text, repr(settings), str(settings), repr(model), str(failure.value), repr(choose_api_key(settings))]
    texts += [str(settings.model_dump()), settings.model_dump_json()]
    for text in texts:
        assert COACH_KEY not in text and OPENAI_KEY not in text
