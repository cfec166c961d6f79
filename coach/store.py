"""Rehearsal sessions in SQLite: sessions, turns, findings, state snapshots, scores.

- One file, ``settings.db_path`` (``COACH_HOME/coach.db``), in WAL mode with ``synchronous=FULL``:
  every turn is its own committed transaction, so a crash or ``kill -9`` loses no completed turn.
- Versioned migrations (``coach/migrations/NNNN_*.sql``) are applied in order; the
  ``schema_version`` table records which ran.
- One connection per thread (SQLite connections must not be shared across threads); every method
  takes the session id, so two sessions in one process never share state.
- Rewind makes a branch: a new session that shares its parent's turns before the fork index.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from coach.analyzer.model import Analysis
from coach.config import get_settings
from coach.errors import StoreError, UsageError
from coach.rehearsal.models import (
    ROLES,
    EmployeeState,
    SessionInfo,
    StateChange,
    TurnRecord,
    analysis_from_dict,
)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def now_iso() -> str:
    """Current UTC time, ISO 8601 with milliseconds (sorts as text)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every migration, in version order."""
    found = []
    for entry in resources.files("coach.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migration files must be numbered 1..n without gaps, found {versions}")
    return found


def _statements(sql: str) -> list[str]:
    """Split a script into statements (sqlite3.complete_statement handles quotes and triggers)."""
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip() and not all(l.strip().startswith("--") or not l.strip() for l in buf.splitlines()):
        raise StoreError("a migration ends with an incomplete SQL statement")
    return out


def schema_version(conn: sqlite3.Connection) -> int:
    """Highest applied migration (0 for a new database)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def apply_migrations(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Bring the schema up to ``target`` (default: latest), one transaction per migration.

    The version is re-read inside each write transaction, so two processes opening a new
    database at once never apply a migration twice.
    """
    known = migrations()
    latest = known[-1][0] if known else 0
    target = latest if target is None else target
    current = schema_version(conn)
    if current > latest:
        raise StoreError(f"the database schema is version {current}, newer than this coach knows ({latest}); upgrade coach")
    for version, name, sql in known:
        if version > target:
            break
        conn.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(conn) >= version:
                conn.execute("COMMIT")
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, now_iso()))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"migration {name} failed: {exc}") from exc
    return schema_version(conn)


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL, durable commits."""
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before add_turn returns; NORMAL could lose the last turns on
        # power loss (not on kill -9, but the cost of FULL is one fsync per turn, which is fine).
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=30000")
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the session database {path}: {exc}") from exc
    return conn


@dataclass(frozen=True)
class ProgressPoint:
    """One principle's score in one ended session."""

    principle: str
    score: int
    evidence: int
    session_id: str
    scenario_id: str
    at: str          # when the session ended


class Store:
    """The session database. Thread-safe: each thread gets its own connection."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else get_settings().db_path
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self.path.parent}: {exc.strerror or exc}") from exc
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        # Parsed turns per session: {session id: (turn count, highest turn row id, records)}. Turns are
        # append-only, so (count, max id) read fresh from the database tells whether the copy is
        # current; a web request reads a session's turns several times and parsing their JSON each
        # time cost more than the analysis itself.
        self._turn_cache: dict[str, tuple[int, int, list[TurnRecord]]] = {}
        try:
            apply_migrations(self._conn())
        except sqlite3.DatabaseError as exc:
            self.close()
            raise StoreError(f"{self.path} is not a usable session database: {exc}") from exc

    # --- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened (call from the owning thread at shutdown)."""
        with self._lock:
            for conn in self._all:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass  # opened by another thread that is gone; SQLite closes it at exit
            self._all.clear()
        self._local = threading.local()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def schema_version(self) -> int:
        """Current schema version."""
        return schema_version(self._conn())

    # --- sessions ------------------------------------------------------------------------------

    def create_session(self, scenario_id: str, initial_state: EmployeeState) -> SessionInfo:
        """Start a session; committed before returning."""
        sid = uuid.uuid4().hex[:12]
        self._conn().execute(
            "INSERT INTO sessions (id, scenario_id, started_at, initial_state) VALUES (?, ?, ?, ?)",
            (sid, scenario_id, now_iso(), json.dumps(initial_state.to_dict())),
        )
        return self.get_session(sid)

    def _session_row(self, session_id: str) -> sqlite3.Row:
        row = self._conn().execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise UsageError(f"unknown session {session_id!r}; `coach history` lists your sessions")
        return row

    def _info(self, row: sqlite3.Row) -> SessionInfo:
        scores = {
            r["principle"]: int(r["score"])
            for r in self._conn().execute("SELECT principle, score FROM scores WHERE session_id = ? ORDER BY principle", (row["id"],))
        }
        return SessionInfo(
            id=row["id"], scenario_id=row["scenario_id"], started_at=row["started_at"], ended_at=row["ended_at"],
            initial_state=EmployeeState.from_dict(json.loads(row["initial_state"])),
            parent_session_id=row["parent_session_id"], fork_index=row["fork_index"], scores=scores,
        )

    def get_session(self, session_id: str) -> SessionInfo:
        """A session by id; unknown ids raise :class:`UsageError`."""
        return self._info(self._session_row(session_id))

    def list_sessions(self, *, limit: int = 50, scenario_id: str | None = None) -> list[SessionInfo]:
        """Most recent sessions first (branches included)."""
        sql, args = "SELECT * FROM sessions", []
        if scenario_id:
            sql, args = sql + " WHERE scenario_id = ?", [scenario_id]
        rows = self._conn().execute(sql + " ORDER BY started_at DESC, rowid DESC LIMIT ?", (*args, max(1, limit)))
        return [self._info(r) for r in rows.fetchall()]

    def branches(self, session_id: str) -> list[SessionInfo]:
        """Sessions branched (rewound) from this one, oldest first."""
        rows = self._conn().execute(
            "SELECT * FROM sessions WHERE parent_session_id = ? ORDER BY started_at, rowid", (session_id,)
        ).fetchall()
        return [self._info(r) for r in rows]

    def end_session(self, session_id: str, scores: Mapping[str, int] | None = None,
                    evidence: Mapping[str, int] | None = None) -> SessionInfo:
        """Mark the session ended and store its per-principle scores (replacing earlier ones)."""
        self._session_row(session_id)
        scores = dict(scores or {})
        for principle, score in scores.items():
            if not 0 <= int(score) <= 100:
                raise UsageError(f"score for {principle!r} must be 0-100, got {score}")
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("UPDATE sessions SET ended_at = ? WHERE id = ?", (now_iso(), session_id))
            conn.execute("DELETE FROM scores WHERE session_id = ?", (session_id,))
            conn.executemany(
                "INSERT INTO scores (session_id, principle, score, evidence) VALUES (?, ?, ?, ?)",
                [(session_id, p, int(s), int((evidence or {}).get(p, 0))) for p, s in sorted(scores.items())],
            )
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(f"cannot end session {session_id}: {exc}") from exc
        return self.get_session(session_id)

    # --- turns ---------------------------------------------------------------------------------

    def add_turn(self, session_id: str, role: str, text: str, *, analysis: Analysis | None = None,
                 state: EmployeeState | None = None, changes: Iterable[StateChange] = ()) -> TurnRecord:
        """Append a turn (with its findings and state) in one committed transaction."""
        if role not in ROLES:
            raise UsageError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
        if not isinstance(text, str) or not text.strip():
            raise UsageError("a turn needs some text; empty turns are not stored")
        changes = tuple(changes)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")  # index computation and insert are one atomic step
        try:
            row = self._session_row(session_id)
            if row["ended_at"]:
                raise UsageError(f"session {session_id} has ended; rewind to branch it and continue")
            last = conn.execute("SELECT MAX(idx) FROM turns WHERE session_id = ?", (session_id,)).fetchone()[0]
            index = last + 1 if last is not None else int(row["fork_index"] or 0)
            created = now_iso()
            meta = None
            if analysis is not None:
                meta = json.dumps({k: v for k, v in analysis.to_dict().items() if k != "findings"})
            cur = conn.execute(
                "INSERT INTO turns (session_id, idx, role, text, created_at, analysis) VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, index, role, text, created, meta),
            )
            turn_id = cur.lastrowid
            if analysis is not None:
                conn.executemany(
                    "INSERT INTO findings (turn_id, kind, principle, polarity, level, data) VALUES (?, ?, ?, ?, ?, ?)",
                    [(turn_id, f.kind, f.principle, f.polarity, f.level, json.dumps(f.to_dict())) for f in analysis.findings],
                )
            if state is not None:
                conn.execute(
                    "INSERT INTO states (turn_id, trust, stress, state, changes) VALUES (?, ?, ?, ?, ?)",
                    (turn_id, state.trust, state.stress, json.dumps(state.to_dict()),
                     json.dumps([c.to_dict() for c in changes])),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return TurnRecord(session_id=session_id, index=index, role=role, text=text, created_at=created,
                          analysis=analysis, state=state, changes=changes if state is not None else ())

    #: Sessions whose parsed turns are kept (the least recently stored are dropped first).
    TURN_CACHE_SESSIONS = 256

    def _own_turns(self, session_id: str) -> list[TurnRecord]:
        """The turns recorded in this session (not its parent's), in order; parsed once, then
        extended with the turns added since (by this process or any other)."""
        conn = self._conn()
        count, max_id = conn.execute(
            "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM turns WHERE session_id = ?", (session_id,)
        ).fetchone()
        with self._lock:
            cached = self._turn_cache.get(session_id)
        if cached is not None and cached[:2] == (count, max_id):
            return list(cached[2])
        if cached is not None and cached[0] < count and cached[1] < max_id:
            records = cached[2] + self._load_turns(conn, session_id, after_id=cached[1])
            if len(records) != count:  # not a plain append: read everything again
                records = self._load_turns(conn, session_id)
        else:
            records = self._load_turns(conn, session_id)
        with self._lock:
            self._turn_cache.pop(session_id, None)
            self._turn_cache[session_id] = (count, max_id, records)
            while len(self._turn_cache) > self.TURN_CACHE_SESSIONS:
                self._turn_cache.pop(next(iter(self._turn_cache)))
        return list(records)

    def _load_turns(self, conn: sqlite3.Connection, session_id: str, after_id: int = 0) -> list[TurnRecord]:
        """Parse this session's turns whose row id is above ``after_id``, in conversation order."""
        rows = conn.execute(
            "SELECT t.*, s.state AS st, s.changes AS ch FROM turns t LEFT JOIN states s ON s.turn_id = t.id "
            "WHERE t.session_id = ? AND t.id > ? ORDER BY t.idx", (session_id, after_id),
        ).fetchall()
        findings: dict[int, list[dict]] = {}
        for f in conn.execute(
            "SELECT f.turn_id, f.data FROM findings f JOIN turns t ON t.id = f.turn_id "
            "WHERE t.session_id = ? AND t.id > ? ORDER BY f.id",
            (session_id, after_id),
        ):
            findings.setdefault(f["turn_id"], []).append(json.loads(f["data"]))
        out = []
        for r in rows:
            analysis = None
            if r["analysis"] is not None:
                analysis = analysis_from_dict({**json.loads(r["analysis"]), "findings": findings.get(r["id"], [])})
            state = EmployeeState.from_dict(json.loads(r["st"])) if r["st"] else None
            changes = tuple(StateChange.from_dict(c) for c in json.loads(r["ch"])) if r["ch"] else ()
            out.append(TurnRecord(session_id=session_id, index=r["idx"], role=r["role"], text=r["text"],
                                  created_at=r["created_at"], analysis=analysis, state=state, changes=changes))
        return out

    def turns(self, session_id: str) -> list[TurnRecord]:
        """The conversation path of a session: for a branch, the parent's turns before the fork, then its own."""
        row = self._session_row(session_id)
        own = self._own_turns(session_id)
        if row["parent_session_id"] is None:
            return own
        shared = [t for t in self.turns(row["parent_session_id"]) if t.index < row["fork_index"]]
        return shared + own

    def current_state(self, session_id: str) -> EmployeeState:
        """The employee state after the last stored manager turn, or the initial state."""
        for turn in reversed(self.turns(session_id)):
            if turn.state is not None:
                return turn.state
        return self.get_session(session_id).initial_state

    def branch(self, session_id: str, at_index: int) -> SessionInfo:
        """Rewind: a new session sharing turns [0, at_index); ``at_index`` must be a manager turn.

        The original session is untouched, so both paths are kept. The new branch continues
        from the state before that manager turn (see :meth:`current_state`).
        """
        path = self.turns(session_id)
        target = next((t for t in path if t.index == at_index), None)
        if target is None or target.role != "manager":
            managers = [t.index for t in path if t.role == "manager"]
            raise UsageError(
                f"cannot rewind to turn {at_index}: pick a manager turn of session {session_id} "
                f"({', '.join(map(str, managers)) or 'none yet'})"
            )
        parent = self.get_session(session_id)
        sid = uuid.uuid4().hex[:12]
        self._conn().execute(
            "INSERT INTO sessions (id, scenario_id, started_at, initial_state, parent_session_id, fork_index) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (sid, parent.scenario_id, now_iso(), json.dumps(parent.initial_state.to_dict()), session_id, at_index),
        )
        return self.get_session(sid)

    # --- progress ------------------------------------------------------------------------------

    def progress(self, principle: str | None = None) -> list[ProgressPoint]:
        """Scores per principle over time (ended sessions, oldest first)."""
        sql = ("SELECT sc.principle, sc.score, sc.evidence, s.id, s.scenario_id, s.ended_at FROM scores sc "
               "JOIN sessions s ON s.id = sc.session_id WHERE s.ended_at IS NOT NULL")
        args: tuple = ()
        if principle:
            sql, args = sql + " AND sc.principle = ?", (principle,)
        rows = self._conn().execute(sql + " ORDER BY s.ended_at, s.rowid, sc.principle", args).fetchall()
        return [ProgressPoint(principle=r[0], score=r[1], evidence=r[2], session_id=r[3], scenario_id=r[4], at=r[5])
                for r in rows]
