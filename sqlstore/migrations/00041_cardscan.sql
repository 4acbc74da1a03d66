-- Service cards (issue 12, card.go): a contract may require the resident's
-- card scanned at arrival and completion; every scan, accepted or refused,
-- is kept (append-only); and the district's card key when
-- CAREHEX_CARD_KEY is not set, kept so every replica signs alike.

-- +goose Up
ALTER TABLE contracts ADD COLUMN requires_card_scan INTEGER NOT NULL DEFAULT 0;

CREATE TABLE card_scans (
    id          TEXT PRIMARY KEY,
    visit_id    TEXT NOT NULL REFERENCES visits (id),
    provider_id TEXT NOT NULL,
    resident_id TEXT NOT NULL,
    -- arrive or complete
    stage       TEXT NOT NULL,
    -- qr or code
    method      TEXT NOT NULL,
    -- ok, or the refusal: card_unreadable, card_forged, card_other_resident, card_wrong_code
    result      TEXT NOT NULL,
    time        BIGINT NOT NULL
);
CREATE INDEX card_scans_visit ON card_scans (visit_id, time);

CREATE TABLE card_key (
    id  INTEGER PRIMARY KEY,
    key TEXT NOT NULL
);

-- +goose Down
DROP TABLE card_key;
DROP TABLE card_scans;
ALTER TABLE contracts DROP COLUMN requires_card_scan;
