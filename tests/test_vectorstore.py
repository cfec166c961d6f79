"""Opening the store: an HTTP client never leaks its settings into the local client (regression)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coach.config import Settings
from coach.errors import StoreError
from coach.vectorstore import open_client
from tests.servers import free_port


def test_local_client_still_opens_after_an_http_client_was_made(tmp_path: Path) -> None:
    # Chroma's HttpClient rewrites the Settings object it is given; a shared object once turned every
    # later PersistentClient into an HTTP client ("Could not connect to a Chroma server").
    with pytest.raises(StoreError):
        open_client(Settings(home=tmp_path / "a", chroma_host="127.0.0.1", chroma_port=free_port())).heartbeat()
    client = open_client(Settings(home=tmp_path / "b"))
    assert client.heartbeat() > 0
    assert (tmp_path / "b" / "chroma").is_dir()
