"""Faults of an OpenAI-compatible server, over real HTTP on 127.0.0.1: each ends in a clear ModelError
or a successful retry, never a crash or a silent empty answer."""

from __future__ import annotations

import pytest

from coach.config import Settings
from coach.errors import ModelError
from coach.llm import ChatModel, get_chat_model, user
from tests.llm_servers import Reply, ScriptedServer, completion_body, stream_reply
from tests.servers import free_port

ASK = [user("Say hello to Dana.")]
FAST_RETRY = {"retry-after-ms": "10"}  # the openai client honours it: retries without slow test sleeps


def _model(url: str, *, retries: int = 2, timeout: float = 5.0) -> ChatModel:
    settings = Settings(provider="openai", openai_base_url=url, model="test-model", max_retries=retries, timeout=timeout, max_tokens=16)
    return get_chat_model(settings)


def test_a_429_is_retried_and_the_retry_succeeds() -> None:
    replies = [Reply("json", 429, {"error": {"message": "slow down"}}, headers=FAST_RETRY), Reply("json", body=completion_body("Hello Dana"))]
    with ScriptedServer(replies) as server:
        model = _model(server.base_url)
        answer = model.complete(ASK)
    assert answer.text == "Hello Dana"
    assert len(server.requests) == 2
    assert answer.usage.prompt_tokens == 11 and answer.usage.completion_tokens == 3 and not answer.usage.estimated
    assert model.usage.calls == 1


def test_429_after_all_retries_says_rate_limited_and_how_many_retries() -> None:
    with ScriptedServer([Reply("json", 429, {"error": {"message": "slow down"}}, headers=FAST_RETRY)]) as server:
        with pytest.raises(ModelError, match=r"rate limiting requests \(HTTP 429\) and still refused after 2 retries"):
            _model(server.base_url, retries=2).complete(ASK)
    assert len(server.requests) == 3


def test_a_500_is_retried_then_reported_with_status_and_server_message() -> None:
    with ScriptedServer([Reply("json", 500, {"error": {"message": "model crashed"}}, headers=FAST_RETRY)]) as server:
        with pytest.raises(ModelError, match=r"failed with HTTP 500 after 1 retries: .*model crashed"):
            _model(server.base_url, retries=1).complete(ASK)
    assert len(server.requests) == 2


def test_a_503_then_success_recovers() -> None:
    replies = [Reply("json", 503, {"error": {"message": "warming up"}}, headers=FAST_RETRY), Reply("json", body=completion_body("ok then"))]
    with ScriptedServer(replies) as server:
        assert _model(server.base_url).complete(ASK).text == "ok then"


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, r"rejected the request \(HTTP 400\): .*bad field"), (401, r"refused the API key \(HTTP 401\); set COACH_OPENAI_API_KEY"),
     (404, r"has no model 'test-model' \(HTTP 404\); check COACH_MODEL")],
)
def test_client_errors_are_not_retried(status: int, expected: str) -> None:
    with ScriptedServer([Reply("json", status, {"error": {"message": "bad field"}})]) as server:
        with pytest.raises(ModelError, match=expected):
            _model(server.base_url, retries=3).complete(ASK)
    assert len(server.requests) == 1


@pytest.mark.parametrize("body", [b"{not json", b"", {"hello": "world"}, {"choices": "nope"}])
def test_malformed_json_is_a_clear_error(body: object) -> None:
    with ScriptedServer([Reply("raw" if isinstance(body, bytes) else "json", 200, body)]) as server:
        with pytest.raises(ModelError, match="malformed answer"):
            _model(server.base_url, retries=0).complete(ASK)


@pytest.mark.parametrize("text", ["", "   \n "])
def test_an_empty_answer_is_an_error_not_a_silent_empty_string(text: str) -> None:
    with ScriptedServer([Reply("json", body=completion_body(text))]) as server:
        with pytest.raises(ModelError, match="returned an empty answer"):
            _model(server.base_url).complete(ASK)


def test_streaming_delivers_pieces_and_a_completion() -> None:
    with ScriptedServer([stream_reply(["Hello", " Dana", "!"])]) as server:
        stream = _model(server.base_url).stream(ASK)
        pieces = list(stream)
    assert pieces == ["Hello", " Dana", "!"]
    assert stream.completion.text == "Hello Dana!"
    assert stream.completion.finish_reason == "stop"
    assert stream.completion.usage.estimated  # this server reports no usage while streaming; we count
    assert server.requests[0].body["stream"] is True


def test_a_stream_cut_mid_way_is_reported_after_the_pieces_that_arrived() -> None:
    with ScriptedServer([stream_reply(["Hello", " Da"], cut=True)]) as server:
        stream = _model(server.base_url).stream(ASK)
        received: list[str] = []
        with pytest.raises(ModelError, match=r"cut"):
            for piece in stream:
                received.append(piece)
    assert "".join(received) in ("", "Hello", "Hello Da")
    with pytest.raises(RuntimeError, match="not finished"):
        _ = stream.completion


def test_a_stream_that_ends_without_finishing_is_reported() -> None:
    # The connection closes cleanly, but no finish_reason and no [DONE] ever came.
    chunks = stream_reply(["Hello"], cut=True).chunks
    with ScriptedServer([Reply("sse", chunks=chunks, cut=False)]) as server:
        with pytest.raises(ModelError, match="without finishing the answer"):
            list(_model(server.base_url).stream(ASK))


def test_an_empty_stream_is_an_error() -> None:
    with ScriptedServer([stream_reply([])]) as server:
        with pytest.raises(ModelError, match="empty answer"):
            list(_model(server.base_url).stream(ASK))


def test_a_hung_server_times_out_with_the_setting_named() -> None:
    with ScriptedServer([Reply("hang")]) as server:
        with pytest.raises(ModelError, match=r"did not answer within 0.5 s \(COACH_TIMEOUT\), after 0 retries"):
            _model(server.base_url, retries=0, timeout=0.5).complete(ASK)


def test_a_hung_stream_times_out_too() -> None:
    with ScriptedServer([Reply("hang")]) as server:
        with pytest.raises(ModelError, match="did not answer within"):
            list(_model(server.base_url, retries=0, timeout=0.5).stream(ASK))


def test_connection_refused_names_the_server_and_the_fix() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(ModelError, match=r"cannot reach the model server at 127.0.0.1:\d+ \(connection refused\).*OPENAI_BASE_URL"):
        _model(url, retries=0).complete(ASK)


def test_max_tokens_is_sent_under_the_name_compatible_servers_understand() -> None:
    with ScriptedServer([Reply("json", body=completion_body("fine"))]) as server:
        _model(server.base_url).complete(ASK, max_tokens=7, temperature=0.1, seed=5, stop=["\n\n"])
    body = server.requests[0].body
    assert body["max_tokens"] == 7 and "max_completion_tokens" not in body
    assert body["temperature"] == 0.1 and body["seed"] == 5 and body["stop"] == ["\n\n"]
    assert body["model"] == "test-model"
    assert body["messages"] == [{"role": "user", "content": "Say hello to Dana."}]
