-- Supervision tasks (督办任务) made from a work report's targets (docs/supervision.md).
-- `body` is the task's projection as JSON (onegrid_core::supervision::Task); the columns beside it
-- are copies for filtering. The history is append-only and hash-chained like the case history.

CREATE TABLE supervision_tasks (
    id       INTEGER PRIMARY KEY,
    report   TEXT NOT NULL,
    year     INTEGER NOT NULL,
    lead     TEXT,
    section  TEXT NOT NULL,
    deadline TEXT NOT NULL,
    version  INTEGER NOT NULL,
    body     TEXT NOT NULL
);
CREATE INDEX supervision_tasks_lead ON supervision_tasks (lead);

CREATE TABLE supervision_task_events (
    task_id INTEGER NOT NULL REFERENCES supervision_tasks (id),
    seq     INTEGER NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;

CREATE TRIGGER supervision_task_events_no_update BEFORE UPDATE ON supervision_task_events
BEGIN
    SELECT RAISE(ABORT, 'task history is append-only: events cannot be changed');
END;
CREATE TRIGGER supervision_task_events_no_delete BEFORE DELETE ON supervision_task_events
BEGIN
    SELECT RAISE(ABORT, 'task history is append-only: events cannot be deleted');
END;
