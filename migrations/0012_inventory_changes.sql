-- +goose Up
-- Which inventory rows the X.400 check reads have changed, and in what
-- order: internal/reports X400Cache patches the inventory it holds with
-- the rows changed since it last read, instead of reading 12,000
-- connectors and 10,000 servers again after every write. Triggers write
-- it, so every writer is seen (the console, the CLI, a restore, a plain
-- sqlite3 shell), and only the columns the check reads fire them: a
-- server's counters and last event do not.
--
-- It keeps the last 10,000 changes. A reader whose last seq is older than
-- the first one kept reads everything again.
CREATE TABLE inventory_changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl    TEXT NOT NULL,    -- 'connectors', 'servers' or 'facts' (clusters, RAS pools, transports)
    row_id INTEGER NOT NULL  -- the changed row's id (0 for facts)
);

-- +goose StatementBegin
CREATE TRIGGER inventory_changes_keep AFTER INSERT ON inventory_changes
BEGIN
    DELETE FROM inventory_changes WHERE seq <= NEW.seq - 10000;
END;
-- +goose StatementEnd

CREATE TRIGGER connectors_changed_insert AFTER INSERT ON connectors
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('connectors', NEW.id); END;
CREATE TRIGGER connectors_changed_delete AFTER DELETE ON connectors
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('connectors', OLD.id); END;
-- +goose StatementBegin
CREATE TRIGGER connectors_changed_update AFTER UPDATE OF id, kind, name, server_id, remote_server_id, stack_addresses, override_address ON connectors
BEGIN
    INSERT INTO inventory_changes (tbl, row_id) VALUES ('connectors', OLD.id);
    INSERT INTO inventory_changes (tbl, row_id) SELECT 'connectors', NEW.id WHERE NEW.id <> OLD.id;
END;
-- +goose StatementEnd

CREATE TRIGGER servers_changed_insert AFTER INSERT ON servers
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('servers', NEW.id); END;
CREATE TRIGGER servers_changed_delete AFTER DELETE ON servers
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('servers', OLD.id); END;
-- +goose StatementBegin
CREATE TRIGGER servers_changed_update AFTER UPDATE OF id, site_id, name, kind, version, serial, addresses, status ON servers
BEGIN
    INSERT INTO inventory_changes (tbl, row_id) VALUES ('servers', OLD.id);
    INSERT INTO inventory_changes (tbl, row_id) SELECT 'servers', NEW.id WHERE NEW.id <> OLD.id;
END;
-- +goose StatementEnd

CREATE TRIGGER server_clusters_changed_insert AFTER INSERT ON server_clusters
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER server_clusters_changed_update AFTER UPDATE ON server_clusters
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER server_clusters_changed_delete AFTER DELETE ON server_clusters
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER server_ras_pools_changed_insert AFTER INSERT ON server_ras_pools
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER server_ras_pools_changed_update AFTER UPDATE ON server_ras_pools
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER server_ras_pools_changed_delete AFTER DELETE ON server_ras_pools
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER connector_transports_changed_insert AFTER INSERT ON connector_transports
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER connector_transports_changed_update AFTER UPDATE ON connector_transports
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;
CREATE TRIGGER connector_transports_changed_delete AFTER DELETE ON connector_transports
BEGIN INSERT INTO inventory_changes (tbl, row_id) VALUES ('facts', 0); END;

-- +goose Down
DROP TRIGGER connector_transports_changed_delete;
DROP TRIGGER connector_transports_changed_update;
DROP TRIGGER connector_transports_changed_insert;
DROP TRIGGER server_ras_pools_changed_delete;
DROP TRIGGER server_ras_pools_changed_update;
DROP TRIGGER server_ras_pools_changed_insert;
DROP TRIGGER server_clusters_changed_delete;
DROP TRIGGER server_clusters_changed_update;
DROP TRIGGER server_clusters_changed_insert;
DROP TRIGGER servers_changed_update;
DROP TRIGGER servers_changed_delete;
DROP TRIGGER servers_changed_insert;
DROP TRIGGER connectors_changed_update;
DROP TRIGGER connectors_changed_delete;
DROP TRIGGER connectors_changed_insert;
DROP TRIGGER inventory_changes_keep;
DROP TABLE inventory_changes;
