-- +goose Up
-- Directory synchronization as it runs: when Export on Next Cycle was set
-- (only a SrvTx logged after it clears it), the requestor's unconfirmed
-- T1 count (R18) and an announced full export (R20's 221); the findings
-- with their lifecycle; the per-requestor history of cycles, the evidence
-- seen for each step, and every change ingest made to a requestor.
ALTER TABLE requestors ADD COLUMN export_set_at TEXT;
ALTER TABLE requestors ADD COLUMN unconfirmed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requestors ADD COLUMN expect_full_export INTEGER NOT NULL DEFAULT 0;

-- A finding is open (resolved_at NULL) until a later clean cycle shows its
-- condition gone (resolution 'cleared') or an admin acknowledges it
-- (resolution 'acknowledged', with ack_by and ack_note). requestor_id is
-- NULL for findings no requestor owns (an unregistered $SYSTEM).
CREATE TABLE dirsync_findings (
    id                INTEGER PRIMARY KEY,
    requestor_id      INTEGER,
    subject_name      TEXT NOT NULL DEFAULT '', -- NET/PO or server the finding names
    rule              TEXT NOT NULL,
    kind              TEXT NOT NULL,
    severity          TEXT NOT NULL,
    text              TEXT NOT NULL,
    cause             TEXT NOT NULL DEFAULT '',
    fix               TEXT NOT NULL DEFAULT '',
    source            TEXT NOT NULL DEFAULT '',
    event_id          INTEGER,
    opened_at         TEXT NOT NULL,
    seen_at           TEXT NOT NULL,
    seen_count        INTEGER NOT NULL DEFAULT 1,
    resolved_at       TEXT,
    resolution        TEXT NOT NULL DEFAULT '',
    resolved_event_id INTEGER,
    ack_by            TEXT NOT NULL DEFAULT '',
    ack_note          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX dirsync_findings_requestor ON dirsync_findings (requestor_id, kind, resolved_at);
CREATE INDEX dirsync_findings_open ON dirsync_findings (resolved_at, id);

-- One ReqTx or SrvTx as read (late ones too, marked).
CREATE TABLE dirsync_cycles (
    id           INTEGER PRIMARY KEY,
    requestor_id INTEGER NOT NULL,
    event_id     INTEGER,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL,
    r            INTEGER NOT NULL,
    was          INTEGER NOT NULL,
    s            INTEGER NOT NULL,
    i            INTEGER NOT NULL,
    sent         INTEGER NOT NULL,
    full_export  INTEGER NOT NULL DEFAULT 0,
    late         INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dirsync_cycles_requestor ON dirsync_cycles (requestor_id, id);

-- One piece of the manual procedure's evidence (4395/4355, status report,
-- ReqTx, SrvTx) attributed to a requestor.
CREATE TABLE dirsync_evidence (
    id           INTEGER PRIMARY KEY,
    requestor_id INTEGER NOT NULL,
    event_id     INTEGER,
    at           TEXT NOT NULL,
    kind         TEXT NOT NULL
);
CREATE INDEX dirsync_evidence_requestor ON dirsync_evidence (requestor_id, at);

-- Every change ingest made to a requestor, with the event that caused it.
CREATE TABLE requestor_changes (
    id           INTEGER PRIMARY KEY,
    requestor_id INTEGER NOT NULL,
    event_id     INTEGER,
    at           TEXT NOT NULL,
    field        TEXT NOT NULL,
    before       TEXT NOT NULL DEFAULT '',
    after        TEXT NOT NULL DEFAULT '',
    detail       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX requestor_changes_requestor ON requestor_changes (requestor_id, id);

-- +goose Down
DROP TABLE requestor_changes;
DROP TABLE dirsync_evidence;
DROP TABLE dirsync_cycles;
DROP TABLE dirsync_findings;
ALTER TABLE requestors DROP COLUMN expect_full_export;
ALTER TABLE requestors DROP COLUMN unconfirmed;
ALTER TABLE requestors DROP COLUMN export_set_at;
