"""Utterance labels: a small classifier that tells what one manager utterance mainly does.

Input features, computed the same way at training and inference time (the training script imports
this module and :mod:`coach.analyzer.features`):

- the MiniLM sentence embedding of the utterance's last words, transcription noise removed
  (:func:`embed_texts`);
- the regex features of :func:`coach.analyzer.features.lexical_features`, standardised;
- word uni/bigram TF-IDF (:class:`coach.analyzer.features.NgramVocabulary`).

Several logistic-regression heads share those inputs (weights in ``coach/data/analyzer_model.npz``,
written by ``scripts/train_analyzer.py`` from AnnoMI's train split; inference is numpy only):

- ``main``: question / reflection / therapist_input / other (AnnoMI's main behaviour);
- binary flags ``question``, ``reflection``, ``therapist_input``, ``advice`` with tuned thresholds
  (AnnoMI's ``*_exists`` flags are not exclusive, so they get their own heads);
- subtypes: ``question_subtype`` (open/closed), ``reflection_subtype`` (simple/complex),
  ``input_subtype`` (advice / information / other).

:func:`label_behaviour` maps these onto the coach's ten :data:`BEHAVIOURS`, using the rule findings
for what AnnoMI does not code (permission asked, first-person story, affirmation).
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np

from coach.analyzer.features import EMBED_WORDS, FEATURE_NAMES, NgramVocabulary, embedding_text, lexical_matrix
from coach.analyzer.model import BEHAVIOURS, AnalysisContext, Finding
from coach.errors import ModelError

MODEL_FILE = "analyzer_model.npz"
MODEL_VERSION = 1
EMBED_DIM = 384
MAIN_HEAD = "main"
FLAG_HEADS: tuple[str, ...] = ("question", "reflection", "therapist_input", "advice")
SUBTYPE_HEADS: tuple[str, ...] = ("question_subtype", "reflection_subtype", "input_subtype")
HEADS: tuple[str, ...] = (MAIN_HEAD, *FLAG_HEADS, *SUBTYPE_HEADS)
# A fixed timestamp makes the written file depend on the weights only (byte-for-byte rebuilds).
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def default_model_path() -> Path:
    """The shipped weights: ``coach/data/analyzer_model.npz``."""
    return Path(str(resources.files("coach.data").joinpath(MODEL_FILE)))


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """MiniLM embeddings of :func:`coach.analyzer.features.embedding_text` of each text, (n, 384).

    Texts are embedded shortest first, so each batch pads to similar lengths (about 4x faster on
    a corpus than input order), and returned in input order.
    """
    from coach.embeddings import embed  # loads onnxruntime; deferred so importing this module is cheap

    cleaned = [embedding_text(t) for t in texts]
    order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]))
    out = np.zeros((len(cleaned), EMBED_DIM), dtype=np.float32)
    if cleaned:
        out[order] = embed([cleaned[i] for i in order])
    return out


@dataclass(frozen=True)
class Head:
    """One logistic-regression head over the shared design row.

    ``weights`` is (n_dense + n_terms, k): k == 1 for a binary head (sigmoid, positive class is
    ``classes[1]``), else one column per class (softmax).
    """

    name: str
    classes: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray
    threshold: float | None = None   # binary heads: probability at or above which the flag is set

    def probabilities(self, dense: np.ndarray, sparse: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """(n, len(classes)) class probabilities for dense rows plus sparse n-gram vectors."""
        n_dense = dense.shape[1]
        logits = dense @ self.weights[:n_dense] + self.bias
        for row, (idx, values) in enumerate(sparse):
            if idx.size:
                logits[row] += values @ self.weights[n_dense + idx]
        if self.weights.shape[1] == 1:
            positive = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            return np.stack([1.0 - positive, positive], axis=1)
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Prediction:
    """Everything the classifier says about one utterance."""

    main: str                           # question / reflection / therapist_input / other
    main_scores: dict[str, float]
    flags: dict[str, bool]              # question, reflection, therapist_input, advice
    flag_scores: dict[str, float]       # probability of each flag
    question_subtype: str               # open / closed (meaningful when a question is present)
    reflection_subtype: str             # simple / complex
    input_subtype: str                  # advice / information / other
    subtype_scores: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class BehaviourModel:
    """Featuriser state and heads, as trained by ``scripts/train_analyzer.py``."""

    vocabulary: NgramVocabulary
    lex_mean: np.ndarray
    lex_scale: np.ndarray
    lex_weight: float
    embed_weight: float
    heads: Mapping[str, Head]
    meta: Mapping[str, object]

    def dense_rows(self, texts: Sequence[str], prev_client_texts: Sequence[str], embeddings: np.ndarray) -> np.ndarray:
        """The dense part of the design matrix: scaled regex features then scaled embedding."""
        lex = (lexical_matrix(list(texts), list(prev_client_texts)) - self.lex_mean) / self.lex_scale
        return np.hstack([lex * self.lex_weight, embeddings * self.embed_weight]).astype(np.float32)

    def sparse_rows(self, texts: Sequence[str]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The n-gram part of the design matrix, one sparse vector per text."""
        return [self.vocabulary.vector(t) for t in texts]

    def predict(
        self, texts: Sequence[str], prev_client_texts: Sequence[str] | None = None, embeddings: np.ndarray | None = None
    ) -> list[Prediction]:
        """Predictions for many utterances; embeds them (batched) unless ``embeddings`` is given."""
        prevs = list(prev_client_texts) if prev_client_texts is not None else [""] * len(texts)
        if len(prevs) != len(texts):
            raise ValueError("texts and prev_client_texts must have the same length")
        if not texts:
            return []
        emb = embed_texts(texts) if embeddings is None else embeddings
        dense = self.dense_rows(texts, prevs, emb)
        sparse = self.sparse_rows(texts)
        probs = {name: head.probabilities(dense, sparse) for name, head in self.heads.items()}
        return [self._prediction({name: p[i] for name, p in probs.items()}) for i in range(len(texts))]

    def _prediction(self, probs: Mapping[str, np.ndarray]) -> Prediction:
        """One :class:`Prediction` from each head's class probabilities for one utterance."""
        def scores(name: str) -> dict[str, float]:
            return {c: float(p) for c, p in zip(self.heads[name].classes, probs[name])}

        def top(name: str) -> str:
            return self.heads[name].classes[int(np.argmax(probs[name]))]

        flag_scores = {name: float(probs[name][1]) for name in FLAG_HEADS}
        return Prediction(
            main=top(MAIN_HEAD),
            main_scores=scores(MAIN_HEAD),
            flags={n: flag_scores[n] >= (self.heads[n].threshold or 0.5) for n in FLAG_HEADS},
            flag_scores=flag_scores,
            question_subtype=top("question_subtype"),
            reflection_subtype=top("reflection_subtype"),
            input_subtype=top("input_subtype"),
            subtype_scores={n: scores(n) for n in SUBTYPE_HEADS},
        )


# --- file format -------------------------------------------------------------------------------
def _array_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def save_model(model: BehaviourModel, path: Path) -> None:
    """Write ``model`` as an ``.npz`` whose bytes depend only on its contents."""
    meta = dict(model.meta)
    meta.update(
        version=MODEL_VERSION,
        lex_weight=model.lex_weight,
        embed_weight=model.embed_weight,
        feature_names=list(FEATURE_NAMES),
        embed_words=EMBED_WORDS,
        heads={n: {"classes": list(h.classes), "threshold": h.threshold} for n, h in model.heads.items()},
    )
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode("utf-8"), dtype=np.uint8),
        "vocab": np.frombuffer("\n".join(model.vocabulary.terms).encode("utf-8"), dtype=np.uint8),
        "idf": model.vocabulary.idf.astype(np.float32),
        "lex_mean": model.lex_mean.astype(np.float32),
        "lex_scale": model.lex_scale.astype(np.float32),
    }
    for name, head in model.heads.items():
        arrays[f"W_{name}"] = head.weights.astype(np.float32)
        arrays[f"b_{name}"] = head.bias.astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            info = zipfile.ZipInfo(f"{key}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _array_bytes(arrays[key]), compresslevel=9)


def read_model(path: Path) -> BehaviourModel:
    """Load weights written by :func:`save_model`; :class:`ModelError` when missing or malformed."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
        if meta.get("version") != MODEL_VERSION:
            raise ValueError(f"model version {meta.get('version')!r}, this code reads {MODEL_VERSION}")
        if meta.get("feature_names") != list(FEATURE_NAMES):
            raise ValueError("its regex features differ from coach.analyzer.features; retrain")
        if meta.get("embed_words") != EMBED_WORDS:
            raise ValueError(f"it embeds {meta.get('embed_words')} words, this code {EMBED_WORDS}; retrain")
        terms = arrays["vocab"].tobytes().decode("utf-8").split("\n") if arrays["vocab"].size else []
        vocabulary = NgramVocabulary(terms, arrays["idf"])
        n_inputs = len(FEATURE_NAMES) + EMBED_DIM + len(vocabulary)
        heads = {}
        for name in HEADS:
            spec = meta["heads"][name]
            weights = arrays[f"W_{name}"]
            if weights.shape[0] != n_inputs:
                raise ValueError(f"head {name} has {weights.shape[0]} inputs, expected {n_inputs}")
            heads[name] = Head(name, tuple(spec["classes"]), weights, arrays[f"b_{name}"], spec["threshold"])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ModelError(f"cannot load the behaviour classifier from {path}: {exc}; "
                         "rebuild it with scripts/train_analyzer.py") from exc
    return BehaviourModel(vocabulary, arrays["lex_mean"], arrays["lex_scale"], float(meta["lex_weight"]),
                          float(meta["embed_weight"]), heads, meta)


_lock = threading.Lock()
_model: BehaviourModel | None = None


def get_model() -> BehaviourModel:
    """The shipped classifier, loaded once per process."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = read_model(default_model_path())
    return _model


# --- public API --------------------------------------------------------------------------------
def predict(texts: Sequence[str], prev_client_texts: Sequence[str] | None = None) -> list[Prediction]:
    """Classifier output for many utterances (batch-embedded: use this for corpora)."""
    return get_model().predict(texts, prev_client_texts)


def predict_flags(text: str, prev_client_text: str = "") -> dict[str, bool]:
    """Whether ``text`` holds a question, a reflection, therapist input, advice (flags may co-occur)."""
    return dict(get_model().predict([text], [prev_client_text])[0].flags)


def _other_kind(kinds: set[str]) -> str:
    """What AnnoMI's "other" is in our labels, from the rule findings."""
    if "story" in kinds:
        return "self-disclosure"
    if kinds & {"reassurance", "effort"}:
        return "affirmation"
    return "other"


def behaviour_from_prediction(
    prediction: Prediction, findings: Sequence[Finding], context: AnalysisContext
) -> tuple[str, dict[str, float]]:
    """Map a :class:`Prediction` plus rule findings onto one of :data:`BEHAVIOURS`, with scores.

    The label is hierarchical (main behaviour, then its subtype); each score is the joint
    probability, e.g. P(question) * P(open | question), and the scores sum to 1.
    """
    kinds = {f.kind for f in findings}
    asked = context.permission_asked or "permission" in kinds
    main, sub = prediction.main_scores, prediction.subtype_scores
    p_advice = sub["input_subtype"].get("advice", 0.0)
    scores = dict.fromkeys(BEHAVIOURS, 0.0)
    scores["question-open"] = main["question"] * sub["question_subtype"]["open"]
    scores["question-closed"] = main["question"] * sub["question_subtype"]["closed"]
    scores["reflection-simple"] = main["reflection"] * sub["reflection_subtype"]["simple"]
    scores["reflection-complex"] = main["reflection"] * sub["reflection_subtype"]["complex"]
    scores["advice-with-permission" if asked else "advice-without-permission"] = main["therapist_input"] * p_advice
    scores["information"] = main["therapist_input"] * (1.0 - p_advice)
    other = _other_kind(kinds)
    scores[other] = main["other"]
    if prediction.main == "question":
        label = f"question-{prediction.question_subtype}"
    elif prediction.main == "reflection":
        label = f"reflection-{prediction.reflection_subtype}"
    elif prediction.main == "therapist_input":
        if prediction.input_subtype == "advice":
            label = "advice-with-permission" if asked else "advice-without-permission"
        else:
            label = "information"
    else:
        label = other
    return label, {k: round(float(v), 4) for k, v in scores.items()}


def label_behaviour(text: str, findings: list[Finding], context: AnalysisContext) -> tuple[str, dict[str, float]]:
    """The main behaviour of one utterance (one of :data:`BEHAVIOURS`) and a score per behaviour.

    ``findings`` are the rule findings for ``text`` (permission, story, reassurance and effort
    decide between labels AnnoMI does not distinguish); ``context.prev_client_text`` is what the
    other person said just before. Empty or whitespace-only text is "other".
    """
    if not text or text.isspace():
        scores = dict.fromkeys(BEHAVIOURS, 0.0)
        scores["other"] = 1.0
        return "other", scores
    prediction = get_model().predict([text], [context.prev_client_text])[0]
    return behaviour_from_prediction(prediction, findings, context)
