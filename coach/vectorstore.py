"""Opening the Chroma store: a local ``PersistentClient`` under ``COACH_HOME``, or a Chroma server.

Telemetry is off in both cases. Failures become a :class:`~coach.errors.StoreError` that names the
path (or server) and says what to do.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import chromadb
from chromadb.config import Settings as ChromaSettings

from coach.config import Settings
from coach.embeddings import MiniLMEmbeddingFunction
from coach.errors import StoreError



def _chroma_settings() -> ChromaSettings:
    """Fresh Chroma settings with telemetry off (a new object each time: Chroma's HttpClient mutates it)."""
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def describe_location(settings: Settings) -> str:
    """Human-readable location of the store, for messages."""
    if settings.chroma_host:
        return f"Chroma server {settings.chroma_host}:{settings.chroma_port}"
    return str(settings.chroma_dir)


def _check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the knowledge store folder {path}: {exc.strerror or exc}. "
            "Set COACH_HOME to a writable folder or fix its permissions."
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise StoreError(
            f"the knowledge store folder {path} is not writable. "
            "Set COACH_HOME to a writable folder or fix its permissions."
        )
    sqlite_file = path / "chroma.sqlite3"
    if sqlite_file.exists() and not os.access(sqlite_file, os.W_OK):
        raise StoreError(f"the knowledge store file {sqlite_file} is read-only; fix its permissions or set COACH_HOME.")


def open_client(settings: Settings) -> chromadb.api.ClientAPI:
    """A Chroma client for the configured store (HTTP when ``COACH_CHROMA_HOST`` is set)."""
    if settings.chroma_host:
        try:
            return chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=_chroma_settings())
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError variants here
            raise StoreError(
                f"cannot reach the {describe_location(settings)}: {exc}. "
                "Start it (`chroma run --host HOST --port PORT --path DIR`) or unset COACH_CHROMA_HOST."
            ) from exc
    path = settings.chroma_dir
    _check_writable(path)
    try:
        return chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
    except (sqlite3.DatabaseError, Exception) as exc:
        raise StoreError(
            f"the knowledge store at {path} cannot be opened ({exc.__class__.__name__}: {exc}). "
            "It may be corrupt: delete that folder and run `coach ingest` to rebuild it."
        ) from exc


def open_collection(settings: Settings, client: chromadb.api.ClientAPI | None = None):
    """The knowledge collection, created with our embedding function if absent."""
    client = client or open_client(settings)
    try:
        return client.get_or_create_collection(
            name=settings.collection,
            embedding_function=MiniLMEmbeddingFunction(),
            configuration={"hnsw": {"space": "cosine"}},
        )
    except StoreError:
        raise
    except Exception as exc:
        raise StoreError(
            f"cannot open collection {settings.collection!r} in {describe_location(settings)} "
            f"({exc.__class__.__name__}: {exc}). If the store is corrupt, delete it and run `coach ingest` again."
        ) from exc
