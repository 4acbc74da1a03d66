-- Callbacks (回访) and complaints (投诉), issue 13 (root quality.go,
-- sqlstore/quality.go). Same conventions as 00001: BIGINT unix
-- microseconds (0: none), TEXT ids, one schema for SQLite and PostgreSQL.

-- +goose Up
-- A callback task: one per completed visit at most (the partial unique key
-- is what lets every replica queue it at once), and one per round of a
-- complaint's verification (complaint_id set; visit_id '' for a complaint
-- against a carer or an organisation).
CREATE TABLE callbacks (
    id                TEXT PRIMARY KEY,
    visit_id          TEXT NOT NULL,
    request_id        TEXT NOT NULL,
    resident_id       TEXT NOT NULL REFERENCES residents (id),
    provider_id       TEXT NOT NULL DEFAULT '',
    org_id            TEXT NOT NULL DEFAULT '',
    complaint_id      TEXT NOT NULL DEFAULT '',
    -- complaint, exception, first_visit, sampled
    reason            TEXT NOT NULL,
    -- CallbackReason.Priority: lower is called first
    priority          INTEGER NOT NULL,
    -- open, done, unreachable
    status            TEXT NOT NULL DEFAULT 'open',
    claimed_by        TEXT NOT NULL DEFAULT '',
    claim_expire_time BIGINT NOT NULL DEFAULT 0,
    attempts          INTEGER NOT NULL DEFAULT 0,
    satisfaction      INTEGER NOT NULL DEFAULT 0,
    -- yes, no, partly; '' until done
    service_done      TEXT NOT NULL DEFAULT '',
    notes             TEXT NOT NULL DEFAULT '',
    create_time       BIGINT NOT NULL,
    done_time         BIGINT NOT NULL DEFAULT 0,
    done_by           TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX callbacks_visit ON callbacks (visit_id) WHERE complaint_id = '';
CREATE INDEX callbacks_complaint ON callbacks (complaint_id);
-- The queue: open tasks, most important, least tried, then oldest first.
CREATE INDEX callbacks_queue ON callbacks (status, priority, attempts, create_time);
CREATE INDEX callbacks_org ON callbacks (org_id, done_time);
-- The dashboard's period: results by when they were recorded, covering
-- what QualitySummary sums, so a year is read from the index alone.
CREATE INDEX callbacks_done ON callbacks (done_time, org_id, status, satisfaction, service_done, resident_id);

CREATE TABLE complaints (
    id               TEXT PRIMARY KEY,
    resident_id      TEXT NOT NULL REFERENCES residents (id),
    -- elder, family
    complainant      TEXT NOT NULL,
    complainant_name TEXT NOT NULL DEFAULT '',
    visit_id         TEXT NOT NULL DEFAULT '',
    request_id       TEXT NOT NULL DEFAULT '',
    provider_id      TEXT NOT NULL DEFAULT '',
    org_id           TEXT NOT NULL DEFAULT '',
    description      TEXT NOT NULL,
    -- open, referred, responded, verified, closed, rejected, withdrawn
    status           TEXT NOT NULL,
    response         TEXT NOT NULL DEFAULT '',
    resolution       TEXT NOT NULL DEFAULT '',
    callback_id      TEXT NOT NULL DEFAULT '',
    -- when the current step must be done; 0 in a terminal status
    due_time         BIGINT NOT NULL DEFAULT 0,
    create_time      BIGINT NOT NULL,
    update_time      BIGINT NOT NULL,
    created_by       TEXT NOT NULL
);
CREATE INDEX complaints_status_due ON complaints (status, due_time);
CREATE INDEX complaints_org ON complaints (org_id, create_time);
CREATE INDEX complaints_create ON complaints (create_time);
CREATE INDEX complaints_resident ON complaints (resident_id);

-- +goose Down
DROP TABLE complaints;
DROP TABLE callbacks;
