"""Errors the user can act on. Each message names what went wrong and what to do."""

from __future__ import annotations


class CoachError(Exception):
    """Base of every error shown to a user; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(CoachError):
    """Bad input from the user (empty query, unknown id, oversized text): exit code 2."""

    exit_code = 2


class StoreError(CoachError):
    """The knowledge store or session database cannot be opened or written."""

    exit_code = 1


class ModelError(CoachError):
    """The chat model failed (unreachable, timed out, malformed answer)."""

    exit_code = 1
