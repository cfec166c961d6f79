"""The session store on real SQLite files: turns, branches, scores, migrations, threads, kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from coach.analyzer.model import Analysis, Finding
from coach.config import PROJECT_ROOT, get_settings
from coach.errors import StoreError, UsageError
from coach.rehearsal.models import EmployeeState, StateChange
from coach.store import Store, apply_migrations, connect, migrations, schema_version

START = EmployeeState(trust=50, stress=40)


def _finding(text: str, kind: str = "reflection-simple") -> Finding:
    return Finding(rule="r", principle="dramatic-listening", level="suggestion", kind=kind, polarity="good",
                   message="m", line=1, column=1, offset=0, length=len(text), text=text, fix=None)


def _manager(store: Store, sid: str, text: str, trust: int, turn: int) -> None:
    analysis = Analysis(text=text, findings=[_finding(text)], behaviour="reflection-simple",
                        behaviour_scores={"reflection-simple": 0.9}, permission_asked=False, notices=["n"])
    state = EmployeeState(trust=trust, stress=40, listening_moves=turn, turn=turn)
    change = StateChange(kind="rule", source="reflection-simple", trust=5, stress=0, principle="dramatic-listening",
                         quote=text, explanation="trust +5: you reflected her words back")
    store.add_turn(sid, "manager", text, analysis=analysis, state=state, changes=[change])


@pytest.fixture
def store(coach_home: Path):
    with Store() as s:
        yield s


def test_default_path_is_coach_home_and_wal(store: Store, coach_home: Path) -> None:
    assert store.path == coach_home / "coach.db" == get_settings().db_path
    mode = store._conn().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert store.schema_version() == len(migrations()) >= 2


def test_turns_round_trip_with_analysis_state_and_changes(store: Store) -> None:
    session = store.create_session("customer-blowup", START)
    assert session.initial_state == START and session.ended_at is None
    _manager(store, session.id, "That sounds infuriating \U0001F621 \u05e9\u05dc\u05d5\u05dd", 55, 1)
    employee = store.add_turn(session.id, "employee", "It was.")
    assert employee.index == 1
    turns = store.turns(session.id)
    assert [t.index for t in turns] == [0, 1] and [t.role for t in turns] == ["manager", "employee"]
    first = turns[0]
    assert first.text.endswith("\u05e9\u05dc\u05d5\u05dd")
    assert first.analysis.findings[0].text == first.text and first.analysis.behaviour == "reflection-simple"
    assert first.analysis.behaviour_scores == {"reflection-simple": 0.9} and first.analysis.notices == ["n"]
    assert first.state.trust == 55 and first.changes[0].explanation.startswith("trust +5")
    assert turns[1].analysis is None and turns[1].state is None
    assert store.current_state(session.id).trust == 55


def test_bad_turn_input_is_rejected_and_nothing_is_stored(store: Store) -> None:
    sid = store.create_session("customer-blowup", START).id
    with pytest.raises(UsageError, match="empty turns"):
        store.add_turn(sid, "manager", "   ")
    with pytest.raises(UsageError, match="role must be"):
        store.add_turn(sid, "coach", "hi")
    with pytest.raises(UsageError, match="unknown session 'nope'"):
        store.add_turn("nope", "manager", "hi")
    assert store.turns(sid) == []


def test_rewind_branches_and_keeps_both_paths(store: Store) -> None:
    sid = store.create_session("customer-blowup", START).id
    _manager(store, sid, "m0", 55, 1)
    store.add_turn(sid, "employee", "e1")
    _manager(store, sid, "m2", 60, 2)
    store.add_turn(sid, "employee", "e3")
    branch = store.branch(sid, 2)
    assert branch.parent_session_id == sid and branch.fork_index == 2
    # the branch continues from the state before manager turn 2
    assert store.current_state(branch.id).trust == 55
    _manager(store, branch.id, "m2 (other path)", 52, 2)
    assert [t.text for t in store.turns(branch.id)] == ["m0", "e1", "m2 (other path)"]
    assert [t.text for t in store.turns(sid)] == ["m0", "e1", "m2", "e3"]
    assert [b.id for b in store.branches(sid)] == [branch.id]
    # a branch of a branch, at the very first turn: back to the initial state
    again = store.branch(branch.id, 0)
    assert store.turns(again.id) == [] and store.current_state(again.id) == START
    with pytest.raises(UsageError, match=r"pick a manager turn .*\(0, 2\)"):
        store.branch(sid, 1)
    with pytest.raises(UsageError, match="cannot rewind to turn 9"):
        store.branch(sid, 9)


def test_end_scores_history_and_progress(store: Store) -> None:
    first = store.create_session("customer-blowup", START).id
    second = store.create_session("career-switcher", START).id
    store.end_session(first, {"dramatic-listening": 40, "calming-presence": 70}, {"dramatic-listening": 3})
    store.end_session(second, {"dramatic-listening": 75})
    with pytest.raises(UsageError, match="has ended"):
        store.add_turn(first, "manager", "more")
    with pytest.raises(UsageError, match="0-100"):
        store.end_session(second, {"x": 101})
    assert store.get_session(first).scores == {"calming-presence": 70, "dramatic-listening": 40}
    points = store.progress("dramatic-listening")
    assert [(p.session_id, p.score) for p in points] == [(first, 40), (second, 75)]
    assert points[0].evidence == 3 and points[0].scenario_id == "customer-blowup"
    assert {p.principle for p in store.progress()} == {"dramatic-listening", "calming-presence"}
    assert [s.id for s in store.list_sessions()] == [second, first]
    assert [s.id for s in store.list_sessions(scenario_id="career-switcher")] == [second]


def test_old_version_database_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = connect(path)
    assert apply_migrations(conn, target=1) == 1
    conn.execute("INSERT INTO sessions (id, scenario_id, started_at, initial_state) VALUES ('old1', 'career-switcher', "
                 "'2025-01-01T00:00:00.000+00:00', ?)", (json.dumps(START.to_dict()),))
    conn.execute("INSERT INTO turns (session_id, idx, role, text, created_at) VALUES ('old1', 0, 'manager', 'hello', "
                 "'2025-01-01T00:00:01.000+00:00')")
    conn.close()
    with Store(path) as store:
        assert store.schema_version() == len(migrations())
        versions = [r[0] for r in store._conn().execute("SELECT version FROM schema_version ORDER BY version")]
        assert versions == list(range(1, len(migrations()) + 1))
        old = store.get_session("old1")
        assert old.parent_session_id is None and old.scores == {}
        assert [t.text for t in store.turns("old1")] == ["hello"]
        store.end_session("old1", {"celebrate-effort": 60})
        assert store.progress()[0].score == 60
    with Store(path) as again:  # reopening applies nothing twice
        assert again.schema_version() == len(migrations())


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (99, 'future')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="version 99, newer than this coach"):
        Store(path)


def test_garbage_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "coach.db"
    path.write_bytes(b"this is not a database, just text " * 200)
    with pytest.raises(StoreError, match="coach.db"):
        Store(path)


def test_two_sessions_in_threads_never_mix(store: Store) -> None:
    a = store.create_session("customer-blowup", START).id
    b = store.create_session("career-switcher", EmployeeState(trust=10, stress=90)).id
    errors: list[BaseException] = []

    def talk(sid: str, tag: str, trust: int) -> None:
        try:
            for i in range(25):
                _manager(store, sid, f"{tag}-{i}", trust, i + 1)
                store.add_turn(sid, "employee", f"{tag}-reply-{i}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=talk, args=(a, "A", 61)), threading.Thread(target=talk, args=(b, "B", 11))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ta, tb = store.turns(a), store.turns(b)
    assert [t.index for t in ta] == list(range(50)) and [t.index for t in tb] == list(range(50))
    assert all(t.text.startswith("A") for t in ta) and all(t.text.startswith("B") for t in tb)
    assert {t.state.trust for t in ta if t.state} == {61} and {t.state.trust for t in tb if t.state} == {11}
    assert store.get_session(b).initial_state.stress == 90


CHILD = """
import sys, time
from pathlib import Path
from coach.analyzer.model import Analysis
from coach.rehearsal.models import EmployeeState
from coach.store import Store
store = Store(Path(sys.argv[1]))
sid = store.create_session("customer-blowup", EmployeeState(trust=50, stress=40)).id
print("session", sid, flush=True)
i = 0
while True:
    text = f"turn {i} " + "x" * 2000
    store.add_turn(sid, "manager", text, analysis=Analysis(text=text), state=EmployeeState(trust=i % 100, stress=40, turn=i))
    print("committed", i, flush=True)
    i += 1
"""


def test_kill_9_mid_session_loses_no_completed_turn(tmp_path: Path) -> None:
    path = tmp_path / "coach.db"
    env = {**os.environ, "COACH_HOME": str(tmp_path)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, text=True,
                             cwd=PROJECT_ROOT, env=env)
    try:
        sid = child.stdout.readline().split()[1]
        committed = -1
        while committed < 30:
            line = child.stdout.readline()
            assert line, "child exited early"
            committed = int(line.split()[1])
        os.kill(child.pid, signal.SIGKILL)  # mid-stream: it is busy writing the next turn
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL
    # read whatever the child printed before it died: each of those turns was committed
    rest = child.stdout.read().split("\n")
    committed = max([committed] + [int(x.split()[1]) for x in rest if x.startswith("committed")])
    with Store(path) as store:
        assert store._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        turns = store.turns(sid)
        assert len(turns) >= committed + 1
        assert [t.index for t in turns] == list(range(len(turns)))
        assert all(t.text.startswith(f"turn {t.index} ") for t in turns)
        assert store.current_state(sid).turn == len(turns) - 1
        store.add_turn(sid, "manager", "after the crash")  # the session goes on
        assert store.turns(sid)[-1].index == len(turns)


def test_schema_version_of_a_fresh_connection_is_zero(tmp_path: Path) -> None:
    conn = connect(tmp_path / "x.db")
    assert schema_version(conn) == 0
    conn.close()


def test_cached_turns_follow_writes_from_another_connection(store: Store, coach_home: Path) -> None:
    """Parsed turns are reused between reads, but a turn stored elsewhere (another process or Store) shows."""
    session = store.create_session("customer-blowup", START)
    _manager(store, session.id, "What happened?", 55, 1)
    first = store.turns(session.id)
    assert store.turns(session.id) == first and store.turns(session.id) is not first  # a copy each time
    with Store(store.path) as other:
        other.add_turn(session.id, "employee", "He shouted at me.")
        _manager(other, session.id, "That sounds awful.", 60, 2)
    turns = store.turns(session.id)
    assert [t.text for t in turns] == ["What happened?", "He shouted at me.", "That sounds awful."]
    assert [t.index for t in turns] == [0, 1, 2]
    assert turns[2].analysis.findings[0].text == "That sounds awful." and turns[2].state.trust == 60
    assert store.current_state(session.id).trust == 60
    with Store(store.path) as fresh:  # the cache never changes what is read
        assert fresh.turns(session.id) == turns


def test_turn_cache_is_bounded(store: Store) -> None:
    ids = [store.create_session("customer-blowup", START).id for _ in range(Store.TURN_CACHE_SESSIONS + 5)]
    for sid in ids:
        store.add_turn(sid, "employee", "Hi.")
        assert [t.text for t in store.turns(sid)] == ["Hi."]
    assert len(store._turn_cache) == Store.TURN_CACHE_SESSIONS
