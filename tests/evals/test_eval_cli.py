"""``coach eval`` end to end (in-process): thresholds and exit codes, reports, baseline, bad input."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from coach.cli import main
from coach.config import PROJECT_ROOT

CONFIG = """\
run: {{repeat: 1, jobs: 2}}
suites:
  demo: {{min: {{pass_rate: {threshold}}}}}
"""

CASES = """\
suite: demo
target: static
cases:
  - id: good
    input: "Would it help if I shared what worked for me? When I was new, I called Dana before Friday."
    expect:
      - {type: finding-present, kind: permission}
      - {type: contains, value: Dana}
  - id: bad
    input: "You should call Dana. <script>alert('x')</script>"
    expect:
      - {type: finding-absent, kind: directive}
      - {type: not-contains, value: "<script>"}
"""


def run(tmp_path: Path, files: dict[str, str], *args: str, threshold: float = 0.5) -> tuple[int, Path]:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    if not any(a == "--config" for a in args):
        (tmp_path / "config.yaml").write_text(CONFIG.format(threshold=threshold), encoding="utf-8")
        args = (*args, "--config", str(tmp_path / "config.yaml"))
    out = tmp_path / "out"
    code = main(["eval", "-q", "--out", str(out), *args])
    return code, out


def test_passes_and_fails_on_the_threshold(tmp_path: Path, capsys) -> None:
    code, _ = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), threshold=0.5)
    assert code == 0
    code, _ = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), threshold=0.9)
    assert code == 1
    printed = capsys.readouterr().out
    assert "BELOW THRESHOLD: demo pass_rate 0.500 >= 0.9" in printed
    assert "FAIL demo/bad" in printed


def test_non_gating_suite_never_fails_the_run(tmp_path: Path) -> None:
    (tmp_path / "cfg.yaml").write_text("suites:\n  demo: {gating: false, min: {pass_rate: 1.0}}\n")
    code, out = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), "--config", str(tmp_path / "cfg.yaml"))
    assert code == 0
    gate = json.loads((out / "report.json").read_text())["gates"][0]
    assert gate["ok"] is False and gate["gating"] is False


def test_all_four_reports_are_written_and_agree(tmp_path: Path) -> None:
    code, out = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), threshold=0.9)
    assert code == 1
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["format"] == "coach-eval-report" and report["exit_code"] == 1
    demo = report["suites"]["demo"]
    assert demo["counts"]["pass"] == 1 and demo["counts"]["fail"] == 1
    assert demo["pass_rate"]["low"] < 0.5 < demo["pass_rate"]["high"]
    bad = next(c for c in report["cases"] if c["id"] == "bad")
    assert bad["status"] == "fail" and "directive-should" in bad["reason"]
    assert [a["outcome"] for a in bad["attempts"][0]["assertions"]] == ["fail", "fail"]

    junit = ET.parse(out / "junit.xml").getroot()
    suite = junit.find("testsuite")
    assert suite.get("name") == "demo" and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"good", "bad"}
    failure = cases["bad"].find("failure")
    assert "directive-should" in failure.get("message") and "not-contains" in failure.text
    assert cases["good"].find("failure") is None

    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "directive-should" in html

    markdown = (out / "summary.md").read_text(encoding="utf-8")
    assert "| demo | 2 | 1 | 1 |" in markdown
    assert "`demo/bad`" in markdown and "<script>" not in markdown


def test_report_paths_can_be_set_one_by_one(tmp_path: Path) -> None:
    junit = tmp_path / "ci" / "results.xml"
    code, out = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), "--junit", str(junit))
    assert code == 0 and junit.is_file() and (out / "report.json").is_file() and not (out / "junit.xml").exists()


def test_malformed_case_file_is_exit_2_with_file_and_line(tmp_path: Path, capsys) -> None:
    broken = CASES.replace("finding-absent", "finding-absnt")
    code, out = run(tmp_path, {"c.yaml": broken}, str(tmp_path / "c.yaml"))
    assert code == 2
    err = capsys.readouterr().err
    assert f"{tmp_path / 'c.yaml'}:12:" in err and "unknown assertion type 'finding-absnt'" in err
    assert "valid types:" in err
    assert not out.exists()  # nothing ran, so no report


@pytest.mark.parametrize(("config", "words"), [
    ("suites:\n  demo: {min: {pass_rat: 0.5}}\n", ":2: suites.demo.min: unknown metric 'pass_rat'"),
    ("run: {repeat: 0}\n", ":1: run.repeat must be a whole number of at least 1"),
    ("rubric: {gating: sometimes}\n", "rubric.gating must be auto, true or false"),
    ("suites: [\n", "YAML syntax error"),
    ("thresholds: {}\n", "unknown field 'thresholds'"),
])
def test_bad_config_is_exit_2(tmp_path: Path, capsys, config: str, words: str) -> None:
    (tmp_path / "cfg.yaml").write_text(config, encoding="utf-8")
    code, _ = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), "--config", str(tmp_path / "cfg.yaml"))
    assert code == 2
    assert words in capsys.readouterr().err


@pytest.mark.parametrize(("args", "words"), [
    (["--repeat", "0"], "--repeat must be at least 1"),
    (["--pass-rule", "pass@3"], "needs at least 3 repeats"),
    (["--suite", "nope"], "unknown suite 'nope'; suites in these files: demo"),
    (["--baseline", "missing.json"], "cannot read the baseline report"),
])
def test_bad_arguments_are_exit_2(tmp_path: Path, capsys, args: list[str], words: str) -> None:
    code, _ = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), *args)
    assert code == 2
    assert words in capsys.readouterr().err


def test_repeats_and_pass_rule(tmp_path: Path) -> None:
    code, out = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), "--repeat", "3", "--pass-rule", "majority")
    report = json.loads((out / "report.json").read_text())
    good = next(c for c in report["cases"] if c["id"] == "good")
    assert good["attempts_run"] == 3 and good["passes"] == 3 and good["pass_rule"] == "majority"
    assert report["suites"]["demo"]["attempt_pass_rate"]["n"] == 6


def _many(failing: int, total: int = 30) -> str:
    lines = ["suite: demo", "target: static", "cases:"]
    for n in range(total):
        text = "nope" if n < failing else "ok"
        lines.append(f"  - {{id: c{n}, input: {text}, expect: [{{type: contains, value: ok}}]}}")
    return "\n".join(lines) + "\n"


def test_baseline_flags_only_drops_beyond_noise(tmp_path: Path, capsys) -> None:
    (tmp_path / "cfg.yaml").write_text("suites:\n  demo: {min: {pass_rate: 0.0}}\n")
    cfg = ("--config", str(tmp_path / "cfg.yaml"))
    code, out = run(tmp_path, {"c.yaml": _many(0)}, str(tmp_path / "c.yaml"), *cfg)
    assert code == 0
    baseline = tmp_path / "baseline.json"
    shutil.copy(out / "report.json", baseline)
    # One case of 30 lost: within noise, not flagged (but listed as newly failing).
    code, out = run(tmp_path, {"c.yaml": _many(1)}, str(tmp_path / "c.yaml"), *cfg, "--baseline", str(baseline))
    report = json.loads((out / "report.json").read_text())
    assert code == 0, report["baseline"]
    assert report["baseline"]["regressions"] == [] and report["baseline"]["newly_failing"] == ["demo/c0"]
    # Ten lost: beyond noise -> flagged, exit 1.
    code, out = run(tmp_path, {"c.yaml": _many(10)}, str(tmp_path / "c.yaml"), *cfg, "--baseline", str(baseline))
    assert code == 1
    report = json.loads((out / "report.json").read_text())
    [drop] = report["baseline"]["regressions"]
    assert drop["metric"] == "pass_rate" and drop["baseline"] == 1.0 and drop["current"] == pytest.approx(2 / 3)
    assert "DROP beyond noise: demo pass_rate" in capsys.readouterr().out
    assert "beyond noise" in (out / "summary.md").read_text()


def test_baseline_must_be_an_eval_report(tmp_path: Path, capsys) -> None:
    (tmp_path / "other.json").write_text('{"hello": 1}')
    code, _ = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), "--baseline", str(tmp_path / "other.json"))
    assert code == 2 and "not a coach eval JSON report" in capsys.readouterr().err


def test_list_shows_suites_without_running(tmp_path: Path, capsys) -> None:
    code, out = run(tmp_path, {"c.yaml": CASES}, str(tmp_path / "c.yaml"), "--list")
    assert code == 0 and not out.exists()
    assert "demo: 2 cases, target static" in capsys.readouterr().out


def test_a_missing_target_is_errored_with_the_reason(tmp_path: Path, monkeypatch) -> None:
    from evals import targets

    missing = targets.Target("future", "not built yet", lambda c, x: None, requires=("coach.not_built_yet", "run"))
    monkeypatch.setitem(targets.TARGETS, "future", missing)
    text = "suite: demo\ntarget: future\ncases:\n  - {id: a, input: x, expect: [{type: contains, value: x}]}\n"
    code, out = run(tmp_path, {"c.yaml": text}, str(tmp_path / "c.yaml"))
    assert code == 2
    case = json.loads((out / "report.json").read_text())["cases"][0]
    assert case["status"] == "error" and case["reason"] == "target not available: coach.not_built_yet is not in this build"
    junit = ET.parse(out / "junit.xml").getroot()
    assert junit.find("testsuite/testcase/error") is not None


def test_missing_annomi_data_skips_with_the_reason(tmp_path: Path) -> None:
    text = ("suite: annomi\ntarget: annomi\ncases:\n"
            f"  - {{id: q, input: {{metric: question_f1, annomi_dir: {tmp_path / 'no-annomi'}}}, "
            "expect: [{type: metric, name: question_f1, min: 0.9}]}\n")
    code, out = run(tmp_path, {"a.yaml": text}, str(tmp_path / "a.yaml"))
    report = json.loads((out / "report.json").read_text())
    case = report["cases"][0]
    assert case["status"] == "skip" and "AnnoMI data not found" in case["reason"]
    assert code == 0  # skipped is not failed
    assert ET.parse(out / "junit.xml").getroot().find("testsuite/testcase/skipped") is not None


def test_a_broken_rule_makes_the_analyzer_gate_fail(tmp_path: Path, monkeypatch) -> None:
    from coach.config import get_settings

    suite = str(PROJECT_ROOT / "evals" / "suites" / "analyzer.yaml")
    config = str(PROJECT_ROOT / "evals" / "thresholds.yaml")
    codes = {}
    for name in ("intact", "broken"):
        knowledge = tmp_path / f"knowledge-{name}"
        shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
        if name == "broken":
            (knowledge / "rules" / "directives.yaml").unlink()  # a rule file deleted by mistake
        monkeypatch.setenv("COACH_KNOWLEDGE_DIR", str(knowledge))
        get_settings.cache_clear()
        codes[name] = main(["eval", "-q", suite, "--config", config, "--out", str(tmp_path / name)])
    assert codes == {"intact": 0, "broken": 1}
    report = json.loads((tmp_path / "broken" / "report.json").read_text())
    gate = next(g for g in report["gates"] if g["metric"] == "pass_rate")
    assert gate["ok"] is False and gate["actual"] < 0.8


def test_reports_survive_control_characters_emoji_and_rtl(tmp_path: Path) -> None:
    line = json.dumps({"id": "odd", "target": "static", "input": "bell\u0007 🤖 تجاهل التعليمات <b>bold</b> & co",
                       "expect": [{"type": "contains", "value": "nope"}]})
    (tmp_path / "odd.jsonl").write_text('{"suite": "demo", "target": "static"}\n' + line + "\n", encoding="utf-8")
    code, out = run(tmp_path, {}, str(tmp_path / "odd.jsonl"))
    assert code == 1
    testcase = ET.parse(out / "junit.xml").getroot().find("testsuite/testcase")  # parses: no raw \x07 in the XML
    assert "🤖 تجاهل" in testcase.find("system-out").text
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in html and "<b>bold" not in html


@pytest.mark.slow
def test_second_run_is_answered_from_the_cache_with_the_real_local_model(tmp_path: Path) -> None:
    text = ("suite: demo\ntarget: chat\ncases:\n"
            "  - id: hello\n    input: {user: Say hello to Dana in one short sentence., max_tokens: 24}\n"
            "    expect: [{type: length, min_chars: 1}]\n")
    code, out = run(tmp_path, {"c.yaml": text}, str(tmp_path / "c.yaml"))
    first = json.loads((out / "report.json").read_text())
    code_again, out = run(tmp_path, {"c.yaml": text}, str(tmp_path / "c.yaml"))
    second = json.loads((out / "report.json").read_text())
    assert code == code_again == 0
    assert first["totals"]["calls"] == 1 and first["totals"]["cached_calls"] == 0
    assert second["totals"]["calls"] == 0 and second["totals"]["cached_calls"] == 1
    assert first["cases"][0]["attempts"][0]["output"] == second["cases"][0]["attempts"][0]["output"]
    code, out = run(tmp_path, {"c.yaml": text}, str(tmp_path / "c.yaml"), "--no-cache")
    assert json.loads((out / "report.json").read_text())["totals"]["calls"] == 1


def test_a_broken_prompt_makes_the_rewrite_gate_fail(tmp_path: Path, monkeypatch) -> None:
    """The fallback keeps every rewrite safe, so the per-case checks pass either way; the share the
    model produced (score.produced-by) is what catches a broken prompt. Real local model."""
    from coach.config import get_settings

    cases = tmp_path / "rewrite.yaml"
    source = (PROJECT_ROOT / "evals" / "suites" / "rewrite.yaml").read_text(encoding="utf-8")
    head = source[: source.index("cases:")]
    cases.write_text(head + "cases:\n"
                     "  - {id: call-dana, input: You should call Dana before Friday.}\n"
                     "  - {id: agenda, input: You need to send the agenda the day before the meeting.}\n",
                     encoding="utf-8")
    config = tmp_path / "gates.yaml"
    config.write_text("suites:\n  rewrite: {min: {score.produced-by: 0.5}}\n", encoding="utf-8")
    codes = {}
    for name in ("intact", "broken"):
        prompts = tmp_path / f"prompts-{name}"
        shutil.copytree(PROJECT_ROOT / "prompts", prompts)
        if name == "broken":  # a prompt edit gone wrong: the examples now answer with orders, not stories
            shots = prompts / "rewrite.story.shots.md"
            lines = shots.read_text(encoding="utf-8").splitlines()
            for i, line in enumerate(lines[1:], 1):
                if line.startswith("Answer:") and lines[i - 1].startswith("Advice:"):
                    lines[i] = "Answer: You should " + lines[i - 1].removeprefix("Advice:").strip()
            shots.write_text("\n".join(lines) + "\n", encoding="utf-8")
        monkeypatch.setenv("COACH_PROMPTS_DIR", str(prompts))
        get_settings.cache_clear()
        codes[name] = main(["eval", "-q", str(cases), "--config", str(config), "--out", str(tmp_path / name)])
    assert codes == {"intact": 0, "broken": 1}
    report = json.loads((tmp_path / "broken" / "report.json").read_text())
    assert report["suites"]["rewrite"]["counts"]["pass"] == 2  # every output still safe...
    gate = next(g for g in report["gates"] if g["metric"] == "score.produced-by")
    assert gate["ok"] is False and gate["actual"] == 0.0  # ...but none of it came from the model
