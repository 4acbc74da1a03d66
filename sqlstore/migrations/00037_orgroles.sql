-- Organisation roles (issue 12, rpc/org.go): an org_dispatcher or org_admin
-- account belongs to one organisation and sees only its requests, carers,
-- visits, alerts and statements. '' for platform accounts. Same
-- conventions as 00001.

-- +goose Up
ALTER TABLE users ADD COLUMN org_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN org_id;
