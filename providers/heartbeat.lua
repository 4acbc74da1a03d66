-- heartbeat.lua: records a provider's position and wish to work, and moves it
-- between the cell sets of the availability index in the same step, so a
-- lookup never sees it in two cells or in none.
--
-- KEYS[1] provider hash (providerKey)
-- KEYS[2] geo set (geoKey); written only when ARGV[10] is "1"
-- ARGV[1] provider ID
-- ARGV[2] latitude, 5 decimals
-- ARGV[3] longitude, 5 decimals
-- ARGV[4] accuracy, whole metres
-- ARGV[5] the position's index cells, one per index resolution, hex,
--         comma-separated
-- ARGV[6] now, Unix ms (from the caller's clock, never Redis TIME)
-- ARGV[7] "1" if the provider wants offers, "0" if not
-- ARGV[8] skills, comma-separated, replacing the stored ones; "" keeps them
-- ARGV[9] index key prefix (indexKeyPrefix)
-- ARGV[10] "1" to keep the geo set too
--
-- Returns the status after the heartbeat: "o" offline, "a" available,
-- "f" offered, "b" busy (an offer or visit is not changed by a heartbeat);
-- or the integer -1 when the provider has no live state and ARGV[8] is "":
-- the caller registers it from the roster (this is how a Redis that lost its
-- data is noticed provider by provider).
local h = KEYS[1]
local id, la, ln, now = ARGV[1], ARGV[2], ARGV[3], ARGV[6]
local old = redis.call('HMGET', h, 's', 'la', 'ln', 'c', 'k', 't')
local st = old[1]
if not st then
  if ARGV[8] == '' then return -1 end
  st = 'o'
end
local skills = old[5]
if ARGV[8] ~= '' then skills = ARGV[8] end

if st == 'a' then unindex(ARGV[9], id, old[2], old[3], old[6], old[4], old[5]) end
if st == 'a' or st == 'o' then
  if ARGV[7] == '1' then st = 'a' else st = 'o' end
end
redis.call('HSET', h, 's', st, 'la', la, 'ln', ln, 'ac', ARGV[4], 'c', ARGV[5],
  't', now, 'k', skills, 'w', ARGV[7])
if st == 'a' then index(ARGV[9], id, la, ln, now, ARGV[5], skills) end
if ARGV[10] == '1' then redis.call('GEOADD', KEYS[2], ln, la, id) end
return st
