-- Alerts in words and alerts that end (issue 10): an alert carries its
-- message code and parameters (JSON object of strings) for the pages to
-- render, and close_reason when it closed by itself because its condition
-- ended (the request was assigned, the carer arrived, the request was
-- completed or cancelled). A closed alert is no longer open: ack_time is
-- when it closed and ack_by who caused it, so the open-alert index and every
-- "ack_time = 0" query keep meaning "open".

-- +goose Up
ALTER TABLE alerts ADD COLUMN code TEXT NOT NULL DEFAULT '';
ALTER TABLE alerts ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE alerts ADD COLUMN close_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE alerts DROP COLUMN close_reason;
ALTER TABLE alerts DROP COLUMN params;
ALTER TABLE alerts DROP COLUMN code;
