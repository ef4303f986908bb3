-- +goose Up
-- How many servers hold each non-empty serial number, kept by triggers:
-- the duplicate-serial detector (Q99393) reads the serials two or more
-- servers share from a partial index, instead of reading the whole
-- servers_serial index (3.4 ms at 10,000 servers, paid on every build).
-- No trigger statement can conflict (the row is made before it is
-- counted), so an outer INSERT OR IGNORE/REPLACE cannot change them.
CREATE TABLE serial_counts (
    serial TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
);
CREATE INDEX serial_counts_shared ON serial_counts (serial) WHERE n > 1;
INSERT INTO serial_counts (serial, n)
    SELECT serial, count(*) FROM servers WHERE serial > '' GROUP BY serial;

-- +goose StatementBegin
CREATE TRIGGER serial_counts_insert AFTER INSERT ON servers WHEN NEW.serial > ''
BEGIN
    INSERT INTO serial_counts (serial, n) SELECT NEW.serial, 0
        WHERE NOT EXISTS (SELECT 1 FROM serial_counts WHERE serial = NEW.serial);
    UPDATE serial_counts SET n = n + 1 WHERE serial = NEW.serial;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER serial_counts_delete AFTER DELETE ON servers WHEN OLD.serial > ''
BEGIN
    UPDATE serial_counts SET n = n - 1 WHERE serial = OLD.serial;
    DELETE FROM serial_counts WHERE serial = OLD.serial AND n <= 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER serial_counts_update AFTER UPDATE OF serial ON servers WHEN OLD.serial IS NOT NEW.serial
BEGIN
    UPDATE serial_counts SET n = n - 1 WHERE serial = OLD.serial AND OLD.serial > '';
    DELETE FROM serial_counts WHERE serial = OLD.serial AND n <= 0;
    INSERT INTO serial_counts (serial, n) SELECT NEW.serial, 0
        WHERE NEW.serial > '' AND NOT EXISTS (SELECT 1 FROM serial_counts WHERE serial = NEW.serial);
    UPDATE serial_counts SET n = n + 1 WHERE serial = NEW.serial AND NEW.serial > '';
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER serial_counts_update;
DROP TRIGGER serial_counts_delete;
DROP TRIGGER serial_counts_insert;
DROP TABLE serial_counts;
