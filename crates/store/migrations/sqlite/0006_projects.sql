-- Major projects (重大项目): one row per project, its record (`onegrid_core::projects::ProjectFields`)
-- as JSON, with the columns that lists filter on copied out; every change is an event in
-- `project_events`, hash-chained per project and never updated or deleted.

CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    department  TEXT NOT NULL,
    park        TEXT,
    cell        TEXT NOT NULL,
    fields      TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX projects_department ON projects (department);
CREATE INDEX projects_park ON projects (park);

CREATE TABLE project_events (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    -- 1 for the registration, then one more per change: equals the project's version after it.
    seq         INTEGER NOT NULL,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    -- created, updated or imported.
    kind        TEXT NOT NULL,
    -- JSON: the whole record for created/imported, the changed fields for updated.
    body        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (project_id, seq)
);

CREATE TRIGGER project_events_no_update BEFORE UPDATE ON project_events
BEGIN
    SELECT RAISE(ABORT, 'project events are append-only');
END;

CREATE TRIGGER project_events_no_delete BEFORE DELETE ON project_events
BEGIN
    SELECT RAISE(ABORT, 'project events are append-only');
END;
