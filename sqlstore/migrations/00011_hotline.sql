-- The hotline's day (issue 10): calls from the telephone system (the events
-- a PBX posts to /cti/v1/calls, each call folded into one row; the console
-- asks for the active call at its extension), the call a request was logged
-- during, and residents deactivated with a reason (moved away, deceased).
-- Same conventions as 00001: BIGINT unix microseconds, TEXT ids.

-- +goose Up
CREATE TABLE calls (
    call_id       TEXT PRIMARY KEY,
    caller        TEXT NOT NULL DEFAULT '',
    extension     TEXT NOT NULL DEFAULT '',
    recording_ref TEXT NOT NULL DEFAULT '',
    -- the last event: ringing, answered, bridged or hangup
    status        TEXT NOT NULL,
    start_time    BIGINT NOT NULL,
    update_time   BIGINT NOT NULL
);
CREATE INDEX calls_extension ON calls (extension, start_time);

-- Every event as posted, append-only: the record of what the PBX said.
CREATE TABLE call_events (
    id            TEXT PRIMARY KEY,
    call_id       TEXT NOT NULL REFERENCES calls (call_id),
    event         TEXT NOT NULL,
    caller        TEXT NOT NULL DEFAULT '',
    extension     TEXT NOT NULL DEFAULT '',
    recording_ref TEXT NOT NULL DEFAULT '',
    time          BIGINT NOT NULL
);
CREATE INDEX call_events_call ON call_events (call_id, time);

-- The call a request was logged during; '' for none. The recording is read
-- from calls, since it is often known only at hangup, after the request.
ALTER TABLE service_requests ADD COLUMN call_id TEXT NOT NULL DEFAULT '';

-- A deactivated resident keeps her record and history (and is still found,
-- marked, when someone calls about her) but takes no new requests.
-- deactivate_reason is '' while she is served: a code (moved_away,
-- deceased, care_home, other), then ": " and the operator's words if any.
ALTER TABLE residents ADD COLUMN deactivate_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE residents ADD COLUMN deactivate_time BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE residents DROP COLUMN deactivate_time;
ALTER TABLE residents DROP COLUMN deactivate_reason;
ALTER TABLE service_requests DROP COLUMN call_id;
DROP TABLE call_events;
DROP TABLE calls;
