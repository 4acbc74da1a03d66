-- Organisations, their contracts, residents' funding and monthly statements
-- (issue 12, invariant 8). Same conventions as 00001: BIGINT unix
-- microseconds, TEXT ids, money as BIGINT fen, shares in basis points, one
-- schema for SQLite and PostgreSQL. The guard that keeps closed statements
-- fixed is migration 17 (statementguard.go): its trigger is written per
-- dialect.

-- +goose Up
CREATE TABLE organisations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    -- contractor, community_centre, volunteer_station
    kind        TEXT NOT NULL,
    -- JSON list of districts or streets; [] is the whole district
    area        TEXT NOT NULL DEFAULT '[]',
    contact     TEXT NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1,
    create_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX organisations_name ON organisations (name);
-- Every carer belongs to one organisation: those on the roster before
-- organisations existed belong to this one until they are moved.
INSERT INTO organisations (id, name, kind, area, contact, active, create_time)
    VALUES ('org_default', '未分配机构', 'contractor', '[]', '', 1, 0);

-- No REFERENCES here: SQLite cannot add a column with both a foreign key and
-- a non-NULL default; the store checks the organisation exists.
ALTER TABLE providers ADD COLUMN org_id TEXT NOT NULL DEFAULT 'org_default';
CREATE INDEX providers_org ON providers (org_id);

CREATE TABLE contracts (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organisations (id),
    -- JSON list of service codes
    services      TEXT NOT NULL,
    -- visit or hour
    unit          TEXT NOT NULL,
    price_fen     BIGINT NOT NULL,
    round_step_s  BIGINT NOT NULL DEFAULT 0,
    rounding      TEXT NOT NULL DEFAULT '',
    day_cap_fen   BIGINT NOT NULL DEFAULT 0,
    month_cap_fen BIGINT NOT NULL DEFAULT 0,
    valid_from    BIGINT NOT NULL,
    -- 0: open-ended
    valid_to      BIGINT NOT NULL DEFAULT 0,
    create_time   BIGINT NOT NULL
);
CREATE INDEX contracts_org ON contracts (org_id, valid_from);

-- The district's table of subsidy categories (特困, 低保, 失能, 高龄80+, 独居 …).
CREATE TABLE subsidy_categories (
    code          TEXT PRIMARY KEY,
    name_zh       TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    share_bp      BIGINT NOT NULL,
    allowance_fen BIGINT NOT NULL
);

CREATE TABLE resident_funding (
    id            TEXT PRIMARY KEY,
    resident_id   TEXT NOT NULL REFERENCES residents (id),
    -- subsidy or insurance
    kind          TEXT NOT NULL,
    category      TEXT NOT NULL,
    share_bp      BIGINT NOT NULL,
    allowance_fen BIGINT NOT NULL,
    valid_from    BIGINT NOT NULL,
    valid_to      BIGINT NOT NULL DEFAULT 0,
    create_time   BIGINT NOT NULL
);
CREATE INDEX resident_funding_resident ON resident_funding (resident_id, valid_from);

-- An operator's ruling on a visit's EVV exceptions. Appended, never
-- edited: the newest ruling counts, the older stay as history.
CREATE TABLE evv_reviews (
    id       TEXT PRIMARY KEY,
    visit_id TEXT NOT NULL REFERENCES visits (id),
    -- approved or rejected
    decision TEXT NOT NULL,
    reason   TEXT NOT NULL,
    actor    TEXT NOT NULL,
    time     BIGINT NOT NULL
);
CREATE INDEX evv_reviews_visit ON evv_reviews (visit_id, time);

CREATE TABLE statements (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    -- YYYY-MM
    month       TEXT NOT NULL,
    -- open or closed
    status      TEXT NOT NULL,
    total_fen   BIGINT NOT NULL,
    subsidy_fen BIGINT NOT NULL,
    copay_fen   BIGINT NOT NULL,
    digest      TEXT NOT NULL DEFAULT '',
    close_time  BIGINT NOT NULL DEFAULT 0,
    update_time BIGINT NOT NULL
);
CREATE UNIQUE INDEX statements_org_month ON statements (org_id, month);

-- closed repeats the statement's state on each row so the guard of
-- migration 17 can refuse a change to a closed statement's rows by looking
-- at the row alone.
CREATE TABLE statement_lines (
    statement_id  TEXT NOT NULL REFERENCES statements (id),
    position      INTEGER NOT NULL,
    visit_id      TEXT NOT NULL,
    resident_id   TEXT NOT NULL,
    service_code  TEXT NOT NULL,
    contract_id   TEXT NOT NULL,
    service_time  BIGINT NOT NULL,
    unit          TEXT NOT NULL,
    units         BIGINT NOT NULL,
    price_fen     BIGINT NOT NULL,
    charge_fen    BIGINT NOT NULL,
    subsidy_fen   BIGINT NOT NULL,
    copay_fen     BIGINT NOT NULL,
    capped        INTEGER NOT NULL,
    verification  TEXT NOT NULL,
    -- the month an adjustment line corrects; '' for a regular line
    adjusts_month TEXT NOT NULL DEFAULT '',
    closed        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (statement_id, position)
);
CREATE INDEX statement_lines_visit ON statement_lines (visit_id);

CREATE TABLE statement_held (
    statement_id TEXT NOT NULL REFERENCES statements (id),
    position     INTEGER NOT NULL,
    visit_id     TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    service_code TEXT NOT NULL,
    finish_time  BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    closed       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (statement_id, position)
);
CREATE INDEX statement_held_visit ON statement_held (visit_id);

-- Settlement reads a month's completed visits by finish time.
CREATE INDEX visits_status_finish ON visits (status, finish_time);

-- +goose Down
DROP INDEX visits_status_finish;
DROP TABLE statement_held;
DROP TABLE statement_lines;
DROP TABLE statements;
DROP TABLE evv_reviews;
DROP TABLE resident_funding;
DROP TABLE subsidy_categories;
DROP TABLE contracts;
DROP INDEX providers_org;
ALTER TABLE providers DROP COLUMN org_id;
DROP TABLE organisations;
