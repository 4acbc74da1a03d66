-- The system of record. One schema for SQLite and PostgreSQL alike, so it is
-- written in the SQL both understand: times are BIGINT unix microseconds (UTC),
-- ids are TEXT, booleans are INTEGER 0/1, structured side data is JSON text.

-- +goose Up
CREATE TABLE service_types (
    code               TEXT PRIMARY KEY,
    category           TEXT NOT NULL,
    name_zh            TEXT NOT NULL,
    name_en            TEXT NOT NULL,
    required_skill     TEXT NOT NULL,
    default_duration_s BIGINT NOT NULL,
    urgency_class      TEXT NOT NULL,
    -- catalogue order, so lists read as the published catalogue does
    position           INTEGER NOT NULL,
    -- a type dropped from the catalogue stays for the requests that name it
    retired            INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE residents (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    -- lower-cased name: the substring check is case-insensitive on both databases
    name_lc            TEXT NOT NULL,
    phone              TEXT NOT NULL,
    -- digits of phone reversed: "last 4 digits" becomes a prefix, so a btree
    -- range answers it on both databases
    phone_rev          TEXT NOT NULL,
    id_number          TEXT NOT NULL DEFAULT '',
    gender             TEXT NOT NULL DEFAULT '',
    birth_year         INTEGER NOT NULL DEFAULT 0,
    address            TEXT NOT NULL,
    district           TEXT NOT NULL DEFAULT '',
    lat                DOUBLE PRECISION NOT NULL,
    lng                DOUBLE PRECISION NOT NULL,
    cell               BIGINT NOT NULL,
    emergency_contacts TEXT NOT NULL DEFAULT '[]',
    preferences        TEXT NOT NULL DEFAULT '{}',
    create_time        BIGINT NOT NULL,
    update_time        BIGINT NOT NULL
);
CREATE INDEX residents_phone_rev ON residents (phone_rev);
CREATE INDEX residents_id_number ON residents (id_number);
CREATE INDEX residents_name ON residents (name, id);

-- Every 1- and 2-character piece of each lower-cased name, so a name-substring
-- search is an index lookup in both databases (Chinese names are 2–4
-- characters, too short for trigram indexes). The name rides along in the key
-- so that a one- or two-character query, the first keystrokes of an operator,
-- reads its first page in name order straight off the index instead of
-- sorting thousands of 张s.
CREATE TABLE resident_name_grams (
    gram        TEXT NOT NULL,
    name        TEXT NOT NULL,
    resident_id TEXT NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    PRIMARY KEY (gram, name, resident_id)
);
CREATE INDEX resident_name_grams_resident ON resident_name_grams (resident_id);

CREATE TABLE family_members (
    id          TEXT PRIMARY KEY,
    resident_id TEXT NOT NULL REFERENCES residents (id),
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    relation    TEXT NOT NULL,
    create_time BIGINT NOT NULL
);
CREATE INDEX family_members_resident ON family_members (resident_id, create_time);

CREATE TABLE providers (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    phone        TEXT NOT NULL,
    gender       TEXT NOT NULL DEFAULT '',
    languages    TEXT NOT NULL DEFAULT '[]',
    organisation TEXT NOT NULL DEFAULT '',
    lat          DOUBLE PRECISION NOT NULL,
    lng          DOUBLE PRECISION NOT NULL,
    cell         BIGINT NOT NULL,
    active       INTEGER NOT NULL DEFAULT 1,
    create_time  BIGINT NOT NULL
);
CREATE INDEX providers_create_time ON providers (create_time, id);

-- A table, not a JSON list: the dispatcher filters providers by skill.
CREATE TABLE provider_skills (
    provider_id TEXT NOT NULL REFERENCES providers (id) ON DELETE CASCADE,
    skill       TEXT NOT NULL,
    PRIMARY KEY (provider_id, skill)
);
CREATE INDEX provider_skills_skill ON provider_skills (skill, provider_id);

CREATE TABLE service_requests (
    id              TEXT PRIMARY KEY,
    resident_id     TEXT NOT NULL REFERENCES residents (id),
    service_code    TEXT NOT NULL REFERENCES service_types (code),
    urgency         TEXT NOT NULL,
    status          TEXT NOT NULL,
    notes           TEXT NOT NULL DEFAULT '',
    window_start    BIGINT NOT NULL DEFAULT 0,
    window_end      BIGINT NOT NULL DEFAULT 0,
    provider_id     TEXT NOT NULL DEFAULT '',
    visit_id        TEXT NOT NULL DEFAULT '',
    cancel_reason   TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL,
    create_time     BIGINT NOT NULL,
    update_time     BIGINT NOT NULL
);
CREATE INDEX service_requests_resident ON service_requests (resident_id, create_time);
CREATE INDEX service_requests_status ON service_requests (status, create_time);
CREATE INDEX service_requests_create_time ON service_requests (create_time);

-- Append-only history of each request; UNIQUE (request_id, seq) makes two
-- writers that raced on the same request collide instead of interleaving.
CREATE TABLE request_events (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES service_requests (id),
    seq         INTEGER NOT NULL,
    type        TEXT NOT NULL,
    from_status TEXT NOT NULL DEFAULT '',
    to_status   TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    time        BIGINT NOT NULL,
    UNIQUE (request_id, seq)
);

-- Idempotency keys are scoped by actor, as Stripe scopes them by account: two
-- operators who happen to pick the same key do not see each other's request.
-- The key is claimed in the same transaction as the request it names, before
-- the request row exists, hence the deferred check.
CREATE TABLE idempotency_keys (
    actor       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    request_id  TEXT NOT NULL REFERENCES service_requests (id) DEFERRABLE INITIALLY DEFERRED,
    created     BIGINT NOT NULL,
    PRIMARY KEY (actor, key)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    create_time   BIGINT NOT NULL
);

-- Only the hash of a token is kept, so a copy of this table opens nothing.
CREATE TABLE tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    role        TEXT NOT NULL DEFAULT '',
    name        TEXT NOT NULL DEFAULT '',
    expires     BIGINT NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0,
    create_time BIGINT NOT NULL
);
CREATE INDEX tokens_subject ON tokens (kind, subject);

CREATE TABLE audit_records (
    id          TEXT PRIMARY KEY,
    time        BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL DEFAULT '',
    object_id   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_records_time ON audit_records (time);
CREATE INDEX audit_records_object ON audit_records (object_id, time);
CREATE INDEX audit_records_actor ON audit_records (actor, time);

-- +goose Down
DROP TABLE audit_records;
DROP TABLE tokens;
DROP TABLE users;
DROP TABLE idempotency_keys;
DROP TABLE request_events;
DROP TABLE service_requests;
DROP TABLE provider_skills;
DROP TABLE providers;
DROP TABLE family_members;
DROP TABLE resident_name_grams;
DROP TABLE residents;
DROP TABLE service_types;
