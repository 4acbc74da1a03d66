-- restore.lua: re-creates one provider's live state from the system of
-- record after Redis lost it (Rebuild), or registers a provider from the
-- roster. State already present was written by heartbeats or claims since the
-- loss and is fresher than SQL's, so it is kept, with three corrections from
-- SQL: the fencing token is raised to the floor SQL knows (claims made from
-- now on carry tokens above every token SQL has accepted), the skills are the
-- roster's, and a visit SQL holds open makes an available or offline
-- provider busy again.
--
-- KEYS[1] provider hash (providerKey)
-- KEYS[2] geo set (geoKey); written only when ARGV[13] is "1"
-- ARGV[1] provider ID
-- ARGV[2] latitude, 5 decimals, or "" when no position is known
-- ARGV[3] longitude, likewise
-- ARGV[4] accuracy, whole metres
-- ARGV[5] the position's index cells, one per index resolution, hex,
--         comma-separated, or ""
-- ARGV[6] last heartbeat, Unix ms (0 if never)
-- ARGV[7] status: "o" offline, "a" available, "b" busy
-- ARGV[8] skills, comma-separated
-- ARGV[9] "1" if the provider wants offers once free, else "0"
-- ARGV[10] fencing token floor (the highest token SQL has seen)
-- ARGV[11] request ID of the visit in progress, for status "b", else ""
-- ARGV[12] index key prefix (indexKeyPrefix)
-- ARGV[13] "1" to keep the geo set too
--
-- Returns 1 created, 0 already present (and corrected as above).
local h = KEYS[1]
local id, la, ln, cell = ARGV[1], ARGV[2], ARGV[3], ARGV[5]
local floor = tonumber(ARGV[10])
local v = redis.call('HMGET', h, 's', 'f', 'la', 'ln', 'c', 'k', 't')
if v[1] then
  if tonumber(v[2] or 0) < floor then redis.call('HSET', h, 'f', ARGV[10]) end
  local busy = ARGV[7] == 'b' and (v[1] == 'a' or v[1] == 'o')
  if v[1] == 'a' and (busy or v[6] ~= ARGV[8]) then unindex(ARGV[12], id, v[3], v[4], v[7], v[5], v[6]) end
  redis.call('HSET', h, 'k', ARGV[8])
  if busy then
    redis.call('HSET', h, 's', 'b', 'r', ARGV[11])
  elseif v[1] == 'a' and v[6] ~= ARGV[8] then
    index(ARGV[12], id, v[3], v[4], v[7], v[5], ARGV[8])
  end
  return 0
end
local st = ARGV[7]
redis.call('HSET', h, 's', st, 'la', la, 'ln', ln, 'ac', ARGV[4], 'c', cell,
  't', ARGV[6], 'k', ARGV[8], 'w', ARGV[9], 'f', ARGV[10])
if st == 'b' and ARGV[11] ~= '' then redis.call('HSET', h, 'r', ARGV[11]) end
if st == 'a' then index(ARGV[12], id, la, ln, ARGV[6], cell, ARGV[8]) end
if ARGV[13] == '1' and la ~= '' then redis.call('GEOADD', KEYS[2], ln, la, id) end
return 1
