"""The one chat-model interface: every model call in Mentor Coach goes through :class:`ChatModel`.

``get_chat_model(settings, role)`` resolves the provider by name in one place (``local`` = llama.cpp
in-process with a GGUF, ``openai`` = any OpenAI-compatible server). Callers pass plain
:class:`Message` objects and get a :class:`Completion` (or a :class:`Stream` of text pieces that ends
with one); LangChain stays inside the adapters (``coach.llm_local``, ``coach.llm_openai``).

Every call: trims the conversation to the context window (oldest turns first, see
:func:`coach.tokens.fit_messages`), records usage (tokens, cost when priced) on ``model.usage``,
and turns every failure into a :class:`~coach.errors.ModelError` with a message a user can act on.
An empty answer is an error, never a silent ``""``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from coach.config import Settings, get_settings
from coach.errors import ModelError
from coach.tokens import Fitted, conversation_tokens, cost_usd, fit_messages

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

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


class LangChainChat:
    """:class:`ChatModel` over a LangChain chat model: trimming, usage, errors. Adapters subclass it.

    Subclasses provide ``_call_options`` (provider-specific keyword arguments for one call) and
    ``_translate`` (turn a provider exception into a :class:`ModelError`, or ``None`` if unknown).
    """

    def __init__(
        self,
        chat: BaseChatModel,
        *,
        provider: str,
        model: str,
        settings: Settings,
        counter: Callable[[str], int],
        where: str,
    ) -> None:
        self.chat = chat
        self.provider = provider
        self.model = model
        self.context_size = settings.context_size
        self.max_tokens = settings.max_tokens
        self.temperature = settings.temperature
        self.seed = settings.seed
        self.usage = UsageLedger()
        self.where = where
        self._count = counter

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r}, where={self.where!r})"

    # --- to be provided by adapters ---------------------------------------------------------
    def _call_options(self, max_tokens: int, temperature: float, seed: int, stop: list[str] | None) -> dict[str, Any]:
        raise NotImplementedError

    def _translate(self, exc: BaseException, partial_chars: int) -> ModelError | None:
        raise NotImplementedError

    def _price_key(self) -> str:
        return self.model

    # --- the interface ----------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's tokenizer."""
        return self._count(text)

    def as_langchain(self) -> BaseChatModel:
        """The underlying LangChain chat model, for LCEL chains (no trimming or usage recording)."""
        return self.chat

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Completion:
        """The whole answer at once; raises :class:`ModelError` on any failure or an empty answer."""
        fitted, options = self._prepare(messages, max_tokens, temperature, seed, stop)
        started = time.perf_counter()
        try:
            answer = self.chat.invoke(_to_langchain(fitted.messages), **options)
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc, 0) from exc
        text = answer.content if isinstance(answer.content, str) else ""
        finish = str(answer.response_metadata.get("finish_reason") or "stop")
        reported = answer.usage_metadata
        if reported and reported.get("input_tokens"):
            usage = self._usage(reported["input_tokens"], reported.get("output_tokens", 0), estimated=False)
        else:
            usage = self._usage(fitted.prompt_tokens, self.count_tokens(text), estimated=True)
        return self._finish(text, finish, usage, started, fitted)

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        seed: int | None = None,
        stop: Sequence[str] | None = None,
    ) -> Stream:
        """The answer piece by piece; errors surface as :class:`ModelError` while iterating."""
        fitted, options = self._prepare(messages, max_tokens, temperature, seed, stop)
        return Stream(self._pieces(fitted, options))

    # --- internals --------------------------------------------------------------------------
    def _prepare(
        self,
        messages: Sequence[Message],
        max_tokens: int | None,
        temperature: float | None,
        seed: int | None,
        stop: Sequence[str] | None,
    ) -> tuple[Fitted[Message], dict[str, Any]]:
        if not messages or not all(isinstance(m, Message) for m in messages):
            raise ModelError("a model call needs a non-empty list of coach.llm.Message objects")
        answer_tokens = max_tokens if max_tokens is not None else self.max_tokens
        if answer_tokens < 1:
            raise ModelError(f"max_tokens must be at least 1, not {answer_tokens}")
        clean = [Message(m.role, _valid_text(m.content)) for m in messages]
        fitted = fit_messages(clean, self.context_size - answer_tokens, self.count_tokens)
        for notice in fitted.notices:
            log.info("%s: %s", self.model, notice)
        options = self._call_options(
            answer_tokens,
            self.temperature if temperature is None else temperature,
            self.seed if seed is None else seed,
            list(stop) if stop else None,
        )
        return fitted, options

    def _pieces(self, fitted: Fitted[Message], options: dict[str, Any]) -> Generator[str, None, Completion]:
        started = time.perf_counter()
        parts: list[str] = []
        finish: str | None = None
        reported: dict[str, Any] | None = None
        try:
            for chunk in self.chat.stream(_to_langchain(fitted.messages), **options):
                finish = chunk.response_metadata.get("finish_reason") or finish
                if chunk.usage_metadata and chunk.usage_metadata.get("input_tokens"):
                    reported = dict(chunk.usage_metadata)
                piece = chunk.content if isinstance(chunk.content, str) else ""
                if piece:
                    parts.append(piece)
                    yield piece
        except ModelError:
            raise
        except Exception as exc:
            raise self._error(exc, sum(map(len, parts))) from exc
        text = "".join(parts)
        if finish is None:
            raise ModelError(
                f"{self.where} ended the stream without finishing the answer (cut off mid-way after "
                f"{len(text)} characters); try again"
            )
        if reported:
            usage = self._usage(reported["input_tokens"], reported.get("output_tokens", 0), estimated=False)
        else:
            usage = self._usage(fitted.prompt_tokens, self.count_tokens(text), estimated=True)
        return self._finish(text, str(finish), usage, started, fitted)

    def _error(self, exc: Exception, partial_chars: int) -> Exception:
        translated = self._translate(exc, partial_chars)
        return translated if translated is not None else exc

    def _usage(self, prompt: int, completion: int, *, estimated: bool) -> Usage:
        return Usage(
            provider=self.provider,
            model=self.model,
            prompt_tokens=int(prompt),
            completion_tokens=int(completion),
            cost_usd=cost_usd(self._price_key(), int(prompt), int(completion)),
            estimated=estimated,
        )

    def _finish(self, text: str, finish: str, usage: Usage, started: float, fitted: Fitted[Message]) -> Completion:
        seconds = time.perf_counter() - started
        self.usage.record(usage)
        log.debug(
            "model call provider=%s model=%s prompt_tokens=%d completion_tokens=%d seconds=%.2f cost=%s",
            usage.provider, usage.model, usage.prompt_tokens, usage.completion_tokens, seconds, usage.cost_usd,
        )
        if not text.strip():
            raise ModelError(
                f"{self.where} returned an empty answer (finish reason: {finish}); try again, "
                "or raise COACH_MAX_TOKENS if the model needs more room"
            )
        return Completion(text.strip(), finish, usage, seconds, fitted.notices)


def _valid_text(text: str) -> str:
    # Lone surrogates (from broken decoding upstream) cannot be sent as UTF-8: replace, don't crash.
    return text.encode("utf-8", "replace").decode("utf-8")


def _to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


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
