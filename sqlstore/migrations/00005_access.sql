-- Access that can be bounded and withdrawn: the login throttle (per username
-- and per client address, in the database so every replica sees the same
-- count and a restart forgets nothing) and disabled accounts. Same
-- conventions as 00001: BIGINT unix microseconds, one schema for SQLite and
-- PostgreSQL.

-- +goose Up
CREATE TABLE login_throttle (
    -- "user:NAME" or "addr:IP"
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    window_start BIGINT NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    -- lockouts since the last success or unlock; each doubles the next
    lockouts     INTEGER NOT NULL DEFAULT 0,
    update_time  BIGINT NOT NULL
);

-- 1 refuses the account at login; its tokens are revoked when it is set.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN disabled;
DROP TABLE login_throttle;
