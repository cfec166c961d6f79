"""Model calls of an eval run: an on-disk cache, a cost ceiling, and a stop when a model is unreachable.

:class:`CachedChatModel` is a :class:`coach.llm.ChatModel` that every target and the grader use during a
run. A call's key is the SHA-256 of provider, model identity (for a GGUF: its name and a fingerprint of
its contents),
context size, messages, sampling parameters and the repeat index, so a repeat is a distinct sample
and changing the model file, a prompt or a parameter is a cache miss. Entries are JSON files under
``settings.cache_dir / "evals"``, written atomically. The wrapped model is created on the first miss,
so a run answered wholly from the cache never loads the model.

:class:`RunGuard` is shared by every call of a run: it enforces the cost ceiling (checked before each
uncached call), and once a model proves unreachable it fails later calls to that model at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from coach.config import Settings
from coach.errors import CoachError, ModelError
from coach.llm import ChatModel, Completion, Message, ModelRole, Stream, Usage, UsageLedger, resolve

CACHE_VERSION = 1


class ModelUnreachable(ModelError):
    """A model could not be reached (connection refused, timeout): the run marks its cases errored."""

    exit_code = 2


class CostCeilingReached(CoachError):
    """The run spent its budget; the runner stops scheduling cases and writes a partial report."""

    exit_code = 2


def is_unreachable(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) is a connection failure or timeout, not a bad answer."""
    seen: set[int] = set()
    current: BaseException | None = exc
    names = ("APIConnectionError", "APITimeoutError", "ConnectError", "ConnectTimeout", "ReadTimeout")
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (ConnectionError, TimeoutError)) or type(current).__name__ in names:
            return True
        current = current.__cause__ or current.__context__
    return False


@dataclass
class CallTotals:
    """Calls, tokens, cost and time of one attempt (or a whole suite, when added up)."""

    calls: int = 0
    cached_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0
    model_seconds: float = 0.0

    def add(self, other: CallTotals) -> None:
        """Add ``other`` into this total."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class RunGuard:
    """State shared by every model call of one run (thread-safe)."""

    max_cost_usd: float | None = None
    spent_usd: float = 0.0
    unpriced: set[str] = field(default_factory=set)
    down: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def before_call(self, identity: str) -> None:
        """Refuse a call when the model is already known to be down or the budget is spent."""
        with self._lock:
            if identity in self.down:
                raise ModelUnreachable(f"not tried: {self.down[identity]} (earlier in this run)")
            if self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd:
                raise CostCeilingReached(
                    f"cost ceiling reached: ${self.spent_usd:.4f} spent of ${self.max_cost_usd:.4f} "
                    "(--max-cost / COACH_EVAL_MAX_COST_USD); the run stopped and the report is partial"
                )

    def after_call(self, usage: Usage) -> None:
        """Add one fresh call's cost."""
        with self._lock:
            if usage.cost_usd is None:
                self.unpriced.add(f"{usage.provider}:{usage.model}")
            else:
                self.spent_usd += usage.cost_usd

    def mark_down(self, identity: str, message: str) -> None:
        """Remember that ``identity`` cannot be reached."""
        with self._lock:
            self.down.setdefault(identity, message)


class CallCache:
    """JSON files keyed by SHA-256 under one directory; ``None`` directory = caching off."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    @staticmethod
    def key(parts: dict[str, Any]) -> str:
        """Stable key of a call description."""
        blob = json.dumps({"v": CACHE_VERSION, **parts}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        assert self.directory is not None
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored record, or None (missing, caching off, or an unreadable entry, which is a miss)."""
        if self.directory is None:
            return None
        try:
            record = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) and isinstance(record.get("text"), str) else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store ``record`` atomically (a crash never leaves half a file); I/O errors only lose the entry."""
        if self.directory is None:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False)
            os.replace(tmp, path)
        except OSError:
            pass


def model_identity(settings: Settings, role: ModelRole) -> tuple[str, str, str]:
    """``(provider, model name, identity)`` of the model a role resolves to, without loading it."""
    provider, model = resolve(settings, role)
    if provider == "local":
        from coach.llm_local import bundled_model_path

        path = Path(model) if model else (settings.local_model or bundled_model_path())
        try:
            stat = path.stat()
            return provider, path.name, f"local|{path.name}|{_fingerprint(str(path.resolve()), stat.st_size, stat.st_mtime_ns)}"
        except OSError:
            return provider, path.name, f"local|{path}"
    from coach.llm_openai import base_url

    return provider, str(model), f"openai|{base_url(settings)}|{model}"


@lru_cache(maxsize=8)
def _fingerprint(path: str, size: int, mtime_ns: int) -> str:
    """Size plus SHA-256 of the first and last MiB of a model file: the same model gives the same key
    after a reinstall (new mtime), a different model a different one, in milliseconds."""
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as handle:
        digest.update(handle.read(1 << 20))
        if size > 1 << 21:
            handle.seek(-(1 << 20), os.SEEK_END)
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:32]


class CachedChatModel:
    """A :class:`ChatModel` for one attempt of one case: cached, guarded, and counted in ``totals``."""

    def __init__(self, factory: Callable[[], ChatModel], settings: Settings, role: ModelRole, *, cache: CallCache,
                 guard: RunGuard, totals: CallTotals, repeat: int) -> None:
        self._factory = factory
        self._inner: ChatModel | None = None
        self._lock = threading.Lock()
        self.provider, self.model, self.identity = model_identity(settings, role)
        self.context_size = settings.context_size
        self.max_tokens = settings.max_tokens
        self.temperature = settings.temperature
        self.seed = settings.seed
        self.usage = UsageLedger()
        self.cache, self.guard, self.totals, self.repeat = cache, guard, totals, repeat
        #: Model errors this wrapper raised. Product code may hide them behind a scripted fallback;
        #: the eval targets check this list so an unreachable model is never scored as a pass.
        self.failures: list[ModelError] = []

    @property
    def inner(self) -> ChatModel:
        """The wrapped model, created on first use."""
        with self._lock:
            if self._inner is None:
                self._inner = self._factory()
            return self._inner

    def count_tokens(self, text: str) -> int:
        """Tokens in the wrapped model's tokenizer (loads the model)."""
        return self.inner.count_tokens(text)

    def complete(self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None,
                 seed: int | None = None, stop: Sequence[str] | None = None) -> Completion:
        """The answer from the cache, or from the model (then stored)."""
        params = {
            "max_tokens": self.max_tokens if max_tokens is None else max_tokens,
            "temperature": self.temperature if temperature is None else temperature,
            # Each repeat is its own sample: with a fixed seed every repeat would be the same text.
            "seed": (self.seed if seed is None else seed) + self.repeat,
            "stop": list(stop) if stop else None,
        }
        key = self.cache.key({"model": self.identity, "context": self.context_size, "repeat": self.repeat,
                              "messages": [[m.role, m.content] for m in messages], "params": params})
        record = self.cache.get(key)
        if record is not None:
            return self._from_record(record)
        started = time.perf_counter()
        try:
            self.guard.before_call(self.identity)
            done = self.inner.complete(messages, **params)
        except ModelError as exc:
            if is_unreachable(exc) and not isinstance(exc, ModelUnreachable):
                self.guard.mark_down(self.identity, str(exc))
                down = ModelUnreachable(str(exc))
                self.failures.append(down)
                raise down from exc
            self.failures.append(exc)
            raise
        self.guard.after_call(done.usage)
        self.usage.record(done.usage)
        self.totals.add(CallTotals(calls=1, prompt_tokens=done.usage.prompt_tokens,
                                   completion_tokens=done.usage.completion_tokens, cost_usd=done.usage.cost_usd or 0.0,
                                   unpriced_calls=int(done.usage.cost_usd is None and self.provider != "local"),
                                   model_seconds=time.perf_counter() - started))
        self.cache.put(key, {"text": done.text, "finish_reason": done.finish_reason, "usage": asdict(done.usage),
                             "seconds": done.seconds, "notices": list(done.notices)})
        return done

    def _from_record(self, record: dict[str, Any]) -> Completion:
        raw = record.get("usage") or {}
        usage = Usage(provider=str(raw.get("provider", self.provider)), model=str(raw.get("model", self.model)),
                      prompt_tokens=int(raw.get("prompt_tokens", 0)), completion_tokens=int(raw.get("completion_tokens", 0)),
                      cost_usd=raw.get("cost_usd"), estimated=bool(raw.get("estimated", False)))
        # A cached answer costs nothing now; its tokens are reported apart as cached.
        self.totals.add(CallTotals(cached_calls=1))
        return Completion(record["text"], str(record.get("finish_reason", "stop")), usage, 0.0,
                          tuple(record.get("notices") or ()))

    def stream(self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None,
               seed: int | None = None, stop: Sequence[str] | None = None) -> Stream:
        """The whole (possibly cached) answer as a one-piece stream: evals judge finished answers."""
        def pieces() -> Generator[str, None, Completion]:
            done = self.complete(messages, max_tokens=max_tokens, temperature=temperature, seed=seed, stop=stop)
            yield done.text
            return done

        return Stream(pieces())
