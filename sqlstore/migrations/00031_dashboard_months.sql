-- Month sums of the dashboard's day rollups (00030), same columns with day
-- holding the month (2026-03): a year's panel reads 12 month rows per key
-- instead of 365 day rows, and the days at either end of a period that
-- do not fill a month from the day tables (sqlstore/supervise.go). Rebuilt
-- from the day rows of the months the catch-up touched.

-- +goose Up
CREATE TABLE dash_counts_month (
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
CREATE TABLE dash_latency_month (
    day      TEXT NOT NULL,
    district TEXT NOT NULL,
    street   TEXT NOT NULL,
    urgency  TEXT NOT NULL,
    kind     TEXT NOT NULL,
    bucket   INTEGER NOT NULL,
    n        BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, urgency, kind, bucket)
);
CREATE TABLE dash_orgs_month (
    day        TEXT NOT NULL,
    district   TEXT NOT NULL,
    street     TEXT NOT NULL,
    org_id     TEXT NOT NULL,
    visits     BIGINT NOT NULL,
    exceptions BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, org_id)
);
CREATE TABLE dash_carers_month (
    day         TEXT NOT NULL,
    district    TEXT NOT NULL,
    street      TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    visits      BIGINT NOT NULL,
    work_s      BIGINT NOT NULL,
    travel_m    BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, provider_id)
);
CREATE TABLE dash_cells_month (
    day      TEXT NOT NULL,
    district TEXT NOT NULL,
    street   TEXT NOT NULL,
    cell     BIGINT NOT NULL,
    requests BIGINT NOT NULL,
    filled   BIGINT NOT NULL,
    PRIMARY KEY (day, district, street, cell)
);

-- +goose Down
DROP TABLE dash_cells_month;
DROP TABLE dash_carers_month;
DROP TABLE dash_orgs_month;
DROP TABLE dash_latency_month;
DROP TABLE dash_counts_month;
