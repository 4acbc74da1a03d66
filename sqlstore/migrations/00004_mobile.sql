-- The mobile API's records: the visit events phones send (check-in and
-- check-out with position, the electronic visit verification record) and the
-- notification outbox. Same conventions as 00001: BIGINT unix microseconds,
-- TEXT ids, one schema for SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE visit_events (
    -- chosen by the phone; a repeat of the same id is answered with the
    -- first result, so a phone that lost the reply can send it again
    event_id     TEXT PRIMARY KEY,
    visit_id     TEXT NOT NULL REFERENCES visits (id),
    provider_id  TEXT NOT NULL,
    type         TEXT NOT NULL,
    lat          DOUBLE PRECISION NOT NULL,
    lng          DOUBLE PRECISION NOT NULL,
    accuracy_m   DOUBLE PRECISION NOT NULL,
    device_time  BIGINT NOT NULL,
    receive_time BIGINT NOT NULL,
    note         TEXT NOT NULL DEFAULT '',
    -- 1 when the position was inside the geofence around the home
    verified     INTEGER NOT NULL DEFAULT 0,
    -- space-separated exception kinds, '' for none
    exception    TEXT NOT NULL DEFAULT '',
    -- 1 once the visit has moved by it (or was already past it); an event
    -- that arrived before the one it follows waits here with 0
    applied      INTEGER NOT NULL DEFAULT 0
);
-- One event of each type per visit: a second "arrive" with another id is a
-- conflict, not a new arrival.
CREATE UNIQUE INDEX visit_events_visit_type ON visit_events (visit_id, type);

-- Notifications for families, written in the same transaction as the state
-- change they announce and delivered at least once by the relay.
CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,
    -- the receiver drops repeats by this key, e.g. "vis_…:completed"
    dedupe_key    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    request_id    TEXT NOT NULL,
    resident_id   TEXT NOT NULL,
    payload       TEXT NOT NULL,
    create_time   BIGINT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_try_time BIGINT NOT NULL,
    sent_time     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (sent_time, next_try_time);

-- +goose Down
DROP TABLE outbox;
DROP TABLE visit_events;
