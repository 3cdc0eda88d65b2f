-- Subcloud groups; the Default group (id 1) always exists.
CREATE TABLE subcloud_groups (
    id                     INTEGER PRIMARY KEY AUTOINCREMENT,
    name                   TEXT    NOT NULL UNIQUE,
    description            TEXT    NOT NULL,
    update_apply_type      TEXT    NOT NULL,
    max_parallel_subclouds INTEGER NOT NULL CHECK (max_parallel_subclouds BETWEEN 1 AND 5000),
    revision               BIGINT  NOT NULL,
    created_at             TEXT    NOT NULL,
    updated_at             TEXT    NOT NULL
);

INSERT INTO subcloud_groups (id, name, description, update_apply_type, max_parallel_subclouds, revision, created_at, updated_at)
VALUES (1, 'Default', 'Default Subcloud Group', 'parallel', 2, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);

-- Subclouds: queried fields as columns, the rest of the record as JSON.
CREATE TABLE subclouds (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    name                TEXT   NOT NULL UNIQUE,
    group_id            BIGINT NOT NULL REFERENCES subcloud_groups (id),
    management_state    TEXT   NOT NULL,
    availability_status TEXT   NOT NULL,
    deploy_status       TEXT   NOT NULL,
    management_subnet   TEXT   NOT NULL,
    revision            BIGINT NOT NULL,
    created_at          TEXT   NOT NULL,
    updated_at          TEXT   NOT NULL,
    data                TEXT   NOT NULL
);

CREATE INDEX subclouds_group_id ON subclouds (group_id);
CREATE INDEX subclouds_deploy_status ON subclouds (deploy_status);

-- Per-subcloud deploy log, in append order (seq).
CREATE TABLE subcloud_deploy_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    subcloud_id BIGINT NOT NULL REFERENCES subclouds (id) ON DELETE CASCADE,
    logged_at   TEXT   NOT NULL,
    phase       TEXT   NOT NULL,
    message     TEXT   NOT NULL
);

CREATE INDEX subcloud_deploy_log_subcloud ON subcloud_deploy_log (subcloud_id, seq);
