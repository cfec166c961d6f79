-- Rewind: a branch is a session that shares its parent's turns [0, fork_index).
ALTER TABLE sessions ADD COLUMN parent_session_id TEXT REFERENCES sessions(id);
ALTER TABLE sessions ADD COLUMN fork_index INTEGER;
CREATE INDEX sessions_parent ON sessions(parent_session_id);
CREATE INDEX sessions_started ON sessions(started_at);

-- Debrief scores per principle (0-100), written when a session ends; the progress query reads them.
CREATE TABLE scores (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    principle  TEXT NOT NULL,
    score      INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    evidence   INTEGER NOT NULL DEFAULT 0,    -- how many findings the score rests on
    PRIMARY KEY (session_id, principle)
);
CREATE INDEX scores_principle ON scores(principle);
