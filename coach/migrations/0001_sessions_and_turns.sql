-- Sessions, their turns, the analyzer's findings and the employee state after each turn.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    scenario_id   TEXT NOT NULL,
    started_at    TEXT NOT NULL,              -- ISO 8601 UTC
    ended_at      TEXT,
    initial_state TEXT NOT NULL               -- JSON of EmployeeState
);

CREATE TABLE turns (
    id         INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,              -- 0-based position in the conversation path
    role       TEXT NOT NULL CHECK (role IN ('manager', 'employee')),
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    analysis   TEXT,                          -- JSON: behaviour, scores, permission_asked, notices
    UNIQUE (session_id, idx)
);

-- One row per finding, so principles can be queried; data holds the whole Finding as JSON.
CREATE TABLE findings (
    id        INTEGER PRIMARY KEY,
    turn_id   INTEGER NOT NULL REFERENCES turns(id) ON DELETE CASCADE,
    kind      TEXT NOT NULL,
    principle TEXT NOT NULL,
    polarity  TEXT NOT NULL,
    level     TEXT NOT NULL,
    data      TEXT NOT NULL
);
CREATE INDEX findings_turn ON findings(turn_id);
CREATE INDEX findings_principle ON findings(principle);

-- Employee state after a turn and the explained changes that led to it.
CREATE TABLE states (
    turn_id INTEGER PRIMARY KEY REFERENCES turns(id) ON DELETE CASCADE,
    trust   INTEGER NOT NULL,
    stress  INTEGER NOT NULL,
    state   TEXT NOT NULL,                    -- JSON of EmployeeState
    changes TEXT NOT NULL                     -- JSON list of StateChange
);
