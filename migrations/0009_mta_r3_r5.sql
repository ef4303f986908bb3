-- +goose Up
-- Inventory facts of the X.400/MTA family that servers and connectors did
-- not hold (KB-RULES R3, R5). A row exists only where a fact is set.

-- R3 (Q169113): an Exchange server that runs as a virtual server on a
-- Microsoft Cluster: the cluster's virtual IP address and its nodes, a
-- JSON array of {"name", "address"}.
CREATE TABLE server_clusters (
    server_id       INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    virtual_address TEXT NOT NULL,
    nodes           TEXT NOT NULL DEFAULT '[]'
);

-- R5 (Q256844): the receiving server's IP RAS pool, FIRST to LAST.
CREATE TABLE server_ras_pools (
    server_id     INTEGER PRIMARY KEY REFERENCES servers(id) ON DELETE CASCADE,
    first_address TEXT NOT NULL,
    last_address  TEXT NOT NULL
);

-- R5: the X.400 connectors that create outbound Routing and RAS
-- connections (dial-up); every other connector uses the network.
CREATE TABLE connector_transports (
    connector_id INTEGER PRIMARY KEY REFERENCES connectors(id) ON DELETE CASCADE,
    transport    TEXT NOT NULL CHECK (transport IN ('rras'))
);

-- +goose Down
DROP TABLE connector_transports;
DROP TABLE server_ras_pools;
DROP TABLE server_clusters;
