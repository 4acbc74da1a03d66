-- ID numbers encrypted at rest (datakey.go, docs/PRIVACY.md): id_number now
-- holds AES-GCM ciphertext, opened with CAREHEX_DATA_KEY; id_number_hash is
-- an HMAC-SHA256 of the number for exact lookups. Rows written before this
-- are encrypted when the store next opens with a key. Same conventions as
-- 00001.

-- +goose Up
ALTER TABLE residents ADD COLUMN id_number_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX residents_id_number_hash ON residents (id_number_hash);
-- ciphertext is random per row: an index on it answers nothing
DROP INDEX residents_id_number;
-- Only on PostgreSQL without CAREHEX_DATA_KEY: the generated key, kept so
-- every replica uses the same one. It protects nothing a database dump
-- exposes; production sets CAREHEX_DATA_KEY.
CREATE TABLE data_key_fallback (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL
);

-- +goose Down
DROP TABLE data_key_fallback;
CREATE INDEX residents_id_number ON residents (id_number);
DROP INDEX residents_id_number_hash;
ALTER TABLE residents DROP COLUMN id_number_hash;
