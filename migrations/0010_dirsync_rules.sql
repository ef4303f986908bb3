-- +goose Up
-- Inventory facts the dir-sync rules R17 (b), R19 (b), R19 (c) and R21 (a),
-- (b) need (KB-RULES.md), each set through the API with a merge patch.
--
-- R17 (b), Q108067: the DX's Keep Updates time in days ("Admin, Config
-- Dir-Sync, Server Updates"); NULL while unknown.
ALTER TABLE dx_servers ADD COLUMN keep_updates_days INTEGER;
-- R21 (b), Q201084: the MS Mail dir-sync server (NETWORK/POSTOFFICE) that
-- this Exchange server's Dir-Sync Requestor object requests from; '' when
-- the server has no requestor object.
ALTER TABLE dx_servers ADD COLUMN requestor_of TEXT NOT NULL DEFAULT '';

-- R19 (b), Q166154: the requestor's Exported Containers, and when the list
-- last changed (NULL: never changed since it was recorded).
ALTER TABLE requestors ADD COLUMN export_containers TEXT NOT NULL DEFAULT '[]';
ALTER TABLE requestors ADD COLUMN export_containers_at TEXT;
-- R19 (c), Q152424: how many directory entries were imported from the
-- postoffice at the last snapshot, and at the one before (NULL: none yet).
ALTER TABLE requestors ADD COLUMN imported_count INTEGER;
ALTER TABLE requestors ADD COLUMN imported_count_before INTEGER;
ALTER TABLE requestors ADD COLUMN imported_count_at TEXT;
-- R21 (a), Q147084: the custom recipients (hidden or not) that carry the
-- postoffice's NET/PO/$SYSTEM proxy, by site: JSON [{"site_id", "hidden"}].
ALTER TABLE requestors ADD COLUMN system_recipients TEXT NOT NULL DEFAULT '[]';

-- +goose Down
ALTER TABLE requestors DROP COLUMN system_recipients;
ALTER TABLE requestors DROP COLUMN imported_count_at;
ALTER TABLE requestors DROP COLUMN imported_count_before;
ALTER TABLE requestors DROP COLUMN imported_count;
ALTER TABLE requestors DROP COLUMN export_containers_at;
ALTER TABLE requestors DROP COLUMN export_containers;
ALTER TABLE dx_servers DROP COLUMN requestor_of;
ALTER TABLE dx_servers DROP COLUMN keep_updates_days;
