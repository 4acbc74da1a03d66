-- Planned care (issue 11): care plans with RRULE items, the visits projected
-- from them, and carers' working hours. Same conventions as 00001: BIGINT
-- unix microseconds, TEXT ids, one schema for SQLite and PostgreSQL.
-- Calendar days are stored as the microseconds of midnight China Standard
-- Time; 0 means "none" (no end date, no bound).

-- +goose Up
CREATE TABLE care_plans (
    id           TEXT PRIMARY KEY,
    resident_id  TEXT NOT NULL REFERENCES residents (id),
    start_day    BIGINT NOT NULL,
    end_day      BIGINT NOT NULL DEFAULT 0,
    -- JSON list of {from, to, reason}: days as microseconds
    pauses       TEXT NOT NULL DEFAULT '[]',
    funding_note TEXT NOT NULL DEFAULT '',
    create_time  BIGINT NOT NULL,
    update_time  BIGINT NOT NULL
);
CREATE INDEX care_plans_resident ON care_plans (resident_id);
CREATE INDEX care_plans_days ON care_plans (start_day, end_day);

CREATE TABLE plan_items (
    id           TEXT PRIMARY KEY,
    plan_id      TEXT NOT NULL REFERENCES care_plans (id),
    position     INTEGER NOT NULL,
    service_code TEXT NOT NULL,
    rrule        TEXT NOT NULL,
    -- minutes after midnight CST
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    duration_s   BIGINT NOT NULL,
    -- JSON list of provider IDs
    preferred    TEXT NOT NULL DEFAULT '[]',
    notes        TEXT NOT NULL DEFAULT '',
    valid_from   BIGINT NOT NULL DEFAULT 0,
    valid_to     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX plan_items_plan ON plan_items (plan_id, position);

-- One row per occurrence of an item: the unique key is what makes
-- projection idempotent on any number of replicas.
CREATE TABLE planned_visits (
    id              TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES care_plans (id),
    item_id         TEXT NOT NULL REFERENCES plan_items (id),
    resident_id     TEXT NOT NULL,
    service_code    TEXT NOT NULL,
    occurrence_time BIGINT NOT NULL,
    window_start    BIGINT NOT NULL,
    window_end      BIGINT NOT NULL,
    duration_s      BIGINT NOT NULL,
    preferred       TEXT NOT NULL DEFAULT '[]',
    -- planned, assigned, paused, cancelled
    status          TEXT NOT NULL,
    provider_id     TEXT NOT NULL DEFAULT '',
    request_id      TEXT NOT NULL DEFAULT '',
    visit_id        TEXT NOT NULL DEFAULT '',
    version         BIGINT NOT NULL DEFAULT 1,
    reason          TEXT NOT NULL DEFAULT '',
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL
);
CREATE UNIQUE INDEX planned_visits_occurrence ON planned_visits (item_id, occurrence_time);
CREATE INDEX planned_visits_resident ON planned_visits (resident_id, window_start);
CREATE INDEX planned_visits_status ON planned_visits (status, window_start);
CREATE INDEX planned_visits_provider ON planned_visits (provider_id, window_start);
CREATE INDEX planned_visits_request ON planned_visits (request_id);

CREATE TABLE working_hours (
    provider_id     TEXT PRIMARY KEY REFERENCES providers (id),
    -- JSON list of {weekday, start, end}: minutes after midnight CST
    weekly          TEXT NOT NULL DEFAULT '[]',
    -- JSON list of {from, to, reason}: microseconds
    time_off        TEXT NOT NULL DEFAULT '[]',
    max_visits      INTEGER NOT NULL,
    max_work_s      BIGINT NOT NULL,
    -- walk, ebike, car (carehex.TravelMode; the speed goes with the mode)
    travel_mode     TEXT NOT NULL,
    home_lat        DOUBLE PRECISION NOT NULL,
    home_lng        DOUBLE PRECISION NOT NULL,
    update_time     BIGINT NOT NULL
);

-- +goose Down
DROP TABLE working_hours;
DROP TABLE planned_visits;
DROP TABLE plan_items;
DROP TABLE care_plans;
