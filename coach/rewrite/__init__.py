"""Draft advice -> verified first-person rewrite ("the model proposes, the analyzer verifies").

Public API (what the CLI and the web UI call):

- :func:`rewrite` (draft, settings=None, context=None, model=None) -> :class:`RewriteResult`
- :func:`rewrite_stream` (same arguments) -> iterator of :class:`RewriteEvent`; event types
  ``start``, ``token``, ``attempt_failed``, ``piece_done``, ``notice``, ``result`` (always last).

Modules: :mod:`.segment` (advice sentences and their content), :mod:`.retrieve` (principle cards),
:mod:`.generate` (the model's narrow task), :mod:`.verify` (pure checks), :mod:`.fallback` (the
deterministic rewrite), :mod:`.pipeline` (putting it together), :mod:`.config` (knowledge/rewrite.yaml).
"""

from coach.rewrite.pipeline import rewrite, rewrite_stream, validate_draft
from coach.rewrite.types import (
    CHECKS, EVENT_TYPES, PATHS, CardRef, Check, Piece, RewriteEvent, RewriteResult,
)

__all__ = [
    "CHECKS", "EVENT_TYPES", "PATHS", "CardRef", "Check", "Piece", "RewriteEvent", "RewriteResult",
    "rewrite", "rewrite_stream", "validate_draft",
]
