"""The one settings object: every knob is a ``COACH_*`` environment variable (or a line in ``.env``).

Keys are read here once and never logged: ``Settings.__repr__`` hides secret fields (pydantic's
``SecretStr``), and nothing in the project writes settings back to disk or to ``os.environ``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The repository root (``coach/`` lives directly under it).
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_home() -> Path:
    """Where user data lives when ``COACH_HOME`` is unset (XDG data dir)."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "coach"


def _default_model_cache() -> Path:
    """Where derived model files live when ``COACH_MODEL_CACHE`` is unset (XDG cache dir)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "coach" / "models"


class Settings(BaseSettings):
    """All configuration of Mentor Coach. Field ``foo`` is read from ``COACH_FOO``."""

    model_config = SettingsConfigDict(
        env_prefix="COACH_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    # --- paths -------------------------------------------------------------------------------
    home: Path = Field(default_factory=_default_home, description="Data directory (store, sessions, cache).")
    knowledge_dir: Path = Field(default=PROJECT_ROOT / "knowledge", description="Principle cards, rules, scenarios.")
    prompts_dir: Path = Field(default=PROJECT_ROOT / "prompts", description="Prompt templates.")
    model_cache: Path = Field(default_factory=_default_model_cache,
                              description="Derived model files (the embedding model, pre-folded); safe to delete.")

    # --- vector store ------------------------------------------------------------------------
    chroma_host: str | None = Field(default=None, description="Use a Chroma server at this host instead of the local store.")
    chroma_port: int = Field(default=8000, ge=1, le=65535)
    collection: str = Field(default="coach_knowledge", min_length=3, max_length=512)
    chunk_size: int = Field(default=800, ge=100, le=8000, description="Characters per knowledge chunk.")
    chunk_overlap: int = Field(default=80, ge=0, le=2000)
    max_query_chars: int = Field(default=2000, ge=10, description="Longer search queries are truncated, with a notice.")
    max_ingest_bytes: int = Field(default=2_000_000, ge=1, description="Files larger than this are skipped on ingest.")

    # --- chat model --------------------------------------------------------------------------
    provider: Literal["local", "openai"] = Field(default="local", description="local = llama.cpp in-process.")
    local_model: Path | None = Field(default=None, description="GGUF file; default is the bundled SmolLM2-135M.")
    model: str = Field(default="gpt-4o-mini", description="Model name on the OpenAI-compatible server.")
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("COACH_OPENAI_API_KEY", "OPENAI_API_KEY"), repr=False
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("COACH_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    context_size: int = Field(default=2048, ge=256, le=131072)
    # One core is left to the web server, the embedding model and the analyzer: on 2 cores llama.cpp
    # with every core was measured 10-100x slower once anything else ran beside it.
    threads: int = Field(default_factory=lambda: max(1, (os.cpu_count() or 1) - 1), ge=1)
    # 0 lets the caller choose: the CLI embeds one text at a time and uses one thread per core for
    # the lowest latency; `coach serve` runs several panel updates at once and uses one thread per
    # call (measured: a third less CPU per update and a lower 10-client p95; benchmarks/ui.py).
    embed_threads: int = Field(default=0, ge=0, le=64,
                               description="Threads per embedding call; 0 = one per core (CLI), one (web app).")
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    max_tokens: int = Field(default=160, ge=1, le=8192)
    seed: int = Field(default=42)
    timeout: float = Field(default=60.0, gt=0, description="Seconds per remote request.")
    max_retries: int = Field(default=3, ge=0, le=10)

    # --- grader model (evals) ----------------------------------------------------------------
    grader_provider: Literal["local", "openai"] | None = Field(default=None, description="Defaults to provider.")
    grader_model: str | None = Field(default=None, description="Defaults to model.")
    eval_max_cost_usd: float = Field(
        default=2.0, ge=0.0, description="Cost ceiling (US dollars) of one `coach eval` run on priced remote models."
    )

    # --- input limits ------------------------------------------------------------------------
    max_draft_chars: int = Field(default=20_000, ge=100, description="Longest advice draft accepted by rewrite.")
    max_turn_chars: int = Field(default=4_000, ge=50, description="Longest manager turn in a rehearsal.")
    max_analyze_chars: int = Field(default=200_000, ge=100, description="Longest text the analyzer accepts.")

    # --- web app -----------------------------------------------------------------------------
    host: str = Field(default="127.0.0.1")
    port: int = Field(default=7860, ge=1, le=65535)
    auth: SecretStr | None = Field(default=None, description="user:password[,user:password] for non-local binds.", repr=False)
    concurrency: int = Field(default=1, ge=1, le=64, description="Concurrent model calls in the web app.")

    @field_validator("home", "knowledge_dir", "prompts_dir", "model_cache", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def chroma_dir(self) -> Path:
        """Directory of the local persistent Chroma store."""
        return self.home / "chroma"

    @property
    def db_path(self) -> Path:
        """SQLite database of rehearsal sessions."""
        return self.home / "coach.db"

    @property
    def cache_dir(self) -> Path:
        """On-disk cache (eval model calls)."""
        return self.home / "cache"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment. Tests call ``get_settings.cache_clear()``."""
    return Settings()
