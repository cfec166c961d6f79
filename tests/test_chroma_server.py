"""With COACH_CHROMA_HOST set, ingest and search go to a real ``chroma run`` server."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.config import PROJECT_ROOT, get_settings
from coach.errors import StoreError
from coach.knowledge import ingest, search
from coach.vectorstore import open_client
from tests.servers import chroma_server, free_port


@pytest.mark.slow
def test_ingest_and_search_against_a_chroma_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with chroma_server(tmp_path / "server-data") as (host, port):
        monkeypatch.setenv("COACH_CHROMA_HOST", host)
        monkeypatch.setenv("COACH_CHROMA_PORT", str(port))
        get_settings.cache_clear()
        settings = get_settings()
        report = ingest([PROJECT_ROOT / "knowledge" / "principles"], settings)
        assert report.files >= 30 and not report.skipped
        assert type(open_client(settings)).__name__ != "PersistentClient"
        hit = search("he is furious after a customer shouted at him on a call", settings, k=3).results
        assert len(hit) == 3 and all(h.kind == "card" for h in hit)
        # Nothing was written to the local store folder: the server holds the data.
        assert not settings.chroma_dir.exists()
        assert any((tmp_path / "server-data").iterdir())


def test_unreachable_server_names_host_and_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("COACH_CHROMA_PORT", str(free_port()))
    get_settings.cache_clear()
    with pytest.raises(StoreError, match="127.0.0.1") as info:
        search("anything", get_settings())
    assert "COACH_CHROMA_HOST" in str(info.value)
