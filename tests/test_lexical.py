"""The BM25 keyword index behind hybrid card search."""

from __future__ import annotations

import snowballstemmer

from coach.lexical import KeywordIndex, _stem, _stem_word

WORDS = ["listening", "listened", "promotions", "screamed", "generously", "caf\u00e9s", "\u05e9\u05dc\u05d5\u05dd",
         "\U0001f600", "", "running", "running"]


def test_cached_stems_are_the_snowball_stems() -> None:
    assert _stem(WORDS) == snowballstemmer.stemmer("english").stemWords(WORDS)


def test_each_word_is_stemmed_once_per_process() -> None:
    _stem(["mentoring", "mentoring"])
    before = _stem_word.cache_info()
    _stem(["mentoring", "mentoring"])
    after = _stem_word.cache_info()
    assert after.hits == before.hits + 2 and after.misses == before.misses


def test_scores_rank_the_text_that_shares_the_words() -> None:
    index = KeywordIndex(["She screamed at the customer on the call.", "Celebrate the effort, not the result.",
                          "Ask permission before giving advice."])
    scores = index.scores("a customer screaming on a call")
    assert scores.argmax() == 0 and scores[1] == scores[2] == 0
    assert not index.scores("").any() and not index.scores("\x00\ufffd \u202e").any()
