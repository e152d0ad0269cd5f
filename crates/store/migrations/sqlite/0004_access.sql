-- Accounts, sessions, API keys, photos, webhooks: what the HTTP interface keeps besides cases.
-- Secrets are stored hashed (passwords with argon2, tokens and API keys with SHA-256), except
-- webhook secrets, which the server needs in clear to sign deliveries.

CREATE TABLE credentials (
    person        TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    person     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_person ON sessions (person);

CREATE TABLE api_keys (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    key_hash   TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

-- Photos are content-addressed: `hash` is the SHA-256 of `bytes`, so a photo sent twice is kept once.
CREATE TABLE photos (
    hash       TEXT PRIMARY KEY,
    mime       TEXT NOT NULL,
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
);

-- A webhook delivers the case events its owner may see (the owner's role and scope decide).
-- `cursor` is the last event (events.rowid) handed to it.
CREATE TABLE webhooks (
    id         INTEGER PRIMARY KEY,
    owner      TEXT NOT NULL,
    url        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1,
    cursor     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE deliveries (
    id         INTEGER PRIMARY KEY,
    webhook    INTEGER NOT NULL,
    event_seq  INTEGER NOT NULL,
    attempt    INTEGER NOT NULL,
    at         TEXT NOT NULL,
    status     INTEGER,
    error      TEXT,
    delivered  INTEGER NOT NULL
);
CREATE INDEX deliveries_webhook ON deliveries (webhook, id);
