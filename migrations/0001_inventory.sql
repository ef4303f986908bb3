-- +goose Up
-- The whole domain of DESIGN.md in one first cut, so later work adds
-- columns rather than redesigning. Times are RFC 3339 text in UTC.
-- Counters (user_count, message_count) are kept by the writes that change
-- them, so reports never scan messages.

CREATE TABLE organization (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL
);
INSERT INTO organization (id, name) VALUES (1, 'Mailnet');

CREATE TABLE sites (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    created_at TEXT NOT NULL
);

-- Serial numbers are data and repeat (Q99393): no UNIQUE on serial.
CREATE TABLE servers (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    site_id       INTEGER NOT NULL REFERENCES sites(id),
    kind          TEXT NOT NULL CHECK (kind IN ('msmail-mac', 'msmail-pc', 'exchange')),
    version       TEXT NOT NULL DEFAULT '',
    serial        TEXT NOT NULL,
    addresses     TEXT NOT NULL DEFAULT '[]', -- JSON array of IP addresses, in order
    status        TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped', 'decommissioned')),
    user_count    INTEGER NOT NULL DEFAULT 0,
    message_count INTEGER NOT NULL DEFAULT 0,
    last_event_id INTEGER,
    last_event_at TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX servers_serial ON servers (serial);
CREATE INDEX servers_site ON servers (site_id);

-- Configured routing between two servers; the effective routing is derived
-- by internal/reports.
CREATE TABLE routes (
    from_server_id INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    to_server_id   INTEGER NOT NULL REFERENCES servers(id) ON DELETE CASCADE,
    configured     TEXT NOT NULL CHECK (configured IN ('direct', 'indirect', 'none')),
    via_server_id  INTEGER REFERENCES servers(id) ON DELETE CASCADE,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (from_server_id, to_server_id),
    CHECK (from_server_id <> to_server_id),
    CHECK ((configured = 'indirect') = (via_server_id IS NOT NULL))
) WITHOUT ROWID;
CREATE INDEX routes_to ON routes (to_server_id);
CREATE INDEX routes_via ON routes (via_server_id) WHERE via_server_id IS NOT NULL;

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    alias          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    display_name   TEXT NOT NULL,
    server_id      INTEGER NOT NULL REFERENCES servers(id),
    in_all_listing INTEGER NOT NULL DEFAULT 1, -- as configured; duplicates hide it
    message_count  INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL
);
CREATE INDEX users_server ON users (server_id, id);

-- A message is stored on a server. During a move the target holds copies
-- (copy_of = the source row) until the switch; the unique index makes a
-- retried copy batch a no-op.
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    server_id   INTEGER NOT NULL REFERENCES servers(id),
    folder      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    size        INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    copy_of     INTEGER
);
CREATE INDEX messages_user ON messages (user_id, server_id, id);
CREATE UNIQUE INDEX messages_copy ON messages (copy_of, server_id) WHERE copy_of IS NOT NULL;

-- Old addresses that forward to a user's new home after a move.
CREATE TABLE forwards (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id),
    from_server_id INTEGER NOT NULL REFERENCES servers(id),
    to_server_id   INTEGER NOT NULL REFERENCES servers(id),
    address        TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX forwards_user ON forwards (user_id);

CREATE TABLE connectors (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('x400', 'msmail')),
    name             TEXT NOT NULL, -- the RDN
    server_id        INTEGER NOT NULL REFERENCES servers(id),
    remote_server_id INTEGER REFERENCES servers(id),
    stack_addresses  TEXT NOT NULL DEFAULT '[]', -- JSON array (the Stack property page)
    override_address TEXT,                        -- Stack IP Address Override
    poll_minutes     INTEGER,                     -- msmail: "Check for mail every N minutes"
    logging          TEXT NOT NULL DEFAULT '{}',  -- JSON {category: level}
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    UNIQUE (server_id, name)
);
CREATE INDEX connectors_remote ON connectors (remote_server_id);

-- An Exchange server acting as the directory synchronization server (DX).
CREATE TABLE dx_servers (
    server_id        INTEGER PRIMARY KEY REFERENCES servers(id),
    admin_account    TEXT NOT NULL DEFAULT '',
    paused           INTEGER NOT NULL DEFAULT 0,
    copy_admin       INTEGER NOT NULL DEFAULT 0,
    forward_to_admin INTEGER NOT NULL DEFAULT 0,
    cycle_minutes    INTEGER NOT NULL DEFAULT 60,
    updated_at       TEXT NOT NULL
);

-- A Remote Dir-Sync Requestor (a PC Mail postoffice); dx_server_id is the
-- id of the DX's server.
CREATE TABLE requestors (
    id                   INTEGER PRIMARY KEY,
    network              TEXT NOT NULL COLLATE NOCASE,
    postoffice           TEXT NOT NULL COLLATE NOCASE,
    dx_server_id         INTEGER NOT NULL REFERENCES servers(id),
    server_id            INTEGER REFERENCES servers(id), -- the postoffice's own server, if known
    requestor_sync       INTEGER NOT NULL DEFAULT 0,
    server_sync          INTEGER NOT NULL DEFAULT 0,
    imports              INTEGER NOT NULL DEFAULT 0,
    export_on_next_cycle INTEGER NOT NULL DEFAULT 0,
    last_reqtx           TEXT,
    last_reqtx_at        TEXT,
    last_srvtx           TEXT,
    last_srvtx_at        TEXT,
    anomalies            TEXT NOT NULL DEFAULT '[]', -- JSON, found while reading ReqTx/SrvTx
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (network, postoffice)
);
CREATE INDEX requestors_dx ON requestors (dx_server_id);

-- AUTOINCREMENT: event ids never repeat, even after pruning, so a client
-- resuming by id can never confuse an old event with a new one.
CREATE TABLE events (
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
    idempotency_key TEXT UNIQUE,
    unknown_server  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_server ON events (server, id);
CREATE INDEX events_event_id ON events (event_id, id);
CREATE INDEX events_time ON events (time);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

-- Bearer tokens; only a hash of the secret is kept.
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer', 'agent')),
    hash         BLOB NOT NULL UNIQUE,
    created_by   TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);

-- Server-side sessions (browser sign-ins and NOC device sessions).
CREATE TABLE sessions (
    hash        BLOB PRIMARY KEY,
    account_id  INTEGER REFERENCES accounts(id),
    token_id    INTEGER REFERENCES tokens(id), -- set for a NOC device session
    role        TEXT NOT NULL,
    data        BLOB,
    created_at  TEXT NOT NULL,
    last_seen   TEXT NOT NULL,
    expires_at  TEXT -- NULL: until revoked (device sessions)
) WITHOUT ROWID;
CREATE INDEX sessions_account ON sessions (account_id);

-- Append-only: triggers refuse UPDATE and DELETE.
CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id   INTEGER,
    before      TEXT,
    after       TEXT,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_object ON audit (object_type, object_id);
CREATE INDEX audit_actor ON audit (actor, id);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    total            INTEGER NOT NULL DEFAULT 0,
    done             INTEGER NOT NULL DEFAULT 0,
    to_server_id     INTEGER REFERENCES servers(id),
    actor            TEXT NOT NULL DEFAULT '',
    error            TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT NOT NULL,
    started_at       TEXT,
    finished_at      TEXT
);
CREATE INDEX jobs_status ON jobs (status);

-- One row per user in a move job. The partial unique index allows one
-- active move per user, enforced by the database.
CREATE TABLE move_items (
    id             INTEGER PRIMARY KEY,
    job_id         INTEGER NOT NULL REFERENCES jobs(id),
    user_id        INTEGER NOT NULL REFERENCES users(id),
    from_server_id INTEGER NOT NULL REFERENCES servers(id),
    to_server_id   INTEGER NOT NULL REFERENCES servers(id),
    state          TEXT NOT NULL CHECK (state IN ('queued', 'copying', 'verified', 'switched', 'done', 'failed', 'cancelled')),
    total          INTEGER NOT NULL DEFAULT 0,
    copied         INTEGER NOT NULL DEFAULT 0,
    error          TEXT NOT NULL DEFAULT '',
    updated_at     TEXT NOT NULL
);
CREATE INDEX move_items_job ON move_items (job_id, id);
CREATE UNIQUE INDEX move_items_one_active ON move_items (user_id)
    WHERE state IN ('queued', 'copying', 'verified', 'switched');
CREATE INDEX move_items_active_servers ON move_items (from_server_id, to_server_id)
    WHERE state IN ('queued', 'copying', 'verified', 'switched');

-- +goose Down
SELECT 'the first migration is not reversible';
