"""The one chat-model interface: every model call in Mentor Coach goes through :class:`ChatModel`.

``get_chat_model(settings, role)`` resolves the provider by name in one place (``local`` = llama.cpp
in-process with a GGUF, ``openai`` = any OpenAI-compatible server). Callers pass plain
:class:`Message` objects and get a :class:`Completion` (or a :class:`Stream` of text pieces that ends
with one); LangChain stays inside the adapters (``coach.llm_adapter`` and the providers
``coach.llm_local``, ``coach.llm_openai``).

Every call: trims the conversation to the context window (oldest turns first, see
:func:`coach.tokens.fit_messages`), records usage (tokens, cost when priced) on ``model.usage``,
and turns every failure into a :class:`~coach.errors.ModelError` with a message a user can act on.
An empty answer is an error, never a silent ``""``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from coach.config import Settings, get_settings
from coach.errors import ModelError
from coach.tokens import conversation_tokens

Role = Literal["system", "user", "assistant"]
ModelRole = Literal["coach", "grader"]
_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class Message:
    """One chat turn. ``role`` is ``system``, ``user`` or ``assistant``."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ValueError(f"message role must be one of {', '.join(_ROLES)}, not {self.role!r}")
        if not isinstance(self.content, str):
            raise TypeError(f"message content must be text, not {type(self.content).__name__}")


def system(content: str) -> Message:
    """A system message."""
    return Message("system", content)


def user(content: str) -> Message:
    """A user message."""
    return Message("user", content)


def assistant(content: str) -> Message:
    """An assistant message."""
    return Message("assistant", content)


@dataclass(frozen=True)
class Usage:
    """Tokens (and dollars, when the model is in coach/data/prices.yaml) spent by one call.

    ``estimated`` is True when we counted the tokens ourselves because the server did not report them.
    """

    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class Completion:
    """A finished answer. ``text`` is stripped of surrounding whitespace and never empty.

    ``finish_reason`` is ``stop`` (the model ended) or ``length`` (cut at ``max_tokens``); ``notices``
    say what was trimmed from the prompt to fit the context window.
    """

    text: str
    finish_reason: str
    usage: Usage
    seconds: float
    notices: tuple[str, ...] = ()

    @property
    def cut_at_max_tokens(self) -> bool:
        """True when the answer stopped because it reached ``max_tokens``."""
        return self.finish_reason == "length"


@dataclass
class UsageLedger:
    """Thread-safe record of every call a model made (what ``model.usage`` holds)."""

    records: list[Usage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, usage: Usage) -> None:
        """Append one call's usage."""
        with self._lock:
            self.records.append(usage)

    @property
    def calls(self) -> int:
        """Number of calls recorded."""
        return len(self.records)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens over all calls."""
        return sum(u.prompt_tokens for u in self.records)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens over all calls."""
        return sum(u.completion_tokens for u in self.records)

    @property
    def cost_usd(self) -> float | None:
        """Total cost, or ``None`` if any call's price is unknown."""
        costs = [u.cost_usd for u in self.records]
        return None if any(c is None for c in costs) else sum(c for c in costs if c is not None)


class Stream(Iterator[str]):
    """Text pieces as the model produces them; after the last one, :attr:`completion` holds the result.

    Errors (server failure, stream cut mid-way, empty answer) are raised from iteration as
    :class:`ModelError`. Call :meth:`close` (or use ``with``) to stop early and free the model.
    """

    def __init__(self, pieces: Generator[str, None, Completion]) -> None:
        self._pieces = pieces
        self._completion: Completion | None = None

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> str:
        try:
            return next(self._pieces)
        except StopIteration as done:
            self._completion = done.value
            raise

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop generating (frees the local model for other requests)."""
        self._pieces.close()

    @property
    def completion(self) -> Completion:
        """The finished answer; only available once the stream is exhausted."""
        if self._completion is None:
            raise RuntimeError("the stream has not finished yet: iterate it to the end first")
        return self._completion


@runtime_checkable
class ChatModel(Protocol):
    """What the rest of Mentor Coach uses to talk to a model (local or remote)."""

    provider: str
    model: str
    context_size: int
    max_tokens: int
    usage: UsageLedger

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's tokenizer (tiktoken for remote models)."""
        ...

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        """The whole answer at once."""
        ...

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Stream:
        """The answer piece by piece."""
        ...


def prompt_tokens(model: ChatModel, messages: Sequence[Message]) -> int:
    """Estimated prompt size of ``messages`` for ``model`` (what trimming compares with the budget)."""
    return conversation_tokens(messages, model.count_tokens)


# --- resolution by name, in one place ----------------------------------------------------------


def resolve(settings: Settings, role: ModelRole = "coach") -> tuple[str, str | None]:
    """``(provider, model)`` for a role: the grader uses ``grader_provider``/``grader_model`` when set.

    For ``local`` the model is a GGUF path (``None`` = ``COACH_LOCAL_MODEL`` or the bundled SmolLM2);
    for ``openai`` it is the model name sent to the server.
    """
    if role not in ("coach", "grader"):
        raise ModelError(f"unknown model role {role!r}: use 'coach' or 'grader'")
    provider = settings.provider
    model: str | None = settings.model
    if role == "grader":
        provider = settings.grader_provider or settings.provider
        model = settings.grader_model or settings.model
    if provider == "local":
        grader_gguf = role == "grader" and settings.grader_model and settings.grader_model.endswith(".gguf")
        model = settings.grader_model if grader_gguf else (str(settings.local_model) if settings.local_model else None)
    return provider, model


def _make_local(settings: Settings, model: str | None) -> ChatModel:
    from coach.llm_local import LocalChat

    return LocalChat.from_settings(settings, model)


def _make_openai(settings: Settings, model: str | None) -> ChatModel:
    from coach.llm_openai import OpenAIChat

    return OpenAIChat.from_settings(settings, model or settings.model)


#: Providers by name. Adapters are imported lazily so the remote path never loads llama.cpp.
PROVIDERS: dict[str, Callable[[Settings, str | None], ChatModel]] = {"local": _make_local, "openai": _make_openai}


def get_chat_model(settings: Settings | None = None, role: ModelRole = "coach") -> ChatModel:
    """The chat model for ``role`` under ``settings`` (default: the process settings).

    The local GGUF is loaded once per process and shared; calling this again is cheap.
    """
    settings = settings or get_settings()
    provider, model = resolve(settings, role)
    try:
        factory = PROVIDERS[provider]
    except KeyError:
        raise ModelError(f"unknown model provider {provider!r}: use one of {', '.join(PROVIDERS)}") from None
    return factory(settings, model)
