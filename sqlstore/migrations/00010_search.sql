-- The incoming-call lookup finds a phone number by any run of 4 or more of
-- its digits and a name by its pinyin (issue 10). Both are key tables like
-- resident_name_grams: plain btree indexes that work the same on SQLite and
-- PostgreSQL, with the name in the key so a one-key query reads its first
-- page in name order straight off the index. (PostgreSQL's pg_trgm and
-- SQLite's FTS5 trigram tokenizer were the alternatives: one design per
-- database, and trigrams cannot serve 4-digit or 1–2 letter queries from the
-- index.) Residents saved before this migration get their keys from Go when
-- the store opens (pinyin needs a dictionary SQL does not have):
-- residents.search_keys says which version of the keys a row holds.

-- +goose Up
-- Every distinct 4-digit window of the phone number's digits.
CREATE TABLE resident_phone_grams (
    gram        TEXT NOT NULL,
    name        TEXT NOT NULL,
    resident_id TEXT NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    PRIMARY KEY (gram, name, resident_id)
);
CREATE INDEX resident_phone_grams_resident ON resident_phone_grams (resident_id);

-- Pinyin keys of the name's Han characters, lower-case letters only: every
-- run of the syllables' initials (wgl, wg, gl, …), each syllable (wang, gui,
-- lan) and the full pinyin from each syllable on (wangguilan, guilan), for
-- every common reading.
CREATE TABLE resident_pinyin (
    pinyin      TEXT NOT NULL,
    name        TEXT NOT NULL,
    resident_id TEXT NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    PRIMARY KEY (pinyin, name, resident_id)
);
CREATE INDEX resident_pinyin_resident ON resident_pinyin (resident_id);

ALTER TABLE residents ADD COLUMN search_keys INTEGER NOT NULL DEFAULT 0;
CREATE INDEX residents_search_keys ON residents (search_keys);

-- +goose Down
DROP INDEX residents_search_keys;
ALTER TABLE residents DROP COLUMN search_keys;
DROP TABLE resident_pinyin;
DROP TABLE resident_phone_grams;
