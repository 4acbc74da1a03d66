-- The resident's street (街道/镇) and community (社区居委会/村委会) from the
-- official division list, and the code of the finest one given (root
-- resident.go). Same conventions as 00001.

-- +goose Up
ALTER TABLE residents ADD COLUMN street TEXT NOT NULL DEFAULT '';
ALTER TABLE residents ADD COLUMN community TEXT NOT NULL DEFAULT '';
ALTER TABLE residents ADD COLUMN division_code TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE residents DROP COLUMN division_code;
ALTER TABLE residents DROP COLUMN community;
ALTER TABLE residents DROP COLUMN street;
