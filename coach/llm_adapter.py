"""The shared half of every provider: a :class:`coach.llm.ChatModel` over a LangChain chat model.

It trims the conversation to the context window, calls the LangChain model (``invoke`` / ``stream``),
records usage, rejects empty answers, and asks the provider to translate its exceptions into
:class:`ModelError`. Providers (``coach.llm_local``, ``coach.llm_openai``) subclass :class:`LangChainChat`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from coach.config import Settings
from coach.errors import ModelError
from coach.llm import Completion, Message, Stream, Usage, UsageLedger
from coach.tokens import Fitted, cost_usd, fit_messages

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger("coach.llm")
T = TypeVar("T")


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
            with _no_tracing():
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
        chunks = self.chat.stream(_to_langchain(fitted.messages), **options)
        try:
            for chunk in _untraced(chunks):
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
        finally:
            # Closing the LangChain stream closes the adapter's generator, which frees the local
            # model's lock at once when a caller stops early (Stream.close()).
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
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


def _no_tracing() -> AbstractContextManager[object]:
    """LangSmith tracing off for our calls, whatever LANGSMITH_TRACING says: drafts and rehearsal
    turns never leave the machine (the only network a model call makes is to the model server)."""
    from langsmith.run_helpers import tracing_context

    return tracing_context(enabled=False)


def _untraced(chunks: Iterator[T]) -> Iterator[T]:
    # A LangChain stream sets up its callbacks on the first next(), so each step runs untraced.
    while True:
        with _no_tracing():
            try:
                chunk = next(chunks)
            except StopIteration:
                return
        yield chunk


def _valid_text(text: str) -> str:
    # Lone surrogates (from broken decoding upstream) cannot be sent as UTF-8: replace, don't crash.
    return text.encode("utf-8", "replace").decode("utf-8")


def _to_langchain(messages: Sequence[Message]) -> list[BaseMessage]:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]
