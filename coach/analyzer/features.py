"""Cheap lexical and regex features of one utterance (and the client turn before it).

Three kinds, all used identically by the training script and at inference:

- :func:`lexical_features`: hand-written regex and count features (:data:`FEATURE_NAMES`);
- :class:`NgramVocabulary`: word uni- and bigrams with sublinear TF-IDF weights learnt on the
  training split (a sparse vector per utterance);
- :func:`embedding_text`: the utterance with transcription noise removed, cut to its last
  :data:`EMBED_WORDS` words, which is what the MiniLM embedding is computed on.


The regex features complement the MiniLM sentence embedding with things a mean-pooled embedding blurs: where the
question mark is, how the last sentence starts, second- vs first-person wording, permission and
advice phrases, and how much of the client's wording the utterance repeats (the mark of a
reflection). Every feature is a float; :data:`FEATURE_NAMES` gives their order. Pure functions, no
state; the classifier's training script and inference both call :func:`lexical_features`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
# Sentence ends: ., ?, ! (possibly repeated) followed by space or end, or a long dash break.
_SENTENCE_SPLIT = re.compile(r"(?<=[.?!])\s+|\s+--\s+")
_TRAILING = " \t\r\n-–—\"'”’)]…."
_LEADING_FILLERS = re.compile(
    r"^(?:(?:so|and|but|okay|ok|well|yeah|yes|right|alright|all right|um+|uh+|hmm+|mm-?hmm|mhm|oh|now|"
    r"then|like|i mean|you know)\b[\s,.-]*)+",
    re.I,
)
_WH = re.compile(r"^(?:what|what's|how|how's|why|when|where|who|which|whose|tell me|describe|talk about)\b", re.I)
_AUX = re.compile(
    r"^(?:do|does|did|is|are|was|were|have|has|had|can|could|will|would|should|shall|may|might|am|"
    r"isn't|aren't|wasn't|weren't|don't|doesn't|didn't|haven't|hasn't|can't|couldn't|won't|wouldn't|"
    r"any|anything|anyone|is there|are there)\b",
    re.I,
)
_TAG = re.compile(
    r"(?:,\s*(?:right|yeah|correct|huh|okay|ok|no)|(?:is|isn't|are|aren't|do|don't|does|doesn't|did|didn't|"
    r"was|wasn't|were|weren't|have|haven't|can|can't|will|won't|would|wouldn't)\s+(?:it|you|they|he|she|we|that|there|i))"
    r"\s*\?\s*$",
    re.I,
)
_IMPERATIVE = re.compile(
    r"^(?:try|make|take|go|think|call|stop|start|tell|let's|let me|keep|remember|consider|don't|do not|"
    r"avoid|cut|get|give|put|write|use|look|be|pick|set|find|talk|ask|check|have a|quit|drink|eat|walk|"
    r"imagine|picture|notice|read|come)\b",
    re.I,
)

_PHRASES: dict[str, re.Pattern[str]] = {
    "sounds_like": re.compile(r"\b(?:sounds? (?:like|as though|as if)|it sounds|that sounds)\b", re.I),
    "you_feel": re.compile(r"\byou(?:'re| are)? (?:feel|feeling|felt)\b", re.I),
    "so_you": re.compile(r"\bso,? you\b", re.I),
    "it_seems": re.compile(r"\b(?:it|that) (?:seems|looks like)|\byou seem\b", re.I),
    "you_are": re.compile(r"\byou(?:'re| are|'ve| have|'d)\b", re.I),
    "you_mean": re.compile(r"\b(?:you(?:'re| are) saying|what i'm hearing|i hear|you mean|if i understand)\b", re.I),
    "permission": re.compile(
        r"\b(?:is it (?:okay|ok|all right|alright) (?:if|with)|would it be (?:okay|ok|all right|alright|helpful)|"
        r"(?:can|could|may) i (?:share|tell|offer|give|suggest|make|talk|ask|mention)|(?:do|would) you mind if|"
        r"would you like (?:me to|some|to hear|to know|more)|are you (?:open|interested) (?:to|in)|"
        r"would it help if|okay if i|mind if i)\b",
        re.I,
    ),
    "advice": re.compile(
        r"\b(?:you (?:should|must|need to|have to|ought to|could try|might want to|might try|want to make sure)|"
        r"why don't you|i (?:would )?(?:recommend|suggest|advise|encourage|want you to|'d like you to)|"
        r"i'd (?:recommend|suggest|advise|encourage)|(?:it's|it is) (?:important|best|a good idea)|"
        r"you'd better|the best thing|make sure|if i were you)\b",
        re.I,
    ),
    "modal": re.compile(r"\b(?:should|must|need to|have to|ought to|got to|gotta)\b", re.I),
    "information": re.compile(
        r"\b(?:research|studies|study|percent|risk|risks|guidelines?|recommended|doctor|evidence|"
        r"can cause|increases?|decreases?|damage|effects?|medication|treatment|program|programme|"
        r"available|options?|per week|a day|per day|drinks?)\b",
        re.I,
    ),
    "number": re.compile(r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|twelve|fourteen|twenty|half)\b", re.I),
    "affirm": re.compile(
        r"\b(?:great|good job|well done|wonderful|awesome|excellent|impressive|proud|amazing|fantastic|"
        r"i appreciate|appreciate (?:that|you)|that's (?:great|good|wonderful|really good)|good for you|"
        r"you've (?:done|made|managed)|courage|strength|strong|commend)\b",
        re.I,
    ),
    "thanks": re.compile(r"\b(?:thank|thanks|nice (?:to|talking|meeting)|see you|bye|welcome)\b", re.I),
    "negotiate": re.compile(
        r"\b(?:would you be willing|are you willing|how about|what would you like|up to you|next time|"
        r"come back|appointment|follow up|plan|goal|next step|where would you like|start with)\b",
        re.I,
    ),
    "change": re.compile(r"\b(?:change|quit|cut (?:down|back)|stop|reduce|cutting)\b", re.I),
    "hedge": re.compile(r"\b(?:maybe|perhaps|kind of|sort of|i guess|i wonder|i think)\b", re.I),
    "story": re.compile(r"\b(?:when i was|i remember|what worked for me|in my experience|i used to|my (?:own|wife|husband|son|daughter))\b", re.I),
    "because": re.compile(r"\b(?:because|'cause|since|so that)\b", re.I),
    "but_also": re.compile(r"\b(?:on the other hand|at the same time|and yet|but also|part of you)\b", re.I),
}
_STOP = frozenset(
    "a an the and or but so to of in on at for with is are was were be been it its it's that this i you your "
    "you're me my we our they them he she his her um uh yeah okay ok well like just really do does did not "
    "have has had what how about know mean can would will there then if as from mm hmm".split()
)

FEATURE_NAMES: tuple[str, ...] = (
    "has_q", "ends_q", "n_q", "q_last_sentence", "last_wh", "last_aux", "any_wh", "any_aux", "tag_q",
    "first_wh", "first_aux", "imperative",
    *(f"ph_{name}" for name in _PHRASES),
    "second_person", "first_singular", "first_plural",
    "log_chars", "log_words", "n_sentences", "starts_dash", "ends_dash", "filler_only",
    "starts_so", "starts_and", "starts_okay",
    "overlap_prev", "overlap_text", "prev_empty", "prev_log_words", "prev_has_q",
)


def _sentences(text: str) -> list[str]:
    parts = [p.strip(" -–—\t\r\n") for p in _SENTENCE_SPLIT.split(text)]
    return [p for p in parts if p]


def _core(sentence: str) -> str:
    """A sentence without its leading fillers ("So, um, okay, what ..." -> "what ...")."""
    return _LEADING_FILLERS.sub("", sentence).strip(" ,.-–—")


def _content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def lexical_features(text: str, prev_client_text: str = "") -> np.ndarray:
    """The :data:`FEATURE_NAMES` features of ``text`` (float32, fixed order).

    ``prev_client_text`` is the client's turn just before, used for overlap features; pass ""
    when there is none.
    """
    lowered = text.lower()
    words = _WORD.findall(lowered)
    n_words = len(words)
    sentences = _sentences(text) or [text.strip()]
    questions = [s for s in sentences if s.rstrip(_TRAILING.replace(".", "")).endswith("?") or s.endswith("?")]
    last = sentences[-1]
    last_core = _core(last)
    first_core = _core(sentences[0])
    q_cores = [_core(s) for s in questions]
    stripped = text.strip().rstrip(_TRAILING.replace(".", ""))
    per_word = 1.0 / max(n_words, 1)

    values: list[float] = [
        float("?" in text),
        float(stripped.endswith("?")),
        math.log1p(text.count("?")),
        float(last.rstrip(_TRAILING.replace(".", "")).endswith("?")),
        float(bool(_WH.match(last_core))),
        float(bool(_AUX.match(last_core))),
        float(any(_WH.match(c) for c in q_cores)),
        float(any(_AUX.match(c) for c in q_cores)),
        float(bool(_TAG.search(stripped))),
        float(bool(_WH.match(first_core))),
        float(bool(_AUX.match(first_core))),
        float(any(_IMPERATIVE.match(_core(s)) for s in sentences)),
    ]
    values += [math.log1p(len(pattern.findall(text))) for pattern in _PHRASES.values()]
    values += [
        sum(w in ("you", "your", "you're", "yourself", "you've", "you'd", "you'll") for w in words) * per_word,
        sum(w in ("i", "me", "my", "i'm", "i've", "i'd", "i'll", "myself") for w in words) * per_word,
        sum(w in ("we", "us", "our", "we're", "we've", "we'll", "let's") for w in words) * per_word,
        math.log1p(len(text)),
        math.log1p(n_words),
        math.log1p(len(sentences)),
        float(text.lstrip().startswith(("-", "–", "—"))),
        float(text.rstrip().endswith(("-", "–", "—"))),
        float(n_words > 0 and not _core(text)),
        float(lowered.lstrip().startswith("so")),
        float(lowered.lstrip().startswith("and")),
        float(bool(re.match(r"\s*(?:okay|ok|alright|all right|mm-?hmm|yeah|right)\b", lowered))),
    ]
    mine, theirs = _content_words(text), _content_words(prev_client_text)
    shared = len(mine & theirs)
    values += [
        shared / max(len(theirs), 1),
        shared / max(len(mine), 1),
        float(not prev_client_text.strip()),
        math.log1p(len(_WORD.findall(prev_client_text.lower()))),
        float("?" in prev_client_text),
    ]
    return np.asarray(values, dtype=np.float32)


def lexical_matrix(texts: list[str], prev_client_texts: list[str]) -> np.ndarray:
    """:func:`lexical_features` for many utterances: an (n, len(FEATURE_NAMES)) float32 array."""
    if len(texts) != len(prev_client_texts):
        raise ValueError("texts and prev_client_texts must have the same length")
    if not texts:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    return np.vstack([lexical_features(t, p) for t, p in zip(texts, prev_client_texts)])


# --- text cleaning for the embedding ---------------------------------------------------------
_UNINTELLIGIBLE = re.compile(r"\[[^\]]*\]")
_STUTTER_RUN = re.compile(r"\b(\w+(?:'\w+)?)(?:-+\s*\1\b)+", re.I)
_DISFLUENCY = re.compile(r"\b(?:um+|uh+|er+|hmm+|mm+|mm-hmm|mhm|uh-huh)\b[,.]?\s*", re.I)
_DASH_BREAK = re.compile(r"(?:^|\s)[-–—]+|[-–—]+(?:\s|$)")
_SPACES = re.compile(r"\s+")


def clean_for_embedding(text: str) -> str:
    """``text`` without transcription noise: "[unintelligible 00:02:20]", stutters ("the-the"),
    "um"/"uh" and dash breaks. Falls back to the stripped text when nothing would remain.

    Spoken-transcript noise otherwise pulls the sentence embedding towards "disfluent talk" rather
    than towards what is said.
    """
    cleaned = _UNINTELLIGIBLE.sub(" ", text)
    cleaned = _STUTTER_RUN.sub(r"\1", cleaned)
    cleaned = _DISFLUENCY.sub("", cleaned)
    cleaned = _DASH_BREAK.sub(" ", cleaned)
    cleaned = _SPACES.sub(" ", cleaned).strip(" ,")
    return cleaned or text.strip()


#: Words of an utterance that are embedded (its end: that is where questions and reflections land).
#: Grouped cross-validation on the train split scored the last 32 words as well as 48 or the whole
#: text (main macro-F1 0.7515 vs 0.7508; 24 words: 0.7495), and it bounds the embedding time of long
#: turns (MiniLM's cost grows with length), which sets the analyzer's p95 latency.
EMBED_WORDS = 32


def embedding_text(text: str) -> str:
    """What the classifier embeds: :func:`clean_for_embedding` of ``text``, last :data:`EMBED_WORDS` words."""
    words = clean_for_embedding(text).split()
    return " ".join(words[-EMBED_WORDS:]) if words else text.strip()


# --- word n-grams ------------------------------------------------------------------------------
_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\?")


def ngrams(text: str) -> Counter[str]:
    """Counts of lower-cased word unigrams and bigrams ("?" is a token, so "you ?" is a bigram)."""
    tokens = _TOKEN.findall(text.lower())
    grams = Counter(tokens)
    grams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:]))
    return grams


class NgramVocabulary:
    """A fixed n-gram vocabulary with inverse document frequencies (smooth idf, as scikit-learn's).

    A text becomes the sparse vector ``(1 + log tf) * idf``, L2-normalised, restricted to the
    vocabulary. The vocabulary is learnt by :meth:`fit` in the training script and shipped with the
    classifier's weights.
    """

    def __init__(self, terms: Sequence[str], idf: np.ndarray) -> None:
        if len(terms) != len(idf):
            raise ValueError("one idf weight per term is needed")
        self.terms = list(terms)
        self.idf = np.asarray(idf, dtype=np.float32)
        self.index = {term: i for i, term in enumerate(self.terms)}

    def __len__(self) -> int:
        return len(self.terms)

    @classmethod
    def fit(cls, texts: Iterable[str], min_df: int = 2) -> NgramVocabulary:
        """Learn the terms seen in at least ``min_df`` texts (sorted, so the result is reproducible)."""
        df: Counter[str] = Counter()
        n_docs = 0
        for text in texts:
            df.update(ngrams(text).keys())
            n_docs += 1
        terms = sorted(t for t, c in df.items() if c >= min_df)
        idf = np.array([math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in terms], dtype=np.float32)
        return cls(terms, idf)

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices, values) of the sparse TF-IDF vector of ``text``; empty arrays when no term is known."""
        pairs = [(self.index[g], c) for g, c in ngrams(text).items() if g in self.index]
        if not pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
        counts = np.fromiter((c for _, c in pairs), dtype=np.float32, count=len(pairs))
        values = (1.0 + np.log(counts)) * self.idf[idx]
        values /= np.linalg.norm(values)
        return idx, values.astype(np.float32)
