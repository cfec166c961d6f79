"""Model calls never send drafts anywhere but the model server, even with LangSmith tracing switched on."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.tracers.langchain import wait_for_all_tracers

from coach.config import Settings
from coach.llm import get_chat_model, user
from coach.llm_adapter import LangChainChat
from tests.llm_servers import Reply, ScriptedServer, completion_body, stream_reply


def test_langsmith_tracing_env_does_not_export_our_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    replies = [Reply("json", body=completion_body("one")), stream_reply(["two"]), Reply("json", body=completion_body("three"))]
    with ScriptedServer([Reply("json", body={})]) as tracing_server, ScriptedServer(replies) as model_server:
        monkeypatch.setenv("LANGSMITH_TRACING", "true")
        monkeypatch.setenv("LANGSMITH_ENDPOINT", f"http://127.0.0.1:{tracing_server.port}")
        monkeypatch.setenv("LANGSMITH_API_KEY", "lsv2-test")
        settings = Settings(provider="openai", openai_base_url=model_server.base_url, model="m", max_retries=0)
        model = get_chat_model(settings)
        assert isinstance(model, LangChainChat)
        assert model.complete([user("secret draft about Dana")]).text == "one"
        assert "".join(model.stream([user("secret draft about Dana")])) == "two"
        wait_for_all_tracers()
        assert tracing_server.requests == []
        # Control: the same LangChain model called directly (without our guard) is traced, so the
        # check above would have caught an export.
        model.as_langchain().invoke([HumanMessage("secret draft about Dana")])
        wait_for_all_tracers()
        assert tracing_server.requests, "tracing control did not export: the test cannot prove anything"
