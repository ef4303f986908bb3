-- +goose Up
-- Message tracking (internal/tracking). Kept compact: a record is a row of
-- small integers; names (servers, partners) are interned once; a
-- message's addresses, subject and ids are stored once per message, not
-- per record. Times are Unix milliseconds (UTC).
CREATE TABLE tracking_names (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE COLLATE NOCASE,
    sends INTEGER NOT NULL DEFAULT 0 -- 1: this server has sent tracking
);

CREATE TABLE tracking_messages (
    id         INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,            -- the first id seen (tracking_ids holds all)
    sender     TEXT NOT NULL COLLATE NOCASE,
    subject    TEXT NOT NULL COLLATE NOCASE,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    state      INTEGER NOT NULL DEFAULT 0, -- tracking.states index, as of the last record
    complete   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tracking_messages_sender ON tracking_messages (sender);
CREATE INDEX tracking_messages_subject ON tracking_messages (subject);
-- Retention prunes by this index (never by id order).
CREATE INDEX tracking_messages_last_seen ON tracking_messages (last_seen);

-- Every id a message is known by: message ids, MTS-IDs, remote ids.
CREATE TABLE tracking_ids (
    ident TEXT NOT NULL PRIMARY KEY,
    msg   INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX tracking_ids_msg ON tracking_ids (msg);

CREATE TABLE tracking_recipients (
    addr TEXT NOT NULL COLLATE NOCASE,
    msg  INTEGER NOT NULL,
    PRIMARY KEY (addr, msg)
) WITHOUT ROWID;
CREATE INDEX tracking_recipients_msg ON tracking_recipients (msg);

CREATE TABLE tracking_records (
    id        INTEGER PRIMARY KEY,
    msg       INTEGER NOT NULL,
    t         INTEGER NOT NULL,
    server    INTEGER NOT NULL,
    event     INTEGER NOT NULL,
    partner   INTEGER NOT NULL DEFAULT 0,
    size      INTEGER NOT NULL DEFAULT 0,
    remote_id TEXT
);
CREATE INDEX tracking_records_msg ON tracking_records (msg, server);

-- Who may read subjects (docs/tracking.md): an account or a token.
CREATE TABLE tracking_subject_grants (
    kind       TEXT NOT NULL CHECK (kind IN ('account', 'token')),
    subject_id INTEGER NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at TEXT NOT NULL,
    PRIMARY KEY (kind, subject_id)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE tracking_subject_grants;
DROP TABLE tracking_records;
DROP TABLE tracking_recipients;
DROP TABLE tracking_ids;
DROP TABLE tracking_messages;
DROP TABLE tracking_names;
