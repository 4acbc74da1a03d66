-- The supervisor's dashboard reads these rollups, never the raw requests
-- (root supervise.go): per China day (TEXT 2006-01-02) and the resident's
-- district and street, the sums each panel adds up over a period. They are
-- rebuilt a whole day at a time from the raw records by the catch-up pass
-- (sqlstore/supervise.go), which is idempotent, so replicas may all run it.

-- +goose Up
CREATE TABLE dash_counts (
    day          TEXT NOT NULL,
    district     TEXT NOT NULL,
    street       TEXT NOT NULL,
    category     TEXT NOT NULL,
    urgency      TEXT NOT NULL,
    requests     BIGINT NOT NULL,
    filled       BIGINT NOT NULL,
    unfilled     BIGINT NOT NULL,
    cancelled    BIGINT NOT NULL,
    completed    BIGINT NOT NULL,
    accept_late  BIGINT NOT NULL,
    late         BIGINT NOT NULL,
    missed       BIGINT NOT NULL,
    accept_sum_s BIGINT NOT NULL,
    arrive_sum_s BIGINT NOT NULL,
    accept_n     BIGINT NOT NULL,
    arrive_n     BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, category, urgency)
);
CREATE INDEX dash_counts_area ON dash_counts (district, street, day);

-- histogram buckets of the time to accept / arrive (carehex.LatencyBuckets)
CREATE TABLE dash_latency (
    day      TEXT NOT NULL,
    district TEXT NOT NULL,
    street   TEXT NOT NULL,
    urgency  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, urgency, kind, bucket)
);
CREATE INDEX dash_latency_area ON dash_latency (district, street, day);

CREATE TABLE dash_orgs (
    day        TEXT NOT NULL,
    district   TEXT NOT NULL,
    street     TEXT NOT NULL,
    org_id     TEXT NOT NULL,
    visits     BIGINT NOT NULL,
    exceptions BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, org_id)
);
CREATE INDEX dash_orgs_area ON dash_orgs (district, street, day);

CREATE TABLE dash_carers (
    day         TEXT NOT NULL,
    district    TEXT NOT NULL,
    street      TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    visits      BIGINT NOT NULL,
    work_s      BIGINT NOT NULL,
    travel_m    BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, provider_id)
);
CREATE INDEX dash_carers_area ON dash_carers (district, street, day);

CREATE TABLE dash_cells (
    day      TEXT NOT NULL,
    district TEXT NOT NULL,
    street   TEXT NOT NULL,
    cell     BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    filled   BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, cell)
);
CREATE INDEX dash_cells_area ON dash_cells (district, street, day);

-- The catch-up's place: requests and visits changed at or after watermark
-- (less a margin) mark their day for rebuilding; targets are the ones the
-- rollups were computed with (a change rebuilds everything). The one row
-- is also the lock replicas take turns on.
CREATE TABLE dash_state (
    name      TEXT PRIMARY KEY,
    watermark BIGINT NOT NULL,
    targets   TEXT NOT NULL
);
INSERT INTO dash_state (name, watermark, targets) VALUES ('rollup', 0, '');

CREATE INDEX service_requests_update_time ON service_requests (update_time);
CREATE INDEX visits_update_time ON visits (update_time);

-- +goose Down
DROP INDEX visits_update_time;
DROP INDEX service_requests_update_time;
DROP TABLE dash_state;
DROP TABLE dash_cells;
DROP TABLE dash_carers;
DROP TABLE dash_orgs;
DROP TABLE dash_latency;
DROP TABLE dash_counts;
