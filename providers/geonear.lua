-- geonear.lua: the GEOSEARCH alternative to the H3 cell index, kept so the
-- two can be compared in one run. It asks the geo set for the nearest
-- providers (BYRADIUS … ASC COUNT n), applies the same hard filters as the
-- H3 lookup by reading each one's hash, and asks again for four times as
-- many while too few pass and more may exist.
--
-- KEYS[1] geo set (geoKey)
-- ARGV[1] origin longitude
-- ARGV[2] origin latitude
-- ARGV[3] radius, metres
-- ARGV[4] wanted count
-- ARGV[5] oldest acceptable heartbeat, Unix seconds (whole seconds, as the
--         H3 index keeps them)
-- ARGV[6] skill
-- ARGV[7] provider key prefix (providerKeyPrefix)
-- ARGV[8…] provider IDs to leave out
--
-- Returns a flat array, six entries per candidate, nearest first: provider
-- ID, latitude, longitude (as stored in its hash), index cells (the hash's
-- field c: hex, comma-separated), last heartbeat
-- (Unix ms), distance in metres (GEOSEARCH's).
local want = tonumber(ARGV[4])
local oldest = tonumber(ARGV[5])
local skill = ',' .. ARGV[6] .. ','
local skip = {}
for i = 8, #ARGV do skip[ARGV[i]] = true end
local count = want * 4
while true do
  local found = redis.call('GEOSEARCH', KEYS[1], 'FROMLONLAT', ARGV[1], ARGV[2],
    'BYRADIUS', ARGV[3], 'm', 'ASC', 'COUNT', count, 'WITHDIST')
  local out, n = {}, 0
  for _, hit in ipairs(found) do
    local id = hit[1]
    if not skip[id] then
      local v = redis.call('HMGET', ARGV[7] .. id, 's', 't', 'k', 'la', 'ln', 'c')
      if v[1] == 'a' and math.floor(tonumber(v[2]) / 1000) >= oldest and string.find(',' .. v[3] .. ',', skill, 1, true) then
        out[#out + 1] = id
        out[#out + 1] = v[4]
        out[#out + 1] = v[5]
        out[#out + 1] = v[6]
        out[#out + 1] = v[2]
        out[#out + 1] = hit[2]
        n = n + 1
        if n == want then return out end
      end
    end
  end
  if #found < count then return out end
  count = count * 4
end
