-- The tamper-evident trail (DESIGN.md invariant 7, root trail.go): audit
-- records and request events each form one hash chain. seq (chain_seq on
-- request_events, whose seq already counts within a request) is the record's
-- place in its chain; it is NULL when the row is written and is set, with
-- prev_hash and hash, by the store's sealer just after the writer commits,
-- under the lock of the chain's row in trail_heads (sqlstore/trail.go). Rows
-- written before this migration are chained in (time, id) order by the first
-- start of the new binary (sqlstore.Open), because neither SQLite nor
-- PostgreSQL computes SHA-256 in plain SQL without extensions. Same
-- conventions as 00001.

-- +goose Up
ALTER TABLE audit_records ADD COLUMN seq BIGINT;
ALTER TABLE audit_records ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_records ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX audit_records_seq ON audit_records (seq);
-- Finds the rows still to chain without scanning the chain.
CREATE INDEX audit_records_unsealed ON audit_records (time, id) WHERE seq IS NULL;

ALTER TABLE request_events ADD COLUMN chain_seq BIGINT;
ALTER TABLE request_events ADD COLUMN prev_hash TEXT NOT NULL DEFAULT '';
ALTER TABLE request_events ADD COLUMN hash TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX request_events_chain_seq ON request_events (chain_seq);
CREATE INDEX request_events_unsealed ON request_events (time, request_id, seq) WHERE chain_seq IS NULL;

-- One row per chain: its head. The sealer locks this row (FOR UPDATE on
-- PostgreSQL; SQLite's immediate transactions already serialise writers), so
-- replicas chain one after another and the chain never forks.
CREATE TABLE trail_heads (
    chain TEXT PRIMARY KEY,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
INSERT INTO trail_heads (chain, seq, hash) VALUES
    ('events', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('audit', 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Anchors: a chain's head and count at a moment, written daily and on
-- demand, exported for safekeeping outside the database.
CREATE TABLE trail_anchors (
    chain TEXT NOT NULL,
    time  BIGINT NOT NULL,
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL,
    PRIMARY KEY (chain, time)
);

-- +goose Down
DROP TABLE trail_anchors;
DROP TABLE trail_heads;
DROP INDEX request_events_unsealed;
DROP INDEX request_events_chain_seq;
ALTER TABLE request_events DROP COLUMN hash;
ALTER TABLE request_events DROP COLUMN prev_hash;
ALTER TABLE request_events DROP COLUMN chain_seq;
DROP INDEX audit_records_unsealed;
DROP INDEX audit_records_seq;
ALTER TABLE audit_records DROP COLUMN hash;
ALTER TABLE audit_records DROP COLUMN prev_hash;
ALTER TABLE audit_records DROP COLUMN seq;
