"""AnnoMI loader (collapse of multi-annotated utterances, ties, split), metric functions, and the
classifier's figures on the test split (floors a little below what it achieves)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from coach.analyzer import annomi
from coach.analyzer.annomi import TIE, collapse, utterances_from_rows
from coach.cli import main as cli_main
from coach.errors import UsageError

DATA = annomi.DEFAULT_ANNOMI_DIR
needs_data = pytest.mark.skipif(
    not (DATA / annomi.FULL_CSV).is_file(),
    reason=f"AnnoMI is not at {DATA} (the shared data folder; CI always has it)",
)

# Known from the data folder's README: the 216 therapist utterances coded by all ten annotators,
# four of which have a tied main behaviour.
MAIN_TIES = {(55, 40), (56, 10), (56, 130), (66, 4)}


def _ann(main: str = "question", q: str = "True", qs: str = "open", r: str = "False", rs: str = "n/a",
         ti: str = "False", tis: str = "n/a") -> dict[str, str]:
    return {"main_therapist_behaviour": main, "question_exists": q, "question_subtype": qs,
            "reflection_exists": r, "reflection_subtype": rs, "therapist_input_exists": ti,
            "therapist_input_subtype": tis}


def _row(tid: int, uid: int, who: str, text: str, annotator: str = "0", **labels: str) -> dict[str, str]:
    base = {"mi_quality": "high", "transcript_id": str(tid), "topic": "t", "utterance_id": str(uid),
            "interlocutor": who, "utterance_text": text, "annotator_id": annotator}
    codes = _ann(**labels) if who == "therapist" else {k: "n/a" for k in _ann()}
    return {**base, **codes}


# --- collapse ------------------------------------------------------------------------------------
def test_single_annotation_is_taken_as_is() -> None:
    one = _ann(main="therapist_input", q="False", qs="n/a", ti="True", tis="n/a")
    assert collapse([one])["therapist_input_subtype"] == "n/a"
    assert collapse([one])["main_therapist_behaviour"] == "therapist_input"


def test_majority_vote_and_subtype_among_those_who_saw_it() -> None:
    votes = [_ann(qs="closed")] * 4 + [_ann(q="False", qs="n/a", main="reflection")] * 3 + [_ann(qs="open")] * 3
    out = collapse(votes)
    assert out["main_therapist_behaviour"] == "question"       # 7 of 10
    assert out["question_exists"] == "True"                    # 7 True vs 3 False
    assert out["question_subtype"] == "closed"                 # 4 closed vs 3 open among the 7
    assert out["reflection_exists"] == "False" and out["reflection_subtype"] == "n/a"


def test_ties_are_marked() -> None:
    votes = [_ann(main="question", qs="open")] * 5 + [_ann(main="other", q="False", qs="n/a")] * 5
    out = collapse(votes)
    assert out["main_therapist_behaviour"] == TIE
    assert out["question_exists"] == TIE
    # A tied flag leaves no majority to vote on a subtype, even though all five said "open".
    assert out["question_subtype"] == TIE
    split = [_ann(qs="open")] * 3 + [_ann(qs="closed")] * 3 + [_ann(q="False", qs="n/a", main="other")] * 4
    out = collapse(split)
    assert out["question_exists"] == "True" and out["question_subtype"] == TIE
    # The main label counts whole votes: 6 question (open or closed) against 4 other.
    assert out["main_therapist_behaviour"] == "question"


def test_collapse_needs_annotations() -> None:
    with pytest.raises(ValueError):
        collapse([])


def test_rows_become_therapist_utterances_with_previous_client_turn() -> None:
    rows = [
        _row(3, 0, "therapist", "Hello, what brings you in?"),
        _row(3, 1, "client", "My drinking."),
        _row(3, 2, "therapist", "Your drinking worries you.", main="reflection", q="False", qs="n/a",
             r="True", rs="simple"),
        _row(3, 3, "therapist", "Tell me more.", main="question"),
        _row(4, 1, "client", "Hi."),
        _row(4, 0, "therapist", "Welcome."),  # out of order in the file: ordering is by utterance_id
    ]
    rows += [_row(4, 2, "therapist", "Okay.", annotator=str(a), main="other", q="False", qs="n/a") for a in range(10)]
    out = utterances_from_rows(rows)
    assert [(u.transcript_id, u.utterance_id) for u in out] == [(3, 0), (3, 2), (3, 3), (4, 0), (4, 2)]
    assert [u.prev_client_text for u in out] == ["", "My drinking.", "My drinking.", "", "Hi."]
    assert out[1].main == "reflection" and out[1].reflection_subtype == "simple"
    assert out[0].split == "test" and out[3].split == "train"
    assert out[4].annotator_id == "multi" and out[4].n_annotations == 10 and out[4].main_agreement == "10/10"
    assert out[0].annotator_id == "0" and out[0].main_agreement == "1/1"


def test_split_rule() -> None:
    assert [annomi.split_of(t) for t in range(8)] == ["train"] * 3 + ["test"] + ["train"] * 3 + ["test"]


# --- loading errors ------------------------------------------------------------------------------
def test_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="AnnoMI data folder not found"):
        annomi.load(tmp_path / "nowhere")
    with pytest.raises(UsageError, match="AnnoMI-full.csv not found"):
        annomi.load(tmp_path)


def test_wrong_file_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / annomi.FULL_CSV).write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="missing columns"):
        annomi.load(tmp_path)
    (tmp_path / annomi.FULL_CSV).write_bytes(b"\xff\xfe\x00binary\x00")
    with pytest.raises(UsageError, match="UTF-8|missing columns"):
        annomi.load(tmp_path)


def test_unknown_split_is_refused() -> None:
    with pytest.raises(UsageError, match="unknown AnnoMI split"):
        annomi.load(split="dev")  # type: ignore[arg-type]


def test_analyze_eval_exits_2_without_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["analyze-eval", "--annomi-dir", str(tmp_path / "missing")]) == 2
    assert "AnnoMI data folder not found" in capsys.readouterr().err


# --- metrics -------------------------------------------------------------------------------------
def test_binary_metrics_on_a_hand_count() -> None:
    gold = [True, True, True, False, False]
    pred = [True, True, False, True, False]
    p, r, f = annomi.precision_recall_f1(gold, pred)
    assert (p, r) == (2 / 3, 2 / 3) and f == pytest.approx(2 / 3)
    assert annomi.precision_recall_f1([False, False], [False, False]) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError):
        annomi.precision_recall_f1([True], [])


def test_macro_f1_accuracy_and_confusion() -> None:
    gold = ["a", "a", "b", "c"]
    pred = ["a", "b", "b", "b"]
    # a: p=1, r=.5 -> 2/3; b: p=1/3, r=1 -> .5; c: 0
    assert annomi.macro_f1(gold, pred, ["a", "b", "c"]) == pytest.approx((2 / 3 + 0.5 + 0) / 3)
    assert annomi.accuracy(gold, pred) == 0.5
    assert annomi.confusion(gold, pred, ["a", "b", "c"]) == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def _gold(main: str, q: str = "False", qs: str = "n/a", r: str = "False", ti: str = "False",
          tis: str = "n/a") -> annomi.Utterance:
    return annomi.Utterance(0, 0, "high", "t", "x", "", main, q, qs, r, "n/a", ti, tis, "0", 1, "1/1")


def test_score_ignores_ties_per_column() -> None:
    gold = [
        _gold("question", q="True", qs="open"),
        _gold("question", q="True", qs="closed"),
        _gold(TIE, q=TIE, qs=TIE),
        _gold("therapist_input", ti="True", tis="advice"),
        _gold("other"),
    ]
    no = {"question": False, "reflection": False, "therapist_input": False, "advice": False}
    flags = [{**no, "question": True}, {**no, "question": True}, {**no, "question": True},
             {**no, "therapist_input": True}, no]
    out = annomi.score(gold, ["question", "question", "reflection", "other", "other"], flags,
                       ["open", "open", "open", "open", "open"])
    assert out["question_f1"] == 1.0                 # the tied row's false positive is not counted
    assert out["open_closed_accuracy"] == 0.5 and out["n_open_closed"] == 2
    assert out["therapist_input_f1"] == 1.0
    assert out["advice_recall"] == 0.0 and out["n_advice"] == 1
    assert out["main_accuracy"] == 0.75              # 4 rows: the tied main label is left out
    assert out["confusion"][2] == [0, 0, 0, 1]       # therapist_input predicted as other


# --- the real data -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def utterances() -> list[annomi.Utterance]:
    return annomi.load(DATA)


@needs_data
def test_real_file_loads_one_row_per_therapist_utterance(utterances: list[annomi.Utterance]) -> None:
    assert len(utterances) == 4882
    assert len({u.transcript_id for u in utterances}) == 133
    multi = [u for u in utterances if u.annotator_id == "multi"]
    assert len(multi) == 216 and all(u.n_annotations == 10 for u in multi)
    assert {(u.transcript_id, u.utterance_id) for u in utterances if u.main == TIE} == MAIN_TIES
    test = annomi.load(DATA, split="test")
    train = annomi.load(DATA, split="train")
    assert len(test) + len(train) == len(utterances)
    assert all(u.transcript_id % 4 == 3 for u in test) and all(u.transcript_id % 4 != 3 for u in train)
    assert not {u.transcript_id for u in test} & {u.transcript_id for u in train}


@needs_data
def test_matches_the_derived_file_where_both_exist(utterances: list[annomi.Utterance]) -> None:
    """The data folder's own one-row-per-utterance file agrees with our collapse, except that it
    keeps AnnoMI-simple's main label where the ten annotators tie (we write ``tie``)."""
    derived = DATA / "annomi_therapist_utterances.csv"
    if not derived.is_file():
        pytest.skip(f"{derived} is absent")
    with derived.open(newline="", encoding="utf-8") as handle:
        rows = {(int(r["transcript_id"]), int(r["utterance_id"])): r for r in csv.DictReader(handle)}
    assert len(rows) == len(utterances)
    columns = {"utterance_text": "text", "prev_client_text": "prev_client_text", "mi_quality": "mi_quality",
               "question_exists": "question_exists", "question_subtype": "question_subtype",
               "reflection_exists": "reflection_exists", "reflection_subtype": "reflection_subtype",
               "therapist_input_exists": "therapist_input_exists",
               "therapist_input_subtype": "therapist_input_subtype", "annotator_id": "annotator_id",
               "main_behaviour_agreement": "main_agreement"}
    for u in utterances:
        row = rows[(u.transcript_id, u.utterance_id)]
        for source, attr in columns.items():
            assert str(getattr(u, attr)) == row[source], (u.transcript_id, u.utterance_id, source)
        if (u.transcript_id, u.utterance_id) not in MAIN_TIES:
            assert u.main == row["main_therapist_behaviour"]


# --- figures on the test split -------------------------------------------------------------------
#: Floors a little below what the shipped classifier scores on the test split
#: (`coach analyze-eval`: question F1 0.913, open/closed 0.759, reflection F1 0.723,
#: therapist-input F1 0.603, advice recall 0.345 (10 of 29), macro-F1 0.754). They catch a
#: regression; they are below the issue's targets, which are not reached (see README).
FLOORS = {
    "question_f1": 0.89,
    "open_closed_accuracy": 0.74,
    "reflection_f1": 0.70,
    "therapist_input_f1": 0.58,
    "advice_recall": 0.30,      # 29 gold rows: one row is 0.034, so the floor allows a one-row change
    "main_macro_f1": 0.73,
}


@pytest.fixture(scope="module")
def report() -> dict:
    from coach.commands.analyze_eval import evaluate

    return evaluate(DATA)


@needs_data
def test_test_split_figures_stay_above_floors(report: dict) -> None:
    overall = report["overall"]
    low = {k: round(overall[k], 3) for k, floor in FLOORS.items() if overall[k] < floor}
    assert not low, f"below floor: {low}"
    assert report["n_utterances"] == 782 and report["n_transcripts"] == 32


@needs_data
def test_report_shape(report: dict) -> None:
    assert set(report["by_mi_quality"]) == {"high", "low"}
    assert sum(g["n"] for g in report["by_mi_quality"].values()) == report["n_utterances"]
    overall = report["overall"]
    # The confusion matrix counts every test row except the one whose main label is tied.
    assert sum(map(sum, overall["confusion"])) == report["n_utterances"] - 1
    from coach.commands.analyze_eval import format_report

    text = format_report(report)
    assert "main_macro_f1" in text and "confusion" in text
