-- Evidence and fraud signals (evidence.go, fraud.go): photos of visits,
-- stored content-addressed outside the database, and the flags the fraud
-- signals raise for review before payment. Same conventions as 00001:
-- BIGINT unix microseconds, TEXT ids, one schema for SQLite and PostgreSQL.

-- +goose Up
-- Append-only (migration 44's triggers refuse UPDATE and DELETE): a retake
-- or correction is another row.
CREATE TABLE visit_photos (
    id           TEXT PRIMARY KEY,
    visit_id     TEXT NOT NULL REFERENCES visits (id),
    -- 0, 1, 2… within the visit, in the order they were added
    position     INTEGER NOT NULL,
    provider_id  TEXT NOT NULL,
    -- arrive (scene before) or complete (scene after)
    stage        TEXT NOT NULL,
    -- lower-case hex SHA-256 of the bytes: the blob's name in the store
    sha256       TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    create_time  BIGINT NOT NULL
);
CREATE UNIQUE INDEX visit_photos_visit ON visit_photos (visit_id, position);
-- the shared-photo signal looks a hash up across visits
CREATE INDEX visit_photos_sha ON visit_photos (sha256);

-- One flag per visit and signal: the job that raises them runs again and
-- again, and a flag an operator cleared stays cleared.
CREATE TABLE fraud_flags (
    id            TEXT PRIMARY KEY,
    visit_id      TEXT NOT NULL REFERENCES visits (id),
    signal        TEXT NOT NULL,
    -- JSON object: the figures that raised it
    evidence      TEXT NOT NULL,
    -- open, cleared, confirmed
    status        TEXT NOT NULL,
    create_time   BIGINT NOT NULL,
    review_actor  TEXT NOT NULL DEFAULT '',
    review_reason TEXT NOT NULL DEFAULT '',
    review_time   BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX fraud_flags_visit_signal ON fraud_flags (visit_id, signal);
CREATE INDEX fraud_flags_status ON fraud_flags (status, create_time);

-- 1 when the contract requires photos at arrival and completion
ALTER TABLE contracts ADD COLUMN require_photos INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE contracts DROP COLUMN require_photos;
DROP TABLE fraud_flags;
DROP TABLE visit_photos;
