"""Judge calibration: the labelled set, and `coach eval --calibrate` against a grader over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coach.cli import main
from coach.config import get_settings
from evals.calibration import DEFAULT_DIR, load_items
from evals.cases import CaseFileError
from tests.llm_servers import Reply, ScriptedServer, completion_body


def test_the_bundled_set_is_large_enough_and_balanced() -> None:
    items = load_items([DEFAULT_DIR])
    assert len(items) >= 30
    labels = [c.metadata["human"] for c in items]
    assert 0.4 <= labels.count("pass") / len(labels) <= 0.6
    assert all(c.expect[0].type == "rubric" and c.input["output"] for c in items)


@pytest.mark.parametrize(("line", "words"), [
    ('{"id": "a", "rubric": "r", "output": "o", "human": "maybe"}', "'human' must be"),
    ('{"id": "a", "rubric": "r", "human": "pass"}', "field 'output' is required"),
    ('{"id": "a", "rubric": "r", "output": "o", "human": "pass", "verdict": 1}', "unknown field 'verdict'"),
    ("not json", "invalid JSON"),
])
def test_bad_items_name_file_and_line(tmp_path: Path, line: str, words: str) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text('{"id": "ok", "rubric": "r", "output": "o", "human": "fail"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(CaseFileError, match=rf"{path}:2: .*{words}"):
        load_items([path])


def _items(tmp_path: Path) -> Path:
    rows = [{"id": f"i{n}", "rubric": "Asks permission first.", "output": f"output {n}",
             "human": "pass" if n < 3 else "fail"} for n in range(5)]
    path = tmp_path / "cal.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_calibrate_reports_accuracy_and_kappa(tmp_path: Path, monkeypatch, capsys) -> None:
    verdict = '{"pass": true, "score": 0.9, "reason": "ok"}'
    with ScriptedServer([Reply("json", body=completion_body(verdict))]) as server:
        for name, value in {"COACH_GRADER_PROVIDER": "openai", "COACH_GRADER_MODEL": "gpt-4o-mini",
                            "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "k", "COACH_MAX_RETRIES": "0"}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        code = main(["eval", "--calibrate", str(_items(tmp_path)), "-q", "--out", str(tmp_path / "out")])
    assert code == 0 and len(server.requests) == 5
    printed = capsys.readouterr().out
    # A grader that passes everything agrees on the 3 human passes only: 60%, and no better than chance.
    assert "accuracy over judged items: 60.0%" in printed
    assert "Cohen's kappa: 0.000" in printed
    saved = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert saved["items"] == 5 and saved["judged"] == 5 and saved["kappa"] == 0.0
    assert [d["id"] for d in saved["disagreements"]] == ["i3", "i4"]


def test_unjudged_items_count_against_the_grader(tmp_path: Path, monkeypatch, capsys) -> None:
    with ScriptedServer([Reply("json", body=completion_body("Looks good to me."))]) as server:
        for name, value in {"COACH_GRADER_PROVIDER": "openai", "COACH_GRADER_MODEL": "gpt-4o-mini",
                            "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "k", "COACH_MAX_RETRIES": "0"}.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        code = main(["eval", "--calibrate", str(_items(tmp_path)), "-q", "--out", str(tmp_path / "out")])
    assert code == 0
    printed = capsys.readouterr().out
    assert "judged (valid JSON verdict): 0" in printed
    assert "accuracy over all items (unjudged count as wrong): 0.0%" in printed
