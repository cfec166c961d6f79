"""The Settings panel and the app's serving rules: model status over real HTTP, never the key."""

from __future__ import annotations

import gradio as gr
import pytest

from coach.config import Settings
from coach.errors import ModelError
from coach.llm import user
from tests.llm_servers import Reply, ScriptedServer, completion_body
from tests.servers import free_port
from ui.app import build_app, launch_kwargs
from ui.rehearse import PANEL_CONCURRENCY
from ui.context import AppContext
from ui.settings_panel import status_html
from ui.status import StatusCache, UnavailableModel, probe_model, store_status

SECRET = "sk-test-do-not-show-9f8e7d"


def remote(settings: Settings, url: str) -> Settings:
    from pydantic import SecretStr

    return settings.model_copy(update={"provider": "openai", "openai_base_url": url, "model": "remote-model",
                                       "openai_api_key": SecretStr(SECRET)})


def test_local_model_and_ingested_store_are_ready(ingested_settings: Settings) -> None:
    status = probe_model(ingested_settings)
    assert status.available and status.provider == "local" and status.name.endswith(".gguf")
    store = store_status(ingested_settings)
    assert store.ready and store.chunks > 100
    html = status_html(status, store, ingested_settings)
    assert "ready" in html and f"{store.chunks} passages" in html


def test_missing_local_model_file_is_reported(settings: Settings, tmp_path) -> None:
    status = probe_model(settings.model_copy(update={"local_model": tmp_path / "gone.gguf"}))
    assert not status.available and "not found" in status.problem


def test_no_store_yet_is_not_ready_and_is_not_created(settings: Settings) -> None:
    store = store_status(settings)
    assert not store.ready and "coach ingest" in store.problem
    assert not settings.chroma_dir.exists()


def test_reachable_remote_model_shows_name_and_server_but_never_the_key(settings: Settings) -> None:
    with ScriptedServer([Reply("json", body=completion_body("Ready"))]) as server:
        status = probe_model(remote(settings, server.base_url))
    assert status.available and status.label == "openai \u00b7 remote-model"
    assert status.where == f"127.0.0.1:{server.port}"
    html = status_html(status, store_status(settings), settings)
    assert SECRET not in html and SECRET not in repr(status)
    assert "remote-model" in html and "sent to 127.0.0.1" in html


def test_unreachable_remote_model_says_the_app_falls_back(settings: Settings) -> None:
    cache = StatusCache(remote(settings, f"http://127.0.0.1:{free_port()}/v1"))
    status = cache.get()
    assert not status.available and status.problem
    assert cache.get() is status  # cached: the next turn does not wait for the probe again
    html = status_html(status, store_status(settings), settings)
    assert "unavailable" in html and "analyzer-only coaching" in html and SECRET not in html


def test_server_errors_count_as_unavailable(settings: Settings) -> None:
    with ScriptedServer([Reply("json", status=503, body={"error": {"message": "overloaded"}})]) as server:
        status = probe_model(remote(settings, server.base_url))
    assert not status.available


def test_unavailable_model_fails_at_once_with_the_reason(settings: Settings) -> None:
    status = probe_model(remote(settings, f"http://127.0.0.1:{free_port()}/v1"))
    model = UnavailableModel(status, settings)
    with pytest.raises(ModelError):
        model.stream([user("hi")])
    with pytest.raises(ModelError):
        model.complete([user("hi")])
    assert model.count_tokens("four") >= 1


def test_app_builds_with_every_tab_and_serves_safely(ingested_settings: Settings) -> None:
    app = build_app(ingested_settings, AppContext.create(ingested_settings))
    assert isinstance(app, gr.Blocks) and app.analytics_enabled is False
    config = app.get_config_file()
    labels = {c.get("props", {}).get("label") for c in config["components"] if c.get("type") == "tabitem"}
    assert {"Rehearse", "Rewrite", "Principles", "Progress", "Settings"} <= labels
    api = {d.get("api_name") for d in config["dependencies"]}
    assert {"start_session", "coach_turn", "persona_reply", "end_session", "rewind", "check_draft", "rewrite",
            "search_principles", "add_documents", "progress", "reopen_session", "status"} <= api
    fns = {fn.api_name: fn for fn in app.fns.values()}
    for name in ("persona_reply", "rewrite"):  # model calls share one limit, sized for the local model
        assert (fns[name].concurrency_limit, fns[name].concurrency_id) == (ingested_settings.concurrency, "model")
    # The coach panel (no model) never waits for the model: its own small pool, see PANEL_CONCURRENCY.
    assert (fns["coach_turn"].concurrency_limit, fns["coach_turn"].concurrency_id) == (PANEL_CONCURRENCY, "panel")
    # Gradio's local /monitoring statistics are summarised rarely, not after every event.
    assert app._queue.ANAYLTICS_CACHE_FREQUENCY == 1000 and app._queue.ANALYTICS_MAX_EVENTS == 100
    kwargs = launch_kwargs(ingested_settings)
    assert kwargs["share"] is False and kwargs["max_file_size"] > ingested_settings.max_ingest_bytes


def test_warm_up_loads_the_panel_parts_or_says_what_is_missing(ingested_settings: Settings, tmp_path) -> None:
    from coach import knowledge
    from coach.analyzer import behaviour

    ctx = AppContext.create(ingested_settings)
    assert ctx.warm_up() == []
    assert behaviour._model is not None and knowledge._keyword_cache  # classifier and keyword index loaded
    bare = AppContext.create(Settings(home=tmp_path / "no-store"))
    problems = bare.warm_up()
    assert problems == ["knowledge search: no store yet (run `coach ingest`)"]
    assert not (tmp_path / "no-store" / "chroma").exists()  # warming never creates an empty store
