-- +goose Up
-- Names are unique under the same folding that lookups use (NFKC, Unicode
-- case fold: store.FoldName). SQLite cannot compute it, so the store fills
-- name_key on every write and for older rows when it opens the database;
-- the unique index makes the rule the database's.
ALTER TABLE servers ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX servers_name_key ON servers (name_key);
ALTER TABLE sites ADD COLUMN name_key TEXT;
CREATE UNIQUE INDEX sites_name_key ON sites (name_key);

-- Idempotency keys belong to the agent token that sent them: two agents
-- may reuse a key without one's event swallowing the other's. The inline
-- UNIQUE of 0001 cannot be dropped, so the table is rebuilt, keeping its
-- ids and its AUTOINCREMENT high-water mark. token_id 0: no token (a
-- session, or the console itself).
CREATE TABLE events_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    time            TEXT NOT NULL,
    server          TEXT NOT NULL,
    server_id       INTEGER, -- NULL when the inventory does not know it
    requestor_id    INTEGER,
    source          TEXT NOT NULL,
    event_id        INTEGER NOT NULL,
    category        TEXT NOT NULL DEFAULT '',
    severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'error')),
    description     TEXT NOT NULL DEFAULT '',
    subject         TEXT NOT NULL DEFAULT '',
    fields          TEXT NOT NULL DEFAULT '{}',
    idempotency_key TEXT,
    unknown_server  INTEGER NOT NULL DEFAULT 0,
    token_id        INTEGER NOT NULL DEFAULT 0
);
INSERT INTO events_new (id, time, server, server_id, requestor_id, source, event_id, category, severity,
    description, subject, fields, idempotency_key, unknown_server)
SELECT id, time, server, server_id, requestor_id, source, event_id, category, severity,
    description, subject, fields, idempotency_key, unknown_server FROM events;
DELETE FROM sqlite_sequence WHERE name = 'events_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'events_new', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE UNIQUE INDEX events_idempotency ON events (token_id, idempotency_key);
CREATE INDEX events_server ON events (server, id);
CREATE INDEX events_event_id ON events (event_id, id);
-- Retention prunes by age through this index, oldest first.
CREATE INDEX events_time ON events (time);

-- +goose Down
SELECT 'not reversible: the events table was rebuilt';
