"""AnnoMI loader: one row per therapist utterance, derived from ``AnnoMI-full.csv``.

AnnoMI (Wu et al., ICASSP 2022; Future Internet 2023) is expert-coded motivational-interviewing talk.
The full CSV holds every utterance of 133 transcripts; seven of them were coded by all ten annotators,
so their utterances appear ten times. Those are collapsed here by vote, as described in the data
folder's README:

- ``main`` is the plurality label; if the top labels tie it is :data:`TIE`;
- each ``*_exists`` flag is the majority vote (a 5-5 split is :data:`TIE`);
- each ``*_subtype`` is the majority among the annotators who marked that flag ``True``
  (:data:`TIE` on a tied vote or a tied flag, ``n/a`` when the collapsed flag is ``False``).

Rows holding :data:`TIE` in a column are excluded when that column is scored.

The split is fixed by the issue: test = ``transcript_id % 4 == 3``, train = the rest.

Only the standard library is used, so loading costs about 0.1 s and adds no dependency.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coach.config import PROJECT_ROOT
from coach.errors import UsageError

#: Marker written where the annotators' vote is tied.
TIE = "tie"
NA = "n/a"
FULL_CSV = "AnnoMI-full.csv"
#: Where the shared data folder sits relative to the repository (``../shared/data/external/annomi``).
DEFAULT_ANNOMI_DIR = PROJECT_ROOT.parent / "shared" / "data" / "external" / "annomi"

MAIN_LABELS: tuple[str, ...] = ("question", "reflection", "therapist_input", "other")
QUESTION_SUBTYPES: tuple[str, ...] = ("open", "closed")
REFLECTION_SUBTYPES: tuple[str, ...] = ("simple", "complex")
INPUT_SUBTYPES: tuple[str, ...] = ("information", "advice", "negotiation", "options")

Split = Literal["train", "test", "all"]

# The source columns used here; a file missing any of them is not AnnoMI-full.
_REQUIRED = (
    "mi_quality", "transcript_id", "topic", "utterance_id", "interlocutor", "utterance_text", "annotator_id",
    "therapist_input_exists", "therapist_input_subtype", "reflection_exists", "reflection_subtype",
    "question_exists", "question_subtype", "main_therapist_behaviour",
)
_FLAGS = (
    ("question_exists", "question_subtype"),
    ("reflection_exists", "reflection_subtype"),
    ("therapist_input_exists", "therapist_input_subtype"),
)


@dataclass(frozen=True)
class Utterance:
    """One therapist utterance with its (collapsed) expert codes.

    Flags are the strings ``"True"``, ``"False"`` or :data:`TIE`, as in the source, so that a tie
    can never be mistaken for a negative.
    """

    transcript_id: int
    utterance_id: int
    mi_quality: str
    topic: str
    text: str
    prev_client_text: str
    main: str
    question_exists: str
    question_subtype: str
    reflection_exists: str
    reflection_subtype: str
    therapist_input_exists: str
    therapist_input_subtype: str
    annotator_id: str          # "0".."9" or "multi"
    n_annotations: int
    main_agreement: str        # e.g. "7/10"

    @property
    def split(self) -> str:
        """``test`` when ``transcript_id % 4 == 3``, else ``train``."""
        return split_of(self.transcript_id)


def split_of(transcript_id: int) -> str:
    """The fixed split of a transcript: test = ``transcript_id % 4 == 3``, train = the rest."""
    return "test" if transcript_id % 4 == 3 else "train"


def _vote(values: Iterable[str]) -> str:
    """Plurality label, or :data:`TIE` when the top count is shared; ``n/a`` for no votes."""
    counts = Counter(values).most_common()
    if not counts:
        return NA
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return TIE
    return counts[0][0]


def collapse(annotations: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Collapse the codes of one utterance given by several annotators into one set of labels.

    A single annotation is returned unchanged (its labels are taken as they are, including the
    two source rows whose main label is ``therapist_input`` with subtype ``n/a``).
    """
    if not annotations:
        raise ValueError("collapse() needs at least one annotation")
    out: dict[str, str] = {}
    if len(annotations) == 1:
        only = annotations[0]
        out["main_therapist_behaviour"] = only["main_therapist_behaviour"]
        for flag, subtype in _FLAGS:
            out[flag], out[subtype] = only[flag], only[subtype]
        return out
    out["main_therapist_behaviour"] = _vote(a["main_therapist_behaviour"] for a in annotations)
    for flag, subtype in _FLAGS:
        value = _vote(a[flag] for a in annotations)
        out[flag] = value
        if value == "False":
            out[subtype] = NA
        elif value == TIE:
            # No majority saw the behaviour, so there is no subtype to vote on.
            out[subtype] = TIE
        else:
            # Subtype votes come only from annotators who saw the behaviour at all.
            out[subtype] = _vote(a[subtype] for a in annotations if a[flag] == "True")
    return out


def _agreement(annotations: Sequence[Mapping[str, str]], main: str) -> str:
    n = len(annotations)
    if main == TIE:
        top = Counter(a["main_therapist_behaviour"] for a in annotations).most_common(1)[0][1]
        return f"{top}/{n}"
    return f"{sum(a['main_therapist_behaviour'] == main for a in annotations)}/{n}"


def utterances_from_rows(rows: Iterable[Mapping[str, str]]) -> list[Utterance]:
    """Build one :class:`Utterance` per therapist utterance from raw ``AnnoMI-full.csv`` rows.

    Pure: takes parsed CSV rows (dicts of strings) and returns utterances ordered by
    (transcript_id, utterance_id).
    """
    groups: dict[tuple[int, int], list[Mapping[str, str]]] = {}
    for row in rows:
        key = (int(row["transcript_id"]), int(row["utterance_id"]))
        groups.setdefault(key, []).append(row)
    out: list[Utterance] = []
    last_client: dict[int, str] = {}
    for (tid, uid) in sorted(groups):
        annotations = groups[(tid, uid)]
        first = annotations[0]
        if first["interlocutor"] == "client":
            last_client[tid] = first["utterance_text"]
            continue
        if first["interlocutor"] != "therapist":
            continue
        labels = collapse(annotations)
        multi = len(annotations) > 1
        out.append(
            Utterance(
                transcript_id=tid,
                utterance_id=uid,
                mi_quality=first["mi_quality"],
                topic=first["topic"],
                text=first["utterance_text"],
                prev_client_text=last_client.get(tid, ""),
                main=labels["main_therapist_behaviour"],
                question_exists=labels["question_exists"],
                question_subtype=labels["question_subtype"],
                reflection_exists=labels["reflection_exists"],
                reflection_subtype=labels["reflection_subtype"],
                therapist_input_exists=labels["therapist_input_exists"],
                therapist_input_subtype=labels["therapist_input_subtype"],
                annotator_id="multi" if multi else first["annotator_id"],
                n_annotations=len(annotations),
                main_agreement=_agreement(annotations, labels["main_therapist_behaviour"]),
            )
        )
    return out


def resolve_dir(annomi_dir: str | Path | None = None) -> Path:
    """The AnnoMI folder to use: the argument, else the shared data folder next to the repo."""
    return Path(annomi_dir).expanduser() if annomi_dir else DEFAULT_ANNOMI_DIR


def load(annomi_dir: str | Path | None = None, split: Split = "all") -> list[Utterance]:
    """Therapist utterances of AnnoMI (one per utterance, multi-coded ones collapsed), for one split.

    Raises :class:`UsageError` (exit 2) when the folder or ``AnnoMI-full.csv`` is missing or is not
    the AnnoMI file.
    """
    if split not in ("train", "test", "all"):
        raise UsageError(f"unknown AnnoMI split {split!r}; use train, test or all")
    folder = resolve_dir(annomi_dir)
    path = folder / FULL_CSV
    if not folder.is_dir():
        raise UsageError(f"AnnoMI data folder not found: {folder} (pass --annomi-dir DIR holding {FULL_CSV})")
    if not path.is_file():
        raise UsageError(f"{FULL_CSV} not found in {folder} (pass --annomi-dir DIR holding {FULL_CSV})")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise UsageError(f"{path} is not AnnoMI-full.csv: missing columns {', '.join(missing)}")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: {exc}") from exc
    try:
        utterances = utterances_from_rows(rows)
    except (KeyError, ValueError) as exc:
        raise UsageError(f"{path} has a malformed row: {exc}") from exc
    if split == "all":
        return utterances
    return [u for u in utterances if u.split == split]


# --- scoring ---------------------------------------------------------------------------------
# Pure metric functions over plain lists; the eval command and the training script's
# cross-validation report both use them.


def precision_recall_f1(gold: Sequence[bool], pred: Sequence[bool]) -> tuple[float, float, float]:
    """Precision, recall and F1 of the positive class (0.0 where undefined)."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred must have the same length")
    tp = sum(g and p for g, p in zip(gold, pred))
    n_pred, n_gold = sum(bool(p) for p in pred), sum(bool(g) for g in gold)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def accuracy(gold: Sequence[str], pred: Sequence[str]) -> float:
    """Share of equal labels (0.0 for no rows)."""
    if len(gold) != len(pred):
        raise ValueError("gold and pred must have the same length")
    return sum(g == p for g, p in zip(gold, pred)) / len(gold) if gold else 0.0


def macro_f1(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    """Unweighted mean over ``labels`` of each label's one-vs-rest F1."""
    if not labels:
        raise ValueError("macro_f1 needs at least one label")
    return sum(precision_recall_f1([g == c for g in gold], [p == c for p in pred])[2] for c in labels) / len(labels)


def confusion(gold: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> list[list[int]]:
    """Counts ``[i][j]`` of rows with gold ``labels[i]`` predicted as ``labels[j]`` (others ignored)."""
    position = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred):
        if g in position and p in position:
            matrix[position[g]][position[p]] += 1
    return matrix


def score(
    gold: Sequence[Utterance],
    main: Sequence[str],
    flags: Sequence[Mapping[str, bool]],
    question_subtype: Sequence[str],
) -> dict[str, object]:
    """All AnnoMI figures for one set of predictions, ignoring :data:`TIE` rows per column.

    ``flags[i]`` holds booleans ``question``, ``reflection``, ``therapist_input`` and ``advice``.
    Open/closed accuracy is measured on rows whose gold question subtype is open or closed;
    advice recall on rows whose gold therapist-input subtype is advice (the ``advice`` flag must
    be set), with its precision over all rows for context.
    """
    if not (len(gold) == len(main) == len(flags) == len(question_subtype)):
        raise ValueError("gold and predictions must have the same length")
    out: dict[str, object] = {"n": len(gold)}
    for name, column in (("question", "question_exists"), ("reflection", "reflection_exists"),
                         ("therapist_input", "therapist_input_exists")):
        rows = [i for i, u in enumerate(gold) if getattr(u, column) != TIE]
        p, r, f = precision_recall_f1([getattr(gold[i], column) == "True" for i in rows], [flags[i][name] for i in rows])
        out[f"{name}_f1"], out[f"{name}_precision"], out[f"{name}_recall"] = f, p, r
    rows = [i for i, u in enumerate(gold) if u.question_subtype in QUESTION_SUBTYPES]
    out["open_closed_accuracy"] = accuracy([gold[i].question_subtype for i in rows], [question_subtype[i] for i in rows])
    out["n_open_closed"] = len(rows)
    rows = [i for i, u in enumerate(gold) if u.therapist_input_subtype != TIE and u.therapist_input_exists != TIE]
    is_advice = [gold[i].therapist_input_exists == "True" and gold[i].therapist_input_subtype == "advice" for i in rows]
    p, r, f = precision_recall_f1(is_advice, [flags[i]["advice"] for i in rows])
    out["advice_recall"], out["advice_precision"], out["advice_f1"], out["n_advice"] = r, p, f, sum(is_advice)
    rows = [i for i, u in enumerate(gold) if u.main != TIE]
    gold_main, pred_main = [gold[i].main for i in rows], [main[i] for i in rows]
    out["main_macro_f1"] = macro_f1(gold_main, pred_main, MAIN_LABELS)
    out["main_accuracy"] = accuracy(gold_main, pred_main)
    out["confusion_labels"] = list(MAIN_LABELS)
    out["confusion"] = confusion(gold_main, pred_main, MAIN_LABELS)
    return out
