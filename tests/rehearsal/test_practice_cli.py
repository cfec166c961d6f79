"""``coach practice`` and ``coach history`` end to end: piped conversations, the real local model
(small max_tokens), real SQLite; one run in a subprocess that is killed with SIGKILL mid-session."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from coach.cli import main
from coach.config import PROJECT_ROOT, get_settings
from coach.store import Store

REFLECT = "It sounds like being called useless in front of his team really stung. What happened next?"
ORDER = "You should just send the email tomorrow and move on."


@pytest.fixture
def small_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short replies keep the real model fast enough for CI."""
    monkeypatch.setenv("COACH_MAX_TOKENS", "24")
    monkeypatch.setenv("COACH_THREADS", "1")  # two llama.cpp threads crawl on a busy two-core machine
    get_settings.cache_clear()


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, argv: list[str],
            stdin: str | bytes = b"") -> tuple[int, str, str]:
    data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_without_a_scenario_and_no_terminal_it_lists_them(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, ["practice"])
    assert code == 0 and "customer-blowup" in out and "coach practice SCENARIO_ID" in out
    code, listed, _ = run_cli(monkeypatch, capsys, ["practice", "--list"])
    assert code == 0 and listed.count("\n") >= 10


def test_an_unknown_scenario_exits_2_and_lists_valid_ids(monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, ["practice", "nope"])
    assert code == 2 and "unknown scenario 'nope'" in err and "customer-blowup" in err


def test_history_is_empty_at_first(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, ["history"])
    assert code == 0 and "No rehearsal sessions yet" in out
    code, out, _ = run_cli(monkeypatch, capsys, ["history", "--json"])
    assert code == 0 and json.loads(out) == []
    code, _, err = run_cli(monkeypatch, capsys, ["history", "missing-id"])
    assert code == 2 and "unknown session" in err


@pytest.mark.slow
def test_a_piped_conversation_with_bad_input_rewind_and_debrief(monkeypatch, capsys, small_model) -> None:
    script = "\n".join([
        REFLECT,
        "",                      # empty: rejected, nothing recorded
        "x" * 50_000,            # too long: rejected
        ORDER,
        "/rewind 2",             # take line 2 again on a new branch
        "Would it help if I told you what I did when a customer yelled at me?",
        "/frobnicate",
        "/end",
    ]) + "\n"
    code, out, err = run_cli(monkeypatch, capsys, ["practice", "customer-blowup"], script.encode("utf-8") + b"\xff\xfe\n")
    assert code == 0
    assert "Jordan: Do you have a minute?" in out
    assert out.count("coach \u00b7 your line") == 3
    assert "try: " in out and "card: " in out and "trust 55 -> " in out
    assert out.count("\nJordan: ") >= 4  # opening, two replies before the rewind, the line after it, one after
    assert "Rewound: new branch" in out and "## Debrief" in out and "### Scorecard" in out
    assert "empty turn" in err and "the limit is 4000" in err and "unknown command /frobnicate" in err
    assert "not UTF-8 text" in err

    code, listing, _ = run_cli(monkeypatch, capsys, ["history", "--json"])
    rows = json.loads(listing)
    assert code == 0 and len(rows) == 2
    branch, original = rows  # newest first
    assert branch["parent_session_id"] == original["id"] and branch["ended_at"] and not original["ended_at"]
    assert original["manager_turns"] == 2 and branch["manager_turns"] == 2
    assert branch["scores"] and branch["overall"] == round(sum(branch["scores"].values()) / len(branch["scores"]))
    assert "ask-permission" in branch["scores"]

    code, table, _ = run_cli(monkeypatch, capsys, ["history"])
    assert code == 0 and branch["id"] in table and f"(rewind of {original['id']})" in table
    code, markdown, _ = run_cli(monkeypatch, capsys, ["history", branch["id"]])
    assert code == 0 and markdown.startswith("# Rehearsal: Wound up after a customer blow-up") and "## Debrief" in markdown
    code, exported, _ = run_cli(monkeypatch, capsys, ["history", branch["id"], "--json"])
    assert json.loads(exported)["session"]["id"] == branch["id"]
    code, progress, _ = run_cli(monkeypatch, capsys, ["history", "--progress", "--json"])
    assert {p["session_id"] for p in json.loads(progress)} == {branch["id"]}

    code, resumed, _ = run_cli(monkeypatch, capsys, ["practice", "--resume", original["id"]], "What do you need?\n/quit\n")
    assert code == 0 and "coach \u00b7 your line 3" in resumed
    assert f"coach practice --resume {original['id']}" in resumed


@pytest.mark.slow
def test_kill_9_mid_session_then_resume_from_history(tmp_path: Path, small_model) -> None:
    """A real `coach practice` process is killed after its second reply; both turns survive."""
    env = {**os.environ, "COACH_HOME": str(tmp_path / "home"), "COACH_MAX_TOKENS": "24", "COACH_THREADS": "1",
           "PYTHONUNBUFFERED": "1"}
    child = subprocess.Popen([sys.executable, "-m", "coach.cli", "practice", "customer-blowup"], cwd=PROJECT_ROOT,
                             env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        header = child.stdout.readline()
        assert header.startswith("# Wound up after a customer blow-up")
        session_id = header.split("(session ")[1].rstrip(")\n")

        def read_until_jordan() -> str:
            while True:
                out = child.stdout.readline()
                assert out, "practice exited early"
                if out.startswith("Jordan: "):
                    return out

        assert "Do you have a minute?" in read_until_jordan()  # the opening line
        for line in (REFLECT, ORDER):
            child.stdin.write(line + "\n")
            child.stdin.flush()
            assert read_until_jordan().strip() != "Jordan:"  # the whole reply line: the turn is stored
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    with Store(tmp_path / "home" / "coach.db") as store:
        turns = store.turns(session_id)
    roles = [t.role for t in turns]
    assert roles[:5] == ["employee", "manager", "employee", "manager", "employee"]
    assert turns[1].text == REFLECT and turns[3].text == ORDER and turns[3].state is not None
    resumed = subprocess.run([sys.executable, "-m", "coach.cli", "practice", "--resume", session_id], cwd=PROJECT_ROOT,
                             env=env, input="/state\n/quit\n", capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0
    assert f"trust {turns[3].state.trust}/100" in resumed.stdout


def test_history_shows_a_session_whose_scenario_file_is_gone(monkeypatch, capsys, settings) -> None:
    import yaml

    from coach.rehearsal.engine import Rehearsal
    from coach.rehearsal.scenarios import get_scenario

    own = get_scenario("customer-blowup").model_dump(mode="json")
    own["id"] = "my-own-blowup"
    folder = settings.home / "scenarios"
    folder.mkdir(parents=True)
    (folder / "my-own-blowup.yaml").write_text(yaml.safe_dump(own), encoding="utf-8")
    with Store(settings.db_path) as store:
        r = Rehearsal.start("my-own-blowup", store=store)
        r.coach_turn("What happened?")
        r.end()
    code, with_file, _ = run_cli(monkeypatch, capsys, ["history", r.id])
    assert code == 0 and "## Debrief" in with_file
    (folder / "my-own-blowup.yaml").unlink()
    code, without, _ = run_cli(monkeypatch, capsys, ["history", r.id])
    assert code == 0 and "What happened?" in without and "## Debrief" not in without
    code, listing, _ = run_cli(monkeypatch, capsys, ["history", "--json"])
    assert json.loads(listing)[0]["scenario_id"] == "my-own-blowup" and json.loads(listing)[0]["scores"]
