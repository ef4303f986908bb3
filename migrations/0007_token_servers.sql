-- +goose Up
-- An agent token bound to servers may post events only for them (and for
-- the requestors whose postoffice or DX server they are). A token with no
-- row here is a network-wide collector.
CREATE TABLE token_servers (
    token_id  INTEGER NOT NULL REFERENCES tokens(id),
    server_id INTEGER NOT NULL REFERENCES servers(id),
    PRIMARY KEY (token_id, server_id)
);

-- +goose Down
DROP TABLE token_servers;
