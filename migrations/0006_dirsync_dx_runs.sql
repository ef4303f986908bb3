-- +goose Up
-- PauseKicksDX (HKLM\SYSTEM\CurrentControlSet\Services\MSExchangeDX,
-- REG_DWORD 1): on Exchange 4.0 pausing the DX triggers T2 only with it
-- (and a restart of the service); 5.0 and later do so by default.
ALTER TABLE dx_servers ADD COLUMN pause_kicks_dx INTEGER NOT NULL DEFAULT 0;

-- A run of the manual dir-sync procedure: who started it, when, for which
-- requestors, and how it ended (running, completed, abandoned).
CREATE TABLE dirsync_runs (
    id            INTEGER PRIMARY KEY,
    started_by    TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    requestor_ids TEXT NOT NULL, -- JSON array of ids
    scope         TEXT NOT NULL DEFAULT '', -- the network, or '' for a selection
    drive         TEXT NOT NULL DEFAULT 'M',
    outcome       TEXT NOT NULL DEFAULT 'running' CHECK (outcome IN ('running', 'completed', 'abandoned')),
    note          TEXT NOT NULL DEFAULT '',
    finished_at   TEXT,
    finished_by   TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE dirsync_runs;
ALTER TABLE dx_servers DROP COLUMN pause_kicks_dx;
