-- A complaint's overdue step is an alert in the operators' one queue (issue
-- 13), but a complaint against a carer or an organisation has no request.
-- The alerts' request_id becomes the alert's subject key: a request's ID, or
-- for kind complaint_overdue a complaint's ID (root quality.go). SQLite
-- cannot drop a foreign key in place, so the table is rebuilt with the same
-- columns, defaults and indexes (00003, 00018) on both databases.

-- +goose Up
CREATE TABLE alerts_new (
    id           TEXT PRIMARY KEY,
    request_id   TEXT NOT NULL,
    visit_id     TEXT NOT NULL DEFAULT '',
    kind         TEXT NOT NULL,
    message      TEXT NOT NULL,
    create_time  BIGINT NOT NULL,
    ack_time     BIGINT NOT NULL DEFAULT 0,
    ack_by       TEXT NOT NULL DEFAULT '',
    code         TEXT NOT NULL DEFAULT '',
    params       TEXT NOT NULL DEFAULT '{}',
    close_reason TEXT NOT NULL DEFAULT ''
);
INSERT INTO alerts_new (id, request_id, visit_id, kind, message, create_time, ack_time, ack_by, code, params, close_reason)
    SELECT id, request_id, visit_id, kind, message, create_time, ack_time, ack_by, code, params, close_reason FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_new RENAME TO alerts;
CREATE UNIQUE INDEX alerts_open_request_kind ON alerts (request_id, kind) WHERE ack_time = 0;
CREATE INDEX alerts_ack_create ON alerts (ack_time, create_time);
CREATE INDEX alerts_create ON alerts (create_time);

-- +goose Down
-- The foreign key is not restored: complaint alerts would break it.
SELECT 1;
