#!/usr/bin/env python
"""Train the utterance-behaviour classifier on AnnoMI's TRAIN split and write coach/data/analyzer_model.npz.

    .venv/bin/python scripts/train_analyzer.py [--annomi-dir DIR] [--out PATH] [--check]

What it does, reproducibly (no randomness: GroupKFold and L-BFGS are deterministic):

1. loads the train split (``transcript_id % 4 != 3``) and embeds each utterance once;
2. for every head, picks C and class weighting by 5-fold cross-validation grouped by transcript
   (the vocabulary and feature scaling are refitted inside each fold), and for the binary heads
   the probability threshold that maximises F1 on the out-of-fold predictions;
3. refits every head on the whole train split with its chosen settings and writes the weights.

The test split is never read. Features come from :mod:`coach.analyzer.behaviour` and
:mod:`coach.analyzer.features` (imported, not copied), so training and inference cannot drift.
``--check`` retrains into a temporary file and compares it with the shipped one.

scikit-learn is needed here only (it is in the ``test`` extras); inference is numpy.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from coach.analyzer import annomi
from coach.analyzer.annomi import TIE, Utterance
from coach.analyzer.behaviour import (
    FLAG_HEADS, HEADS, BehaviourModel, Head, default_model_path, embed_texts, read_model, save_model,
)
from coach.analyzer.features import NgramVocabulary, lexical_matrix

#: Block weights and vocabulary cut-off, chosen by grouped cross-validation on the train split
#: while developing (see the report); fixed here so a run is a plain rebuild.
LEX_WEIGHT = 0.3
EMBED_WEIGHT = 1.0
MIN_DF = 2
FOLDS = 5
GRID_C = (0.3, 1.0, 3.0)
GRID_CLASS_WEIGHT = (None, "balanced")
THRESHOLDS = np.round(np.arange(0.10, 0.91, 0.02), 2)


@dataclass(frozen=True)
class Target:
    """Rows a head learns from, and their labels."""

    rows: np.ndarray         # indices into the train utterances
    labels: np.ndarray       # str labels (binary heads: "False"/"True")


def head_targets(utts: Sequence[Utterance]) -> dict[str, Target]:
    """Training rows and labels of every head; rows with a tied vote are left out of that head."""
    def make(pairs: list[tuple[int, str]]) -> Target:
        return Target(np.array([i for i, _ in pairs], dtype=np.int64), np.array([y for _, y in pairs]))

    def input_subtype(u: Utterance) -> str:
        return u.therapist_input_subtype if u.therapist_input_subtype in ("advice", "information") else "other"

    return {
        "main": make([(i, u.main) for i, u in enumerate(utts) if u.main != TIE]),
        "question": make([(i, u.question_exists) for i, u in enumerate(utts) if u.question_exists != TIE]),
        "reflection": make([(i, u.reflection_exists) for i, u in enumerate(utts) if u.reflection_exists != TIE]),
        "therapist_input": make([(i, u.therapist_input_exists) for i, u in enumerate(utts)
                                 if u.therapist_input_exists != TIE]),
        "advice": make([(i, str(u.therapist_input_exists == "True" and u.therapist_input_subtype == "advice"))
                        for i, u in enumerate(utts) if TIE not in (u.therapist_input_exists, u.therapist_input_subtype)]),
        "question_subtype": make([(i, u.question_subtype) for i, u in enumerate(utts)
                                  if u.question_subtype in annomi.QUESTION_SUBTYPES]),
        "reflection_subtype": make([(i, u.reflection_subtype) for i, u in enumerate(utts)
                                    if u.reflection_subtype in annomi.REFLECTION_SUBTYPES]),
        "input_subtype": make([(i, input_subtype(u)) for i, u in enumerate(utts)
                               if u.therapist_input_exists == "True" and u.therapist_input_subtype in annomi.INPUT_SUBTYPES]),
    }


def featurizer(texts: Sequence[str], prevs: Sequence[str]) -> BehaviourModel:
    """Vocabulary and regex-feature scaling fitted on these rows (a model with no heads yet)."""
    lex = lexical_matrix(list(texts), list(prevs))
    scale = lex.std(axis=0)
    scale[scale < 1e-6] = 1.0   # constant features stay 0 instead of dividing by zero
    vocabulary = NgramVocabulary.fit(texts, min_df=MIN_DF)
    return BehaviourModel(vocabulary, lex.mean(axis=0), scale, LEX_WEIGHT, EMBED_WEIGHT, {}, {})


def design_matrix(model: BehaviourModel, texts: Sequence[str], prevs: Sequence[str], emb: np.ndarray) -> sp.csr_matrix:
    """The rows the heads see, built with the inference code (dense part, then n-gram part)."""
    dense = model.dense_rows(texts, prevs, emb)
    sparse = model.sparse_rows(texts)
    indptr = np.cumsum([0] + [idx.size for idx, _ in sparse])
    indices = np.concatenate([idx for idx, _ in sparse]) if sparse else np.zeros(0, dtype=np.int64)
    values = np.concatenate([v for _, v in sparse]) if sparse else np.zeros(0, dtype=np.float32)
    grams = sp.csr_matrix((values, indices, indptr), shape=(len(texts), len(model.vocabulary)))
    return sp.hstack([sp.csr_matrix(dense), grams], format="csr", dtype=np.float64)


def fit_head(x: sp.csr_matrix, y: np.ndarray, c: float, class_weight: str | None) -> LogisticRegression:
    """One L2 logistic regression (L-BFGS; multinomial when there are more than two classes)."""
    return LogisticRegression(C=c, class_weight=class_weight, max_iter=5000, tol=1e-6).fit(x, y)


def to_head(name: str, clf: LogisticRegression, threshold: float | None) -> Head:
    """Numpy weights of a fitted head (columns follow ``clf.classes_``; binary heads keep one column)."""
    weights = clf.coef_.T.astype(np.float32)
    return Head(name, tuple(str(c) for c in clf.classes_), weights, clf.intercept_.astype(np.float32), threshold)


#: Flags whose threshold is chosen by F2 (recall weighted twice) instead of F1: for advice the
#: issue's target is recall, because advice given unasked is what the coach must not miss; with
#: F1 the advice threshold swung between 0.42 and 0.72 from one feature set to the next.
RECALL_FIRST = frozenset({"advice"})


def f_beta(precision: float, recall: float, beta: float) -> float:
    """F-beta of a precision and a recall (0.0 when both are 0)."""
    b2 = beta * beta
    return (1 + b2) * precision * recall / (b2 * precision + recall) if precision + recall else 0.0


def best_threshold(gold: np.ndarray, prob: np.ndarray, beta: float = 1.0) -> tuple[float, float]:
    """The threshold maximising F-beta on out-of-fold probabilities (lowest one on ties), and that score."""
    best = (0.5, -1.0)
    for t in THRESHOLDS:
        precision, recall, _ = annomi.precision_recall_f1(list(gold), list(prob >= t))
        score = f_beta(precision, recall, beta)
        if score > best[1] + 1e-12:
            best = (float(t), score)
    return best


def selection_score(name: str, labels: np.ndarray, prob: np.ndarray, classes: Sequence[str]) -> tuple[float, float | None]:
    """How a head is judged in cross-validation: F1 (F2 for :data:`RECALL_FIRST`) at the best threshold
    for flags, macro-F1 for the main and therapist-input-subtype heads (advice is rare), accuracy for
    the other subtypes."""
    if name in FLAG_HEADS:
        beta = 2.0 if name in RECALL_FIRST else 1.0
        threshold, score = best_threshold(labels == "True", prob[:, list(classes).index("True")], beta)
        return score, threshold
    pred = np.asarray(classes)[prob.argmax(axis=1)]
    if name in ("main", "input_subtype"):
        return annomi.macro_f1(list(labels), list(pred), sorted(set(labels))), None
    return annomi.accuracy(list(labels), list(pred)), None


def cross_validate(utts: Sequence[Utterance], emb: np.ndarray, log: Callable[[str], None]) -> dict[str, dict]:
    """Grouped CV over the grid; returns per head the chosen C, class weight, threshold and score."""
    texts, prevs = [u.text for u in utts], [u.prev_client_text for u in utts]
    groups = np.array([u.transcript_id for u in utts])
    targets = head_targets(utts)
    grid = [(c, w) for c in GRID_C for w in GRID_CLASS_WEIGHT]
    oof: dict[tuple[str, int], np.ndarray] = {}
    classes: dict[str, list[str]] = {name: sorted(set(t.labels)) for name, t in targets.items()}
    for name, target in targets.items():
        for g in range(len(grid)):
            oof[(name, g)] = np.zeros((len(target.rows), len(classes[name])))
    folds = list(GroupKFold(n_splits=FOLDS).split(np.zeros(len(utts)), groups=groups))
    for k, (train_idx, _) in enumerate(folds):
        started = time.time()
        in_train = np.zeros(len(utts), dtype=bool)
        in_train[train_idx] = True
        model = featurizer([texts[i] for i in train_idx], [prevs[i] for i in train_idx])
        x = design_matrix(model, texts, prevs, emb)
        for name, target in targets.items():
            fit_rows = target.rows[in_train[target.rows]]
            held = ~in_train[target.rows]
            y = dict(zip(target.rows.tolist(), target.labels.tolist()))
            for g, (c, weight) in enumerate(grid):
                clf = fit_head(x[fit_rows], np.array([y[i] for i in fit_rows]), c, weight)
                if list(clf.classes_) != classes[name]:
                    raise RuntimeError(f"fold {k} of head {name} lacks a class")
                oof[(name, g)][held] = clf.predict_proba(x[target.rows[held]])
        log(f"  fold {k + 1}/{FOLDS} done in {time.time() - started:.0f} s")
    chosen: dict[str, dict] = {}
    for name, target in targets.items():
        results = []
        for g, (c, weight) in enumerate(grid):
            value, threshold = selection_score(name, target.labels, oof[(name, g)], classes[name])
            results.append((value, -g, c, weight, threshold))
        value, negative_g, c, weight, threshold = max(results)   # ties: the first grid entry (smaller C) wins
        chosen[name] = {"C": c, "class_weight": weight, "threshold": threshold, "cv_score": round(value, 4),
                        "grid": {f"C={cc},{ww}": round(v, 4) for v, _, cc, ww, _ in results}}
        if threshold is not None:
            gold = target.labels == "True"
            flagged = oof[(name, -negative_g)][:, classes[name].index("True")] >= threshold
            precision, recall, _ = annomi.precision_recall_f1(list(gold), list(flagged))
            chosen[name].update(cv_precision=round(precision, 4), cv_recall=round(recall, 4))
        extra = (f" (precision {chosen[name]['cv_precision']:.3f}, recall {chosen[name]['cv_recall']:.3f})"
                 if threshold is not None else "")
        log(f"  {name:<19} C={c:<4} class_weight={weight!s:<9} threshold={threshold!s:<5} cv={value:.4f}{extra}")
    return chosen


def train(annomi_dir: Path | None, log: Callable[[str], None]) -> BehaviourModel:
    """The whole procedure: CV selection on the train split, then the final fit on all of it."""
    utts = annomi.load(annomi_dir, split="train")
    log(f"train split: {len(utts)} therapist utterances from {len({u.transcript_id for u in utts})} transcripts")
    started = time.time()
    texts, prevs = [u.text for u in utts], [u.prev_client_text for u in utts]
    emb = embed_texts(texts)
    log(f"embedded in {time.time() - started:.0f} s; cross-validating ({FOLDS} folds grouped by transcript)")
    chosen = cross_validate(utts, emb, log)
    model = featurizer(texts, prevs)
    x = design_matrix(model, texts, prevs, emb)
    heads = {}
    for name, target in head_targets(utts).items():
        spec = chosen[name]
        clf = fit_head(x[target.rows], target.labels, spec["C"], spec["class_weight"])
        heads[name] = to_head(name, clf, spec["threshold"])
    meta = {"trained_on": "AnnoMI train split (transcript_id % 4 != 3)", "n_train": len(utts),
            "min_df": MIN_DF, "folds": FOLDS, "selection": chosen}
    return BehaviourModel(model.vocabulary, model.lex_mean, model.lex_scale, LEX_WEIGHT, EMBED_WEIGHT,
                          {n: heads[n] for n in HEADS}, meta)


def compare(a: BehaviourModel, b: BehaviourModel, tolerance: float = 1e-4) -> list[str]:
    """Differences between two models beyond ``tolerance`` (empty when equivalent)."""
    problems = []
    if a.vocabulary.terms != b.vocabulary.terms:
        problems.append("vocabularies differ")
    for name in HEADS:
        ha, hb = a.heads[name], b.heads[name]
        if ha.classes != hb.classes or ha.threshold != hb.threshold:
            problems.append(f"head {name}: classes or threshold differ")
        elif ha.weights.shape != hb.weights.shape or not np.allclose(ha.weights, hb.weights, atol=tolerance):
            problems.append(f"head {name}: weights differ")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--annomi-dir", type=Path, default=None, help="folder holding AnnoMI-full.csv")
    parser.add_argument("--out", type=Path, default=default_model_path(), help="where to write the weights")
    parser.add_argument("--check", action="store_true", help="retrain into a temp file and compare with --out")
    args = parser.parse_args(argv)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    model = train(args.annomi_dir, log)
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / "model.npz"
            save_model(model, fresh)
            same_bytes = fresh.read_bytes() == args.out.read_bytes()
            problems = compare(read_model(fresh), read_model(args.out))
        print("byte-for-byte identical" if same_bytes else "bytes differ", file=sys.stderr)
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    save_model(model, args.out)
    log(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
