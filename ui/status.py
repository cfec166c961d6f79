"""What the Settings panel shows: the active model (never its key), whether it answers, and
whether the knowledge store is ready. Also the stand-in model used when the real one cannot answer.

A remote model that does not answer would make every persona reply wait ``timeout x retries``
seconds before the engine falls back to a scripted line. The app probes it once (short timeout,
no retries, result cached for a while) and, when it is down, hands the engine an
:class:`UnavailableModel` whose every call fails at once: the engine's own fallback (scripted
in-character lines) then runs immediately, and the coaching (analyzer + cards) is unaffected.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from coach.commands.models import describe
from coach.config import Settings
from coach.errors import CoachError, ModelError
from coach.llm import ChatModel, Message, Stream, UsageLedger, get_chat_model, system, user

#: Seconds the reachability probe waits for a remote server.
PROBE_TIMEOUT = 4.0
#: Seconds a probe result is reused before the model is asked again.
PROBE_TTL = 30.0


@dataclass(frozen=True)
class ModelStatus:
    """The active chat model as the user sees it."""

    provider: str            # local | openai
    name: str                # GGUF file name, or the remote model name
    where: str               # "in-process (llama.cpp)" or the server's host:port
    key: str                 # how the API key is used ("" for local); never the key itself
    available: bool
    problem: str = ""        # why it is not available

    @property
    def label(self) -> str:
        """``local · SmolLM2-135M-Instruct.Q4_1.gguf`` or ``openai · gpt-4o-mini``."""
        return f"{self.provider} \u00b7 {self.name}"


@dataclass(frozen=True)
class StoreStatus:
    """The knowledge store: where it is and whether search has something to find."""

    location: str
    chunks: int
    ready: bool
    problem: str = ""


def _server_label(settings: Settings) -> str:
    from coach.llm_openai import base_url, server_label

    return server_label(base_url(settings))  # host:port only: never a path or credentials in the URL


def probe_model(settings: Settings) -> ModelStatus:
    """Describe the active model and check that it can answer (remote: one tiny request)."""
    try:
        info = describe(settings, "coach")
    except ModelError as exc:  # e.g. the bundled model package is missing
        return ModelStatus(settings.provider, "?", "", "", False, str(exc))
    if info["provider"] == "local":
        from pathlib import Path

        path = Path(info["path"])
        where = "in-process (llama.cpp)"
        if not path.is_file():
            return ModelStatus("local", str(info["model"]), where, "", False, f"model file not found: {path}")
        return ModelStatus("local", str(info["model"]), where, "", True)
    where = _server_label(settings)
    quick = settings.model_copy(update={"timeout": PROBE_TIMEOUT, "max_retries": 0})
    try:
        get_chat_model(quick).complete([system("Reply with one word."), user("Ready?")], max_tokens=4)
    except CoachError as exc:
        return ModelStatus("openai", str(info["model"]), where, str(info["api_key"]), False, str(exc))
    return ModelStatus("openai", str(info["model"]), where, str(info["api_key"]), True)


def store_status(settings: Settings) -> StoreStatus:
    """How many chunks the knowledge store holds (never creates a store as a side effect)."""
    from coach.vectorstore import describe_location, open_collection

    location = describe_location(settings)
    if not settings.chroma_host and not settings.chroma_dir.exists():
        return StoreStatus(location, 0, False, "no knowledge store yet: run `coach ingest` (or `make run`)")
    try:
        count = open_collection(settings).count()
    except Exception as exc:  # chromadb raises its own types; the panel reports, never crashes
        return StoreStatus(location, 0, False, f"cannot open the store ({exc.__class__.__name__}: {exc})")
    if count == 0:
        return StoreStatus(location, 0, False, "the store is empty: run `coach ingest`")
    return StoreStatus(location, count, True)


class StatusCache:
    """The model probe, reused for :data:`PROBE_TTL` seconds (one probe at a time)."""

    def __init__(self, settings: Settings, ttl: float = PROBE_TTL) -> None:
        self.settings = settings
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: ModelStatus | None = None
        self._at = 0.0

    def get(self, refresh: bool = False) -> ModelStatus:
        """The cached status, probing again when stale or when ``refresh`` is asked."""
        with self._lock:
            if refresh or self._value is None or time.monotonic() - self._at > self.ttl:
                self._value = probe_model(self.settings)
                self._at = time.monotonic()
            return self._value


class UnavailableModel:
    """A :class:`~coach.llm.ChatModel` that fails every call at once with the reason it is down.

    Given to the rehearsal engine when the real model cannot answer, so the engine's scripted
    fallback runs without waiting for timeouts. Token counts are estimates (4 characters per
    token): they only size the prompt that is never sent.
    """

    def __init__(self, status: ModelStatus, settings: Settings) -> None:
        self.provider = status.provider
        self.model = status.name
        self.context_size = settings.context_size
        self.max_tokens = settings.max_tokens
        self.usage = UsageLedger()
        self.reason = status.problem or "the model is unavailable"

    def count_tokens(self, text: str) -> int:
        """Rough estimate; nothing is sent."""
        return len(text) // 4 + 1

    def complete(self, messages: Sequence[Message], **_: object):
        """Always fails: the model is unavailable."""
        raise ModelError(self.reason)

    def stream(self, messages: Sequence[Message], **_: object) -> Stream:
        """Always fails: the model is unavailable."""
        raise ModelError(self.reason)


def persona_model(status: ModelStatus, settings: Settings) -> ChatModel | None:
    """The model to hand the engine: None (the engine resolves the real one) or the stand-in."""
    return None if status.available else UnavailableModel(status, settings)
