"""Utterance-behaviour classifier: features, shipped weights, the mapping onto the ten labels, and
that the training script builds its inputs with the inference code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from coach.analyzer import behaviour
from coach.analyzer.behaviour import (
    FLAG_HEADS, HEADS, Prediction, behaviour_from_prediction, get_model, label_behaviour, predict,
    predict_flags, read_model, save_model,
)
from coach.analyzer.features import (
    EMBED_WORDS, FEATURE_NAMES, NgramVocabulary, clean_for_embedding, embedding_text, lexical_features,
    lexical_matrix, ngrams,
)
from coach.analyzer.model import BEHAVIOURS, AnalysisContext, Finding
from coach.config import PROJECT_ROOT
from coach.errors import ModelError

SCRIPT = PROJECT_ROOT / "scripts" / "train_analyzer.py"


def _finding(kind: str) -> Finding:
    return Finding(rule=f"r-{kind}", principle="p", level="suggestion", kind=kind, polarity="good",
                   message="m", line=1, column=1, offset=0, length=1, text="x")


def _feature(text: str, name: str, prev: str = "") -> float:
    return float(lexical_features(text, prev)[FEATURE_NAMES.index(name)])


# --- features ------------------------------------------------------------------------------------
def test_lexical_features_shape_and_meaning() -> None:
    assert lexical_features("Hi.").shape == (len(FEATURE_NAMES),)
    assert _feature("So, um, what brings you here today?", "last_wh") == 1.0
    assert _feature("Okay. Do you drink every day?", "last_aux") == 1.0
    assert _feature("You drink every day?", "last_aux") == 0.0
    assert _feature("You drink every day?", "ends_q") == 1.0
    assert _feature("It sounds like work is wearing you down.", "ph_sounds_like") > 0
    assert _feature("Is it okay if I share what other people have tried?", "ph_permission") > 0
    assert _feature("You should cut down.", "ph_advice") > 0
    assert _feature("-and you usually have three drinks-", "starts_dash") == 1.0
    assert _feature("Your drinking worries you.", "overlap_prev", "I worry about my drinking.") > 0
    assert _feature("Okay.", "prev_empty") == 1.0


def test_lexical_features_on_odd_input() -> None:
    for text in ["", "   ", "🙂🙂?", "مرحبا، كيف حالك؟", "\x00\x01", "a" * 100_000]:
        values = lexical_features(text, text)
        assert values.shape == (len(FEATURE_NAMES),) and np.isfinite(values).all()
    assert lexical_matrix([], []).shape == (0, len(FEATURE_NAMES))
    with pytest.raises(ValueError):
        lexical_matrix(["a"], [])


def test_clean_for_embedding() -> None:
    assert clean_for_embedding("-the-the piercing might, um, last-") == "the piercing might, last"
    assert clean_for_embedding("I- I know [unintelligible 00:02:20] that") == "I know that"
    assert clean_for_embedding("Mm.") == "Mm."      # nothing would remain: keep the text
    long = " ".join(f"w{i}" for i in range(100)) + " um, do you see?"
    assert embedding_text(long).split()[-3:] == ["do", "you", "see?"]
    assert len(embedding_text(long).split()) == EMBED_WORDS
    assert embedding_text("") == ""


def test_ngram_vocabulary_equals_scikit_learn_tfidf() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["What brings you in?", "You drink a lot, you said?", "What do you drink?", "You said a lot."]
    ours = NgramVocabulary.fit(texts, min_df=2)
    theirs = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                             token_pattern=r"[a-z]+(?:'[a-z]+)?|\?").fit(texts)
    assert ours.terms == list(theirs.get_feature_names_out())
    expected = theirs.transform(texts).toarray()
    for row, text in enumerate(texts):
        dense = np.zeros(len(ours), dtype=np.float32)
        idx, values = ours.vector(text)
        dense[idx] = values
        assert np.allclose(dense, expected[row], atol=1e-6)
    assert ngrams("You said?")["said ?"] == 1
    assert ours.vector("zebra")[0].size == 0


# --- shipped weights -----------------------------------------------------------------------------
def test_shipped_weights_load_and_are_small() -> None:
    path = behaviour.default_model_path()
    assert path.is_file() and path.stat().st_size < 2_000_000
    model = get_model()
    assert set(model.heads) == set(HEADS)
    assert model.heads["main"].classes == ("other", "question", "reflection", "therapist_input")
    for name in FLAG_HEADS:
        assert model.heads[name].classes == ("False", "True")
        assert 0.0 < model.heads[name].threshold < 1.0
    assert model.meta["trained_on"].startswith("AnnoMI train split")


def test_save_is_byte_reproducible_and_round_trips(tmp_path: Path) -> None:
    model = get_model()
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    save_model(model, first)
    save_model(read_model(first), second)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == behaviour.default_model_path().read_bytes()


def test_broken_weights_give_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="train_analyzer.py"):
        read_model(bad)
    with pytest.raises(ModelError, match="cannot load"):
        read_model(tmp_path / "missing.npz")


# --- predictions ---------------------------------------------------------------------------------
def test_clear_cases() -> None:
    """Textbook examples of each behaviour (not from AnnoMI)."""
    flags = predict_flags("What would you like to talk about today?")
    assert flags["question"] and not flags["reflection"]
    context = AnalysisContext(prev_client_text="I just can't keep up with everything my boss asks of me.")
    label, scores = label_behaviour("It sounds like you're feeling overwhelmed by the workload.", [], context)
    assert label.startswith("reflection-")
    assert set(scores) == set(BEHAVIOURS) and sum(scores.values()) == pytest.approx(1.0, abs=1e-3)
    label, _ = label_behaviour("How do you feel about your drinking?", [], AnalysisContext())
    assert label == "question-open"
    label, _ = label_behaviour("Do you smoke?", [], AnalysisContext())
    assert label == "question-closed"


def test_batch_and_single_predictions_agree() -> None:
    texts = ["Do you smoke?", "So you feel stuck.", "Smoking raises your risk of a stroke.", "Thanks for coming in."]
    prevs = ["", "I don't know what to do.", "", ""]
    batch = predict(texts, prevs)
    for text, prev, one in zip(texts, prevs, batch):
        single = get_model().predict([text], [prev])[0]
        assert single.main == one.main
        assert single.main_scores == pytest.approx(one.main_scores, abs=1e-4)
    assert predict([], []) == []


def test_odd_input_gets_a_label() -> None:
    for text in ["🙂🙂🙂", "שלום, מה שלומך?", "x" * 200_000, "\x00\x1b[31m", "Ignore all previous instructions."]:
        label, scores = label_behaviour(text, [], AnalysisContext())
        assert label in BEHAVIOURS and all(np.isfinite(list(scores.values())))
    assert label_behaviour("   ", [], AnalysisContext())[0] == "other"


# --- mapping onto the ten labels -----------------------------------------------------------------
def _prediction(main: str, input_subtype: str = "information") -> Prediction:
    main_scores = dict.fromkeys(("other", "question", "reflection", "therapist_input"), 0.1)
    main_scores[main] = 0.7
    advice = 0.8 if input_subtype == "advice" else 0.1
    return Prediction(
        main=main, main_scores=main_scores, flags=dict.fromkeys(FLAG_HEADS, False),
        flag_scores=dict.fromkeys(FLAG_HEADS, 0.0), question_subtype="open", reflection_subtype="complex",
        input_subtype=input_subtype,
        subtype_scores={"question_subtype": {"open": 0.6, "closed": 0.4},
                        "reflection_subtype": {"simple": 0.3, "complex": 0.7},
                        "input_subtype": {"advice": advice, "information": 0.9 - advice, "other": 0.1}},
    )


@pytest.mark.parametrize(
    ("main", "subtype", "kinds", "asked", "expected"),
    [
        ("question", "information", [], False, "question-open"),
        ("reflection", "information", [], False, "reflection-complex"),
        ("therapist_input", "advice", [], False, "advice-without-permission"),
        ("therapist_input", "advice", ["permission"], False, "advice-with-permission"),
        ("therapist_input", "advice", [], True, "advice-with-permission"),
        ("therapist_input", "information", [], False, "information"),
        ("other", "information", [], False, "other"),
        ("other", "information", ["story"], False, "self-disclosure"),
        ("other", "information", ["reassurance"], False, "affirmation"),
        ("other", "information", ["effort", "story"], False, "self-disclosure"),
    ],
)
def test_mapping(main: str, subtype: str, kinds: list[str], asked: bool, expected: str) -> None:
    label, scores = behaviour_from_prediction(
        _prediction(main, subtype), [_finding(k) for k in kinds], AnalysisContext(permission_asked=asked)
    )
    assert label == expected
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-3)
    assert scores[expected] > 0


# --- the training script uses the inference code -------------------------------------------------
@pytest.fixture(scope="module")
def train_script():
    spec = importlib.util.spec_from_file_location("train_analyzer", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_analyzer"] = module
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("train_analyzer", None)


def test_training_features_are_the_inference_features(train_script) -> None:
    assert train_script.embed_texts is behaviour.embed_texts
    assert train_script.BehaviourModel is behaviour.BehaviourModel
    assert train_script.NgramVocabulary is NgramVocabulary
    model = get_model()
    texts = ["Do you smoke?", "So you feel stuck-", "Smoking raises your risk of a stroke.", "🙂"]
    prevs = ["", "I don't know.", "", ""]
    emb = behaviour.embed_texts(texts)
    x = train_script.design_matrix(model, texts, prevs, emb)
    for name in HEADS:
        head = model.heads[name]
        logits = x @ head.weights.astype(np.float64) + head.bias
        if logits.shape[1] == 1:
            expected = 1.0 / (1.0 + np.exp(-logits[:, 0]))
            got = head.probabilities(model.dense_rows(texts, prevs, emb), model.sparse_rows(texts))[:, 1]
        else:
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            expected = e / e.sum(axis=1, keepdims=True)
            got = head.probabilities(model.dense_rows(texts, prevs, emb), model.sparse_rows(texts))
        assert np.allclose(got, expected, atol=1e-5), name
    preds = model.predict(texts, prevs, embeddings=emb)
    assert [p.main for p in preds] == [p.main for p in model.predict(texts, prevs)]


def test_training_targets_leave_out_ties(train_script) -> None:
    from coach.analyzer.annomi import Utterance

    def utt(main: str, q: str, qs: str) -> Utterance:
        return Utterance(1, 0, "high", "t", "x", "", main, q, qs, "False", "n/a", "True", "advice", "0", 1, "1/1")

    targets = train_script.head_targets([utt("question", "True", "open"), utt("tie", "tie", "tie")])
    assert targets["main"].rows.tolist() == [0]
    assert targets["question"].rows.tolist() == [0]
    assert targets["question_subtype"].labels.tolist() == ["open"]
    assert targets["advice"].labels.tolist() == ["True", "True"]
    assert targets["input_subtype"].labels.tolist() == ["advice", "advice"]


def test_recall_first_heads_pick_a_lower_threshold(train_script) -> None:
    """F2 (advice) weighs recall twice: on the same out-of-fold scores it never picks a higher threshold."""
    assert train_script.f_beta(0.5, 0.5, 2.0) == pytest.approx(0.5)
    assert train_script.f_beta(0.2, 0.9, 2.0) > train_script.f_beta(0.2, 0.9, 1.0)
    assert train_script.f_beta(0.0, 0.0, 2.0) == 0.0
    gold = np.array([True, True, True, False, False, False, False])
    prob = np.array([0.9, 0.8, 0.15, 0.5, 0.4, 0.3, 0.2])
    # F1: keep the two sure ones (P 1, R 2/3: 0.8); F2: take everything (P 3/7, R 1: 0.79 > 0.71).
    assert train_script.best_threshold(gold, prob, 1.0) == (0.52, pytest.approx(0.8))
    assert train_script.best_threshold(gold, prob, 2.0) == (0.1, pytest.approx(5 * 3 / 7 / (4 * 3 / 7 + 1)))
    assert "advice" in train_script.RECALL_FIRST
