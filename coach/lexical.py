"""A BM25 keyword index over the knowledge chunks, fused with dense search in :mod:`coach.knowledge`.

MiniLM alone misses situations phrased with concrete words ("screamed", "laid off", "promotion") that
the cards share with the query; BM25 (``bm25s``, Snowball-stemmed, English stop words) catches them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache

import bm25s
import numpy as np
import snowballstemmer

_stemmer = snowballstemmer.stemmer("english")
_stem_lock = threading.Lock()  # snowballstemmer objects keep internal state between calls


@lru_cache(maxsize=65_536)
def _stem_word(word: str) -> str:
    # The Snowball stemmer is pure Python (about 0.2 ms a word here) and every coach panel search
    # stems its query again; words repeat, so each is stemmed once per process.
    with _stem_lock:
        return _stemmer.stemWord(word)


def _stem(words: list[str]) -> list[str]:
    return [_stem_word(w) for w in words]


class KeywordIndex:
    """BM25 over a fixed list of texts; ``scores(query)`` returns one score per text."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.size = len(texts)
        tokens = bm25s.tokenize(list(texts), stopwords="en", stemmer=_stem, show_progress=False)
        self._retriever = bm25s.BM25()
        self._retriever.index(tokens, show_progress=False)
        self._vocab = set(tokens.vocab)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed text for the query (zeros when no word matches)."""
        words = bm25s.tokenize([query], stopwords="en", stemmer=_stem, show_progress=False, return_ids=False)[0]
        known = [w for w in words if w in self._vocab and w]
        if not known:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._retriever.get_scores(known), dtype=np.float32)
