-- +goose Up
-- A diagnostics logging level set with a revert time: at revert_at the
-- console sets the category of the connector back to revert_to ('' when
-- the category had no level) and audits it. One row per connector and
-- category; rows outlive a restart, so a revert due while the console was
-- down is applied when it starts.
CREATE TABLE connector_logging_reverts (
    connector_id INTEGER NOT NULL REFERENCES connectors(id) ON DELETE CASCADE,
    category     TEXT NOT NULL,
    revert_to    TEXT NOT NULL,
    revert_at    TEXT NOT NULL, -- RFC 3339, UTC
    PRIMARY KEY (connector_id, category)
);
CREATE INDEX connector_logging_reverts_due ON connector_logging_reverts (revert_at);

-- +goose Down
DROP TABLE connector_logging_reverts;
