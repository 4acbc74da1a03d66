-- Calls from the telephone system (issue 10): the events a PBX posts to
-- /cti/v1/calls, each call folded into one row (the console asks for the
-- active call at its extension), and the call a request was logged during.
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

-- +goose Down
ALTER TABLE service_requests DROP COLUMN call_id;
DROP TABLE call_events;
DROP TABLE calls;
