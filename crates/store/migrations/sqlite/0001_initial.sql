-- onegrid SQLite schema, version 1.
-- `events` is the source of truth: append-only and hash-chained. `cases` is a projection of it,
-- rebuilt and compared by `onegrid verify`.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE areas (
    code      TEXT PRIMARY KEY,
    name      TEXT NOT NULL,
    level     TEXT NOT NULL,
    parent    TEXT,
    generated INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE departments (
    code       TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    short_name TEXT NOT NULL
);

CREATE TABLE categories (
    code           TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    major_name     TEXT NOT NULL,
    department     TEXT NOT NULL,
    tier           TEXT NOT NULL,
    accept_hours   INTEGER NOT NULL,
    dispatch_hours INTEGER NOT NULL,
    handle_hours   INTEGER NOT NULL,
    verify_hours   INTEGER NOT NULL,
    close_hours    INTEGER NOT NULL
);

CREATE TABLE people (
    id    TEXT PRIMARY KEY,
    name  TEXT NOT NULL,
    role  TEXT NOT NULL,
    scope TEXT NOT NULL,
    phone TEXT
);

CREATE TABLE cases (
    id          INTEGER PRIMARY KEY,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    cell        TEXT NOT NULL,
    category    TEXT NOT NULL,
    tier        TEXT NOT NULL,
    channel     TEXT NOT NULL,
    department  TEXT,
    reported_at TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    due_at      TEXT,
    head_hash   TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX cases_cell ON cases (cell);
CREATE INDEX cases_state ON cases (state);
CREATE INDEX cases_reported_at ON cases (reported_at);
CREATE INDEX cases_department ON cases (department);

CREATE TABLE events (
    case_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    at      TEXT NOT NULL,
    kind    TEXT NOT NULL,
    body    TEXT NOT NULL,
    hash    TEXT NOT NULL,
    PRIMARY KEY (case_id, seq)
) WITHOUT ROWID;

-- The history is append-only. The triggers stop mistakes; deliberate tampering (dropping them)
-- is caught by the hash chain.
CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'case history is append-only: events cannot be changed');
END;
CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'case history is append-only: events cannot be deleted');
END;
