"""The OpenAI-compatible path over real HTTP: ``python -m llama_cpp.server`` with the bundled GGUF on
127.0.0.1, called through ChatOpenAI and the real ``openai`` client behind our interface."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coach.config import get_settings
from coach.errors import ModelError
from coach.llm import ChatModel, get_chat_model, system, user
from coach.llm_local import bundled_model_path
from tests.llm_servers import LlamaServer

pytestmark = pytest.mark.slow

SERVER_KEY = "llama-server-test-key"
ASK = [system("You are a helpful assistant. Answer in one short sentence."), user("Name one way to ask permission before giving advice.")]


@pytest.fixture(scope="module")
def llama_server() -> Iterator[LlamaServer]:
    server = LlamaServer(bundled_model_path(), api_key=SERVER_KEY, n_ctx=1024).start()
    try:
        yield server
    finally:
        server.stop()


def _remote(server: LlamaServer, monkeypatch: pytest.MonkeyPatch, **update: object) -> ChatModel:
    monkeypatch.setenv("COACH_OPENAI_API_KEY", SERVER_KEY)
    get_settings.cache_clear()
    values = {"provider": "openai", "openai_base_url": server.base_url, "model": server.alias,
              "max_tokens": 12, "max_retries": 1, "timeout": 120.0, "context_size": 1024, **update}
    return get_chat_model(get_settings().model_copy(update=values))


def test_complete_over_http(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _remote(llama_server, monkeypatch)
    answer = model.complete(ASK, seed=3)
    assert answer.text
    assert answer.finish_reason in ("stop", "length")
    assert not answer.usage.estimated and answer.usage.prompt_tokens > 10
    # max_tokens reached the server under a name it understands: the answer respects it.
    assert 1 <= answer.usage.completion_tokens <= 12
    assert answer.usage.model == "smollm2" and answer.usage.cost_usd is None  # not in the price table
    assert model.usage.calls == 1


def test_stream_over_http(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _remote(llama_server, monkeypatch)
    stream = model.stream(ASK, max_tokens=8, seed=3)
    pieces = list(stream)
    assert len(pieces) >= 2
    assert stream.completion.text == "".join(pieces).strip()
    assert stream.completion.finish_reason in ("stop", "length")
    assert stream.completion.usage.completion_tokens >= 1


def test_the_generic_openai_key_is_withheld_so_the_server_refuses(
    llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only OPENAI_API_KEY is set (even to the right value): it is not sent to a non-OpenAI host.
    monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
    get_settings.cache_clear()
    settings = get_settings().model_copy(
        update={"provider": "openai", "openai_base_url": llama_server.base_url, "model": llama_server.alias, "max_retries": 0}
    )
    with pytest.raises(ModelError, match=r"refused the API key \(HTTP 401\); set COACH_OPENAI_API_KEY"):
        get_chat_model(settings).complete(ASK)


def test_a_long_conversation_is_trimmed_with_tiktoken_budgets(llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch) -> None:
    model = _remote(llama_server, monkeypatch, context_size=400, max_tokens=8)
    history = [system("You are Sam.")] + [user(f"Update {i}: the release slipped again, what now? " * 3) for i in range(20)]
    answer = model.complete(history)
    assert any("dropped" in n for n in answer.notices)
    assert answer.text
