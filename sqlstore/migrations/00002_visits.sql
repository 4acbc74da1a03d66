-- Visits and the per-provider fence: where a dispatch claim is decided for
-- good (invariant 1). Same conventions as 00001: BIGINT unix microseconds,
-- TEXT ids, one schema for SQLite and PostgreSQL.

-- +goose Up
CREATE TABLE visits (
    id            TEXT PRIMARY KEY,
    request_id    TEXT NOT NULL REFERENCES service_requests (id),
    provider_id   TEXT NOT NULL REFERENCES providers (id),
    -- the fencing token of the claim that created the visit
    fence         BIGINT NOT NULL,
    status        TEXT NOT NULL,
    planned_start BIGINT NOT NULL,
    planned_end   BIGINT NOT NULL,
    -- carehex.Visit.Held() written down, rewritten on every status change, so
    -- that "is the provider free in [a, b)" is one indexed range query.
    -- "Until it finishes" is carehex.Forever in microseconds; a cancelled
    -- visit holds the empty interval held_start = held_end.
    held_start    BIGINT NOT NULL,
    held_end      BIGINT NOT NULL,
    -- the provider's last committed fence when they set off on this visit,
    -- i.e. when its hold grew past the planned slot; 0 until then. Visits
    -- with a fence at or below it were committed before the overrun began,
    -- so running late into them is lateness, not a double booking.
    set_off_fence BIGINT NOT NULL DEFAULT 0,
    finish_time   BIGINT NOT NULL DEFAULT 0,
    create_time   BIGINT NOT NULL,
    update_time   BIGINT NOT NULL
);
-- A request has at most one visit that is not cancelled; a provider who drops
-- out leaves a cancelled visit behind and the request can be assigned again.
CREATE UNIQUE INDEX visits_request_live ON visits (request_id) WHERE status <> 'cancelled';
CREATE INDEX visits_request ON visits (request_id, create_time);
-- The overlap check reads a provider's visits that end after the new slot
-- begins: led by held_end, the range skips a provider's finished past.
CREATE INDEX visits_provider_held ON visits (provider_id, held_end, held_start);
-- Fences only grow per provider, so they order a provider's visits by when
-- they were committed, whatever the replicas' clocks say; two visits of one
-- provider can never carry the same token.
CREATE UNIQUE INDEX visits_provider_fence ON visits (provider_id, fence);

-- The last fence committed per provider. AssignRequest raises it only to a
-- newer fence, so a claim from a paused or partitioned replica loses; writing
-- the row also serialises a provider's assignments on PostgreSQL.
CREATE TABLE provider_fences (
    provider_id TEXT PRIMARY KEY REFERENCES providers (id),
    fence       BIGINT NOT NULL
);

-- +goose Down
DROP TABLE provider_fences;
DROP TABLE visits;
