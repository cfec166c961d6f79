"""Runs that go wrong part-way: an unreachable grader, the cost ceiling, Ctrl-C; and the pytest plugin."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.cli import main
from coach.config import PROJECT_ROOT, get_settings
from tests.llm_servers import Reply, ScriptedServer, completion_body
from tests.servers import free_port

VALID = '{"pass": true, "score": 0.9, "reason": "It asks first."}'

MIXED = """\
suite: demo
target: static
cases:
  - {id: det-1, input: "Would it help if I shared an idea?", expect: [{type: finding-present, kind: permission}]}
  - {id: det-2, input: "What happened next?", expect: [{type: finding-present, kind: question-open}]}
  - id: graded-1
    input: "Would it help if I shared what worked for me?"
    expect: [{type: rubric, rubric: The manager asks permission before advising.}]
  - id: graded-2
    input: "Can I offer an idea?"
    expect: [{type: rubric, rubric: The manager asks permission before advising.}]
"""
CONFIG = "run: {jobs: 1}\nsuites:\n  demo: {min: {pass_rate: 0.5}}\n"


def _grader_env(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    for name, value in {"COACH_GRADER_PROVIDER": "openai", "COACH_GRADER_MODEL": "gpt-4o-mini",
                        "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "test-key", "COACH_MAX_RETRIES": "0",
                        "COACH_TIMEOUT": "20"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()


def _files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "c.yaml").write_text(MIXED, encoding="utf-8")
    (tmp_path / "cfg.yaml").write_text(CONFIG, encoding="utf-8")
    return str(tmp_path / "c.yaml"), str(tmp_path / "cfg.yaml")


def test_unreachable_grader_errors_its_cases_writes_reports_and_exits_2(tmp_path: Path, monkeypatch, capsys) -> None:
    _grader_env(monkeypatch, f"http://127.0.0.1:{free_port()}/v1")  # nothing listens there
    cases, config = _files(tmp_path)
    code = main(["eval", "-q", cases, "--config", config, "--out", str(tmp_path / "out")])
    assert code == 2
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    status = {c["id"]: c["status"] for c in report["cases"]}
    assert status == {"det-1": "pass", "det-2": "pass", "graded-1": "error", "graded-2": "error"}
    reasons = {c["id"]: c["reason"] for c in report["cases"]}
    assert "cannot reach" in reasons["graded-1"] and "earlier in this run" in reasons["graded-2"]
    assert report["unreachable"]
    for name in ("junit.xml", "summary.md", "report.html"):
        assert (tmp_path / "out" / name).is_file()
    assert "ERROR demo/graded-1" in capsys.readouterr().out


def test_cost_ceiling_stops_the_run_with_a_partial_report(tmp_path: Path, monkeypatch, capsys) -> None:
    cases, config = _files(tmp_path)
    with ScriptedServer([Reply("json", body=completion_body(VALID))]) as server:
        _grader_env(monkeypatch, server.base_url)
        code = main(["eval", "-q", cases, "--config", config, "--max-cost", "0.000001", "--out", str(tmp_path / "out")])
    assert code == 2
    assert len(server.requests) == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "cost ceiling reached" in report["stop_reason"]
    status = {c["id"]: c["status"] for c in report["cases"]}
    assert status == {"det-1": "pass", "det-2": "pass", "graded-1": "pass", "graded-2": "not-run"}
    assert report["totals"]["cost_usd"] > 0.000001
    assert "stopped early: cost ceiling reached" in capsys.readouterr().out


def test_remote_grader_verdicts_gate(tmp_path: Path, monkeypatch) -> None:
    cases, config = _files(tmp_path)
    failing = '{"pass": false, "score": 0.1, "reason": "No permission asked."}'
    with ScriptedServer([Reply("json", body=completion_body(failing))]) as server:
        _grader_env(monkeypatch, server.base_url)
        code = main(["eval", "-q", cases, "--config", config, "--out", str(tmp_path / "gated")])
        assert code == 0  # 2 of 4 pass: at the 0.5 threshold
        assert main(["eval", "-q", cases, "--config", config, "--no-gate-rubric", "--out", str(tmp_path / "ungated")]) == 0
    gated = json.loads((tmp_path / "gated" / "report.json").read_text())
    assert gated["suites"]["demo"]["counts"]["fail"] == 2 and gated["options"]["rubric_gating"] is True
    ungated = json.loads((tmp_path / "ungated" / "report.json").read_text())
    assert ungated["suites"]["demo"]["counts"]["ungated"] == 2
    assert ungated["suites"]["demo"]["rubric"]["rate"] == 0.0  # still reported, apart


def _child_env(tmp_path: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COACH_", "OPENAI_"))}
    env.update({"COACH_HOME": str(tmp_path / "home"), "COACH_GRADER_PROVIDER": "openai", "COACH_GRADER_MODEL": "gpt-4o-mini",
                "OPENAI_BASE_URL": url, "OPENAI_API_KEY": "test-key", "COACH_MAX_RETRIES": "0", "COACH_TIMEOUT": "30"})
    return env


@pytest.mark.slow
def test_ctrl_c_writes_a_partial_report(tmp_path: Path) -> None:
    cases, config = _files(tmp_path)
    out = tmp_path / "out"
    with ScriptedServer([Reply("hang")]) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "coach.cli", "eval", "-q", cases, "--config", config, "--out", str(out)],
            env=_child_env(tmp_path, server.base_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while not server.requests and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.requests, "the grader was never called"
        process.send_signal(signal.SIGINT)
        while not (out / "report.json").exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
    # Leaving the server releases the hanging request, so the worker thread can finish and the process exit.
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr.decode()
    report = json.loads((out / "report.json").read_text())
    assert report["interrupted"] is True and report["status"] == "interrupted"
    status = {c["id"]: c["status"] for c in report["cases"]}
    assert status["det-1"] == "pass" and status["det-2"] == "pass"
    assert status["graded-1"] == "not-run" and status["graded-2"] == "not-run"
    assert (out / "junit.xml").is_file() and (out / "report.html").is_file()


PLUGIN_CASES = """\
suite: team
target: static
cases:
  - {id: asks-first, input: "Can I offer an idea?", expect: [{type: finding-present, kind: permission}]}
  - {id: tells, input: "You should call her.", expect: [{type: finding-absent, kind: directive}]}
"""


def _pytest(tmp_path: Path, target: Path) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACH_")}
    env["COACH_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "evals.pytest_plugin", "-q", "-p", "no:cacheprovider",
         "--rootdir", str(tmp_path), str(target)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    return result.stdout + result.stderr


def test_pytest_collects_case_files_as_tests(tmp_path: Path) -> None:
    good = tmp_path / "team.eval.yaml"
    good.write_text(PLUGIN_CASES, encoding="utf-8")
    output = _pytest(tmp_path, good)
    assert "1 failed, 1 passed" in output, output
    assert "team.eval.yaml::tells" in output
    assert "finding-absent kind=directive: unexpected finding(s): directive-should" in output
    broken = tmp_path / "broken.eval.yaml"
    broken.write_text(PLUGIN_CASES.replace("finding-absent", "finding-gone"), encoding="utf-8")
    output = _pytest(tmp_path, broken)
    assert "1 error" in output and f"{broken}:5: case 'tells'" in output
    assert "unknown assertion type 'finding-gone'" in output and "Traceback" not in output


@pytest.mark.slow
def test_pytest_evals_runs_the_bundled_analyzer_suite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACH_")}
    env["COACH_HOME"] = str(tmp_path / "home")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "evals/suites/analyzer.yaml"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads(_analyzer_report(tmp_path))
    counts = report["suites"]["analyzer"]["counts"]
    assert f"{counts['fail']} failed, {counts['pass']} passed" in result.stdout, result.stdout[-2000:]


def _analyzer_report(tmp_path: Path) -> str:
    """The same suite through ``coach eval``: pytest and the CLI must agree case for case."""
    out = tmp_path / "cli"
    main(["eval", "-q", str(PROJECT_ROOT / "evals" / "suites" / "analyzer.yaml"), "--out", str(out)])
    return (out / "report.json").read_text()


def test_a_scripted_fallback_does_not_hide_an_unreachable_model(tmp_path: Path, monkeypatch) -> None:
    # The persona covers a dead model with an in-character line; the eval must report the case errored.
    for name, value in {"COACH_PROVIDER": "openai", "COACH_MODEL": "gpt-4o-mini", "OPENAI_API_KEY": "test-key",
                        "OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "COACH_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    (tmp_path / "p.yaml").write_text(
        "suite: persona\ntarget: persona\ncases:\n  - id: hello\n    input: {scenario: credit-dispute, turns: ['What happened?']}\n"
        "    expect: [{type: length, min_chars: 1}]\n", encoding="utf-8")
    (tmp_path / "cfg.yaml").write_text("suites: {}\n", encoding="utf-8")
    code = main(["eval", "-q", str(tmp_path / "p.yaml"), "--config", str(tmp_path / "cfg.yaml"), "--out", str(tmp_path / "out")])
    assert code == 2
    case = json.loads((tmp_path / "out" / "report.json").read_text())["cases"][0]
    assert case["status"] == "error" and "could not be reached" in case["reason"]
