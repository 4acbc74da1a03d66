-- Two-tier dispatch (issue 12): requests routed to an organisation, and each
-- organisation's auto-dispatch switch. Same conventions as 00001: BIGINT
-- unix microseconds (0: none), TEXT ids, one schema for SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE org_routes (
    id          TEXT PRIMARY KEY,
    request_id  TEXT NOT NULL REFERENCES service_requests (id),
    org_id      TEXT NOT NULL REFERENCES organisations (id),
    attempt     INTEGER NOT NULL,
    route_time  BIGINT NOT NULL,
    due_time    BIGINT NOT NULL,
    late_time   BIGINT NOT NULL DEFAULT 0,
    end_time    BIGINT NOT NULL DEFAULT 0,
    end_reason  TEXT NOT NULL DEFAULT '',
    actor       TEXT NOT NULL,
    -- JSON list of the organisations considered, in rank order, with their factors
    ranking     TEXT NOT NULL DEFAULT 'null',
    UNIQUE (request_id, attempt)
);
-- One open route per request: of two replicas routing it at once, one wins.
CREATE UNIQUE INDEX org_routes_open ON org_routes (request_id) WHERE end_time = 0;
CREATE INDEX org_routes_due ON org_routes (due_time) WHERE end_time = 0 AND late_time = 0;
CREATE INDEX org_routes_org ON org_routes (org_id, end_time, route_time);

CREATE TABLE org_dispatch (
    org_id        TEXT PRIMARY KEY REFERENCES organisations (id),
    auto_dispatch INTEGER NOT NULL DEFAULT 0,
    update_time   BIGINT NOT NULL,
    updated_by    TEXT NOT NULL
);

-- +goose Down
DROP TABLE org_dispatch;
DROP TABLE org_routes;
