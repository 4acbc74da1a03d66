-- Offers and the operators' alert queue. Same conventions as 00001: BIGINT
-- unix microseconds (0 for "not yet"), TEXT ids, one schema for SQLite and
-- PostgreSQL.

-- +goose Up

-- An offer of one request to one provider, under the fencing token of the
-- Redis claim that reserved the provider for it. Offers live here, not only
-- in Redis, so that losing Redis loses none of them and so that dispatch can
-- tell which providers already had a request (never offer it twice).
CREATE TABLE offers (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL REFERENCES service_requests (id),
    provider_id  TEXT NOT NULL REFERENCES providers (id),
    service_code TEXT NOT NULL,
    fence        BIGINT NOT NULL,
    distance_m   DOUBLE PRECISION NOT NULL DEFAULT 0,
    -- open, accepted, declined, expired, withdrawn
    status       TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    expire_time  BIGINT NOT NULL,
    create_time  BIGINT NOT NULL,
    close_time   BIGINT NOT NULL DEFAULT 0
);
-- A provider is offered a request at most once, whatever became of the
-- offer: one who declined or let it expire is not asked again, and two
-- dispatcher replicas racing to offer the same provider collide here. It
-- also serves every lookup by request.
CREATE UNIQUE INDEX offers_request_provider ON offers (request_id, provider_id);
-- A provider's open offers (the phone's offer list).
CREATE INDEX offers_provider_status ON offers (provider_id, status);
-- Open offers due to expire, oldest deadline first (the dispatcher's tick).
CREATE INDEX offers_status_expire ON offers (status, expire_time);

-- Something an operator must act on. At most one unacknowledged alert of a
-- kind per request: dispatch raises "nobody accepted" on every pass until
-- someone acknowledges it, and the queue must show it once.
CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES service_requests (id),
    visit_id    TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    message     TEXT NOT NULL,
    create_time BIGINT NOT NULL,
    ack_time    BIGINT NOT NULL DEFAULT 0,
    ack_by      TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX alerts_open_request_kind ON alerts (request_id, kind) WHERE ack_time = 0;
-- The console's queue: open alerts (ack_time = 0) newest first, or all.
CREATE INDEX alerts_ack_create ON alerts (ack_time, create_time);
CREATE INDEX alerts_create ON alerts (create_time);

-- +goose Down
DROP TABLE alerts;
DROP TABLE offers;
