-- Privacy by design (root privacy.go): whose personal data each account read
-- recently, for the bulk-access limit, and the supervisors' alerts about
-- accounts. Same conventions as 00001.

-- +goose Up
-- One row per account and resident: the last time the account read that
-- resident's personal data. Rows older than the window are pruned as the
-- account reads on.
CREATE TABLE personal_reads (
    actor       TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    time        BIGINT NOT NULL,
    PRIMARY KEY (actor, resident_id)
);
CREATE INDEX personal_reads_actor_time ON personal_reads (actor, time);

CREATE TABLE access_alerts (
    id           TEXT PRIMARY KEY,
    actor        TEXT NOT NULL,
    kind         TEXT NOT NULL,
    residents    INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    create_time  BIGINT NOT NULL,
    ack_time     BIGINT NOT NULL DEFAULT 0,
    ack_by       TEXT NOT NULL DEFAULT ''
);
-- One open alert per account and kind: a sweep raises it once.
CREATE UNIQUE INDEX access_alerts_open ON access_alerts (actor, kind) WHERE ack_time = 0;
CREATE INDEX access_alerts_create ON access_alerts (create_time);

-- +goose Down
DROP TABLE access_alerts;
DROP TABLE personal_reads;
