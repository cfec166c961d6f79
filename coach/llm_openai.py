"""The ``openai`` provider: any OpenAI-compatible server through LangChain's ``ChatOpenAI``.

Settings: ``OPENAI_BASE_URL`` (or ``COACH_OPENAI_BASE_URL``; default ``https://api.openai.com/v1``),
``COACH_MODEL``, ``OPENAI_API_KEY`` / ``COACH_OPENAI_API_KEY``, ``COACH_TIMEOUT``, ``COACH_MAX_RETRIES``.

Retries: the ``openai`` client retries 408, 409, 429, 5xx, timeouts and connection errors with
exponential backoff (0.5 s doubling, at most 8 s) and 0-25 % jitter, honouring ``Retry-After``; it
never retries 400/401/403/404. After the last retry we raise a :class:`ModelError` that says which.

Key rule (a custom base URL never receives an OpenAI key it was not given for):

* no key configured -> the placeholder ``not-needed`` is sent (local servers ignore it);
* the base URL is OpenAI's (``api.openai.com``) -> the configured key is sent;
* any other host -> the key is sent only if it was given to Mentor Coach: ``COACH_OPENAI_API_KEY``,
  a ``.env`` file, or ``Settings(openai_api_key=...)``. The process-wide ``OPENAI_API_KEY`` variable
  is assumed to be for OpenAI and is replaced by the placeholder (with a warning naming the fix).

The key is passed to the client only; it is never logged, printed or written anywhere.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from coach.config import Settings
from coach.errors import ModelError
from coach.llm_adapter import LangChainChat
from coach.tokens import tiktoken_counter

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
OPENAI_HOSTS = frozenset({"api.openai.com"})
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class KeyChoice:
    """Which key goes to the server, and why (``reason`` never contains the key)."""

    key: str = PLACEHOLDER_KEY
    sent: bool = False
    reason: str = "no API key configured"

    def __repr__(self) -> str:
        return f"KeyChoice(sent={self.sent}, reason={self.reason!r})"


def base_url(settings: Settings) -> str:
    """The server's base URL (OpenAI's when none is configured)."""
    return (settings.openai_base_url or OPENAI_BASE_URL).rstrip("/")


def server_label(url: str) -> str:
    """``host:port`` of ``url`` for messages (never the path or any credentials in the URL)."""
    parts = urlsplit(url)
    host = parts.hostname or url
    return f"{host}:{parts.port}" if parts.port else host


def is_openai(url: str) -> bool:
    """True when ``url`` points at OpenAI's own API."""
    return (urlsplit(url).hostname or "").lower() in OPENAI_HOSTS


def choose_api_key(settings: Settings, environ: Mapping[str, str] | None = None) -> KeyChoice:
    """Apply the key rule above. ``environ`` (default ``os.environ``, only read) tells where the key came from."""
    secret = settings.openai_api_key
    key = secret.get_secret_value() if secret else ""
    if not key:
        return KeyChoice()
    url = base_url(settings)
    if is_openai(url):
        return KeyChoice(key, True, "API key sent to api.openai.com")
    env = os.environ if environ is None else environ
    generic = env.get("OPENAI_API_KEY")
    if generic is not None and key == generic and env.get("COACH_OPENAI_API_KEY") is None:
        return KeyChoice(
            reason=(
                f"OPENAI_API_KEY is not sent to {server_label(url)} (it is meant for OpenAI); "
                "set COACH_OPENAI_API_KEY to authenticate to this server"
            )
        )
    return KeyChoice(key, True, f"the API key given to Mentor Coach is sent to {server_label(url)}")


def _short(text: object, limit: int = 200) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost cause (LangChain wraps the openai error, which wraps the socket error)."""
    seen = {id(exc)}
    while (inner := exc.__cause__ or exc.__context__) is not None and id(inner) not in seen:
        seen.add(id(inner))
        exc = inner
    return exc


def _transport_errors() -> tuple[type[BaseException], ...]:
    # The openai client raises its own errors for failed requests, but a body cut while streaming can
    # surface as the HTTP library's error (httpx, or httpx2 in newer openai releases).
    found: list[type[BaseException]] = [OSError]
    for name in ("httpx", "httpx2"):
        try:
            module = __import__(name)
            found.append(module.HTTPError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


class OpenAIChat(LangChainChat):
    """:class:`coach.llm.ChatModel` for an OpenAI-compatible server."""

    url: str
    retries: int
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings, model: str) -> OpenAIChat:
        """A client for ``model`` on the configured server (nothing is sent until the first call)."""
        from langchain_openai import ChatOpenAI
        from pydantic import SecretStr

        url = base_url(settings)
        choice = choose_api_key(settings)
        if settings.openai_api_key and not choice.sent:
            log.warning("%s", choice.reason)
        # base_url is always passed explicitly so the client never falls back to OPENAI_BASE_URL from
        # the environment behind our back (that would defeat the key rule).
        chat = ChatOpenAI(
            model=model,
            base_url=url,
            api_key=SecretStr(choice.key),
            timeout=settings.timeout,
            max_retries=settings.max_retries,
            stream_usage=True,
        )
        label = "OpenAI (api.openai.com)" if is_openai(url) else f"the model server at {server_label(url)}"
        instance = cls(chat, provider="openai", model=model, settings=settings, counter=tiktoken_counter(), where=label)
        instance.url = url
        instance.retries = settings.max_retries
        instance.timeout = settings.timeout
        return instance

    def _call_options(self, max_tokens: int, temperature: float, seed: int, stop: list[str] | None) -> dict[str, Any]:
        options: dict[str, Any] = {"temperature": temperature, "seed": seed, "stop": stop}
        if is_openai(self.url):
            options["max_tokens"] = max_tokens  # ChatOpenAI sends it as max_completion_tokens
        else:
            # Most OpenAI-compatible servers (llama.cpp, Ollama, LM Studio) only know the older
            # "max_tokens" and silently ignore "max_completion_tokens", so send that name.
            options["extra_body"] = {"max_tokens": max_tokens}
        return options

    def _translate(self, exc: BaseException, partial_chars: int) -> ModelError | None:
        import openai

        where, tries = self.where, f"after {self.retries} retries"
        if partial_chars and isinstance(exc, (openai.APIConnectionError, *_transport_errors())):
            return ModelError(f"{where} cut the stream off mid-answer after {partial_chars} characters; try again")
        if isinstance(exc, openai.APITimeoutError):
            return ModelError(
                f"{where} did not answer within {self.timeout:g} s (COACH_TIMEOUT), {tries}; "
                "the server may be overloaded or hung"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = _root_cause(exc)
            detail = "connection refused" if "refused" in str(cause).lower() else _short(cause)
            return ModelError(
                f"cannot reach {where} ({detail}) {tries}: is the server running and OPENAI_BASE_URL right?"
            )
        if isinstance(exc, openai.APIStatusError):
            status, message = exc.status_code, _short(getattr(exc, "message", exc))
            if status == 429:
                return ModelError(
                    f"{where} is rate limiting requests (HTTP 429) and still refused {tries}; "
                    "wait a minute and try again"
                )
            if status in (401, 403):
                return ModelError(
                    f"{where} refused the API key (HTTP {status}); set COACH_OPENAI_API_KEY to a key valid for this server"
                )
            if status == 404:
                return ModelError(f"{where} has no model '{self.model}' (HTTP 404); check COACH_MODEL ({message})")
            if status >= 500:
                return ModelError(f"{where} failed with HTTP {status} {tries}: {message}")
            return ModelError(f"{where} rejected the request (HTTP {status}): {message}")
        if isinstance(exc, (json.JSONDecodeError, openai.APIResponseValidationError, TypeError, KeyError, AttributeError)):
            return ModelError(f"{where} sent a malformed answer (not a valid chat-completion response): {_short(exc)}")
        if isinstance(exc, _transport_errors()):
            return ModelError(f"the connection to {where} failed: {_short(exc)}")
        return None
