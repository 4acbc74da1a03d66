-- Retention (retention.go, docs/PRIVACY.md): raw GPS points of visit events
-- are reduced to the verification summary after CAREHEX_GPS_RETENTION, and
-- residents deactivated longer than the retention period are erased,
-- leaving anonymised statistics. Same conventions as 00001.

-- +goose Up
-- 1 once lat, lng and accuracy_m were cleared; distance_m (metres from the
-- home, rounded to 10) is then what remains of the position, beside
-- verified and exception.
ALTER TABLE visit_events ADD COLUMN gps_reduced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE visit_events ADD COLUMN distance_m INTEGER NOT NULL DEFAULT -1;
CREATE INDEX visit_events_gps ON visit_events (gps_reduced, receive_time);
-- when the resident's personal data was erased; 0 while it is kept
ALTER TABLE residents ADD COLUMN erase_time BIGINT NOT NULL DEFAULT 0;
-- An area-scoped supervisor (rpc/area.go) sees only residents of this
-- district; '' is the whole city.
ALTER TABLE users ADD COLUMN area TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN area;
ALTER TABLE residents DROP COLUMN erase_time;
DROP INDEX visit_events_gps;
ALTER TABLE visit_events DROP COLUMN distance_m;
ALTER TABLE visit_events DROP COLUMN gps_reduced;
