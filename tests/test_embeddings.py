"""The one embedding entry point works offline and plugs into Chroma by name."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from coach.embeddings import DIMENSIONS, MiniLMEmbeddingFunction, cosine, embed, embed_one


def test_vectors_are_unit_length_and_meaningful() -> None:
    vectors = embed(["Can I share an idea that might help?", "Would it help if I told you what worked for me?",
                     "The quarterly revenue report is attached."])
    assert vectors.shape == (3, DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2]) + 0.2


def test_batching_matches_single_embedding() -> None:
    texts = [f"sentence number {i} about listening" for i in range(40)]
    batched = embed(texts)
    assert np.allclose(batched[37], embed_one(texts[37]), atol=1e-4)


@pytest.mark.parametrize("text", ["", "   ", "😀🙏 مرحبا كيف حالك", "x" * 100_000, "\x00\x01binary\xff"])
def test_odd_input_embeds_without_error(text: str) -> None:
    vector = embed([text])[0]
    assert vector.shape == (DIMENSIONS,)
    assert np.isfinite(vector).all()


def test_empty_list_gives_empty_array() -> None:
    assert embed([]).shape == (0, DIMENSIONS)


def test_chroma_embedding_function_round_trips_config() -> None:
    from chromadb.utils.embedding_functions import known_embedding_functions

    ef = MiniLMEmbeddingFunction()
    assert known_embedding_functions[MiniLMEmbeddingFunction.name()] is MiniLMEmbeddingFunction
    rebuilt = MiniLMEmbeddingFunction.build_from_config(ef.get_config())
    assert np.allclose(rebuilt(["hello"])[0], ef(["hello"])[0])
    with pytest.raises(ValueError):
        MiniLMEmbeddingFunction.build_from_config({"model": "something-else"})


def test_persisted_collection_reopens_with_our_function(tmp_path) -> None:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path = str(tmp_path / "db")
    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    client = chromadb.PersistentClient(path=path, settings=chroma_settings)
    client.create_collection("reopen", embedding_function=MiniLMEmbeddingFunction()).add(
        ids=["a", "b"], documents=["ask before giving advice", "celebrate the effort, not the result"]
    )
    del client
    # A new process opens the collection without passing an embedding function: Chroma rebuilds
    # ours from the persisted name and config, and queries by text work.
    code = textwrap.dedent(f"""
        import chromadb, coach.embeddings
        from chromadb.config import Settings
        c = chromadb.PersistentClient(path={path!r}, settings=Settings(anonymized_telemetry=False))
        col = c.get_collection("reopen")
        print(type(col.configuration.get("embedding_function")).__name__)
        print(col.query(query_texts=["may I offer a suggestion?"], n_results=1)["ids"][0][0])
        col.add(ids=["c"], documents=["listen like you are interviewing a hero"])
        import numpy as np
        stored = col.get(ids=["c"], include=["embeddings"])["embeddings"][0]
        print(bool(np.allclose(stored, coach.embeddings.embed(["listen like you are interviewing a hero"])[0], atol=1e-5)))
    """)
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    # Chroma rebuilt our function from the persisted config and embedded new text with it.
    assert out.stdout.split() == ["MiniLMEmbeddingFunction", "a", "True"]


def test_no_network_is_used(tmp_path) -> None:
    """Load the model, ingest and search in a fresh process whose sockets refuse anything but loopback."""
    code = textwrap.dedent(f"""
        import socket
        real_connect = socket.socket.connect
        def guarded(self, address):
            host = address[0] if isinstance(address, tuple) else address
            if host not in ("127.0.0.1", "::1", "localhost") and not str(host).startswith("/"):
                raise AssertionError(f"network access attempted: {{address}}")
            return real_connect(self, address)
        socket.socket.connect = guarded
        socket.create_connection = lambda *a, **k: (_ for _ in ()).throw(AssertionError(f"network: {{a}}"))
        from pathlib import Path
        from coach.config import Settings, PROJECT_ROOT
        from coach.knowledge import ingest, search
        s = Settings(home=Path({str(tmp_path)!r}))
        ingest([PROJECT_ROOT / "knowledge" / "principles"], s)
        print(search("how do I give advice without sounding preachy", s, k=1).results[0].id)
    """)
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False", "HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip()


def test_folded_model_gives_the_same_vectors_and_is_cached(tmp_path) -> None:
    """The pre-folded graph (smaller memory peak) must embed exactly like the shipped one."""
    from coach.embeddings import MiniLMEncoder, _model_path, folded_model_path

    folded = folded_model_path(cache_dir=tmp_path)
    assert folded.parent == tmp_path and folded.suffix == ".onnx" and folded != _model_path()
    assert folded_model_path(cache_dir=tmp_path) == folded  # built once, then reused
    assert not list(tmp_path.glob("*.tmp"))
    texts = ["You should call her first.", "It sounds like the call shook you. 😞", "", "שלום " * 30]
    shipped = MiniLMEncoder(model=_model_path()).encode(texts)
    assert np.allclose(MiniLMEncoder(model=folded).encode(texts), shipped, atol=1e-5)


def test_unwritable_cache_falls_back_to_the_shipped_model(tmp_path) -> None:
    from coach.embeddings import _model_path, folded_model_path

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert folded_model_path(cache_dir=blocker / "models") == _model_path()


def test_a_damaged_cached_model_is_replaced_not_fatal(tmp_path, monkeypatch) -> None:
    from coach.config import get_settings
    from coach.embeddings import MiniLMEncoder, folded_model_path

    monkeypatch.setenv("COACH_MODEL_CACHE", str(tmp_path))
    get_settings.cache_clear()
    folded = folded_model_path()
    assert folded.parent == tmp_path
    folded.write_bytes(b"half a file")  # e.g. a disk that filled up, or a stray edit
    vectors = MiniLMEncoder().encode(["You should call her first."])
    assert vectors.shape == (1, 384) and abs(float(np.linalg.norm(vectors[0])) - 1.0) < 1e-4
    assert not folded.exists()  # deleted, so the next start builds it again
    assert folded_model_path(cache_dir=tmp_path) == folded and folded.stat().st_size > 1_000_000


def test_a_model_file_the_user_names_is_never_deleted(tmp_path) -> None:
    from coach.embeddings import MiniLMEncoder

    mine = tmp_path / "my-model.onnx"
    mine.write_bytes(b"not a model")
    with pytest.raises(Exception, match="INVALID_PROTOBUF"):  # onnxruntime's own error type
        MiniLMEncoder(model=mine)
    assert mine.read_bytes() == b"not a model"


def test_threads_per_call_change_speed_not_vectors(monkeypatch) -> None:
    """One thread per call (the web app) and one per core (the CLI) embed identically."""
    import coach.embeddings as embeddings

    texts = ["It sounds like that call shook you.", "You should send the email.", "\u0645\u0631\u062d\u0628\u0627 \U0001f600"]
    default = embed(texts)
    monkeypatch.setattr(embeddings, "_encoder", None)
    monkeypatch.setattr(embeddings, "_threads", None)
    embeddings.use_threads(1)
    single = embed(texts)
    assert embeddings.get_encoder().threads == 1
    np.testing.assert_allclose(single, default, atol=1e-5)
    loaded = embeddings.get_encoder()
    embeddings.use_threads(1)   # the same count keeps the loaded encoder
    assert embeddings.get_encoder() is loaded
    embeddings.use_threads(0)   # another count replaces it
    assert embeddings.get_encoder() is not loaded and embeddings.get_encoder().threads == 0


def test_threads_setting_is_read_when_nothing_chose(monkeypatch) -> None:
    import coach.embeddings as embeddings
    from coach.config import get_settings

    monkeypatch.setattr(embeddings, "_encoder", None)
    monkeypatch.setattr(embeddings, "_threads", None)
    monkeypatch.setenv("COACH_EMBED_THREADS", "1")
    get_settings.cache_clear()
    try:
        assert embeddings.get_encoder().threads == 1
    finally:
        monkeypatch.delenv("COACH_EMBED_THREADS")
        get_settings.cache_clear()


def test_negative_thread_count_is_refused() -> None:
    import coach.embeddings as embeddings

    with pytest.raises(ValueError, match="0 or more"):
        embeddings.use_threads(-1)
