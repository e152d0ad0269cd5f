-- Public opinion (舆情): every short post received at POST /api/opinions, relevant or not, with what
-- the relevance model and the classifier said and what intake decided. `auto_decision` keeps the first
-- decision, so that a desk overriding a dismissal (a miss of the relevance model) can be counted;
-- `decision`, `case_id` and `placed_*` change only when a desk places the post, or (`decision`,
-- `auto_decision`, `case_id`) when intake settles a relevant post it recorded before making its case.

CREATE TABLE opinions (
    id              INTEGER PRIMARY KEY,
    received_at     TEXT NOT NULL,
    -- The account that sent the post (the 舆情 monitoring system's integrator account, or a desk).
    received_by     TEXT NOT NULL,
    posted_at       TEXT,
    source          TEXT NOT NULL,
    url             TEXT,
    text            TEXT NOT NULL,
    -- The place as the sender gave it (any of them may be missing).
    lon             REAL,
    lat             REAL,
    crs             TEXT,
    cell            TEXT,
    address         TEXT,
    relevance       REAL NOT NULL,
    relevant        INTEGER NOT NULL CHECK (relevant IN (0, 1)),
    -- The classifier's label and confidence (relevant posts only).
    label           TEXT,
    confidence      REAL,
    -- For a post without a place: the open case its text matched best, and how well.
    candidate_case  INTEGER,
    candidate_similarity REAL,
    auto_decision   TEXT NOT NULL
        CHECK (auto_decision IN ('dismissed', 'opened', 'attached', 'needs_place')),
    decision        TEXT NOT NULL
        CHECK (decision IN ('dismissed', 'opened', 'attached', 'needs_place')),
    -- The case it opened or was attached to (opened, attached).
    case_id         INTEGER,
    placed_by       TEXT,
    placed_at       TEXT,
    CHECK ((decision IN ('opened', 'attached')) = (case_id IS NOT NULL))
);
CREATE INDEX opinions_decision ON opinions (decision, id);
CREATE INDEX opinions_received_at ON opinions (received_at);
