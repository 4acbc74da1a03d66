-- Planned-care changes and visiting programmes (issue 11, second part).
-- Same conventions as 00001.

-- +goose Up
-- The carer a planned visit was taken from (can't do, sick day, handed to
-- on-demand dispatch): the family is told of the change, and the roster
-- does not give a "can't do" back to the same carer.
ALTER TABLE planned_visits ADD COLUMN previous_provider_id TEXT NOT NULL DEFAULT '';

-- 探访关爱: per subsidy category, how many visits of which service a
-- resident of the category is owed each calendar month.
CREATE TABLE visit_programmes (
    category     TEXT PRIMARY KEY,
    service_code TEXT NOT NULL,
    per_month    INTEGER NOT NULL,
    -- minutes after midnight CST
    window_start INTEGER NOT NULL,
    window_end   INTEGER NOT NULL,
    duration_s   BIGINT NOT NULL,
    update_time  BIGINT NOT NULL
);

-- The programme (subsidy category) a plan was generated for; '' for a
-- plan a coordinator wrote. One programme plan per resident and category,
-- however many replicas generate at once.
ALTER TABLE care_plans ADD COLUMN programme TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX care_plans_programme ON care_plans (resident_id, programme) WHERE programme <> '';

-- +goose Down
DROP INDEX care_plans_programme;
ALTER TABLE care_plans DROP COLUMN programme;
DROP TABLE visit_programmes;
ALTER TABLE planned_visits DROP COLUMN previous_provider_id;
