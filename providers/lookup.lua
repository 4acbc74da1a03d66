-- lookup.lua: the candidate lookup's read of one step of rings around the
-- origin (Store.Candidates): every index set of the step in one round trip
-- and one command, where a pipeline of one ZRANGEBYSCORE per cell cost the
-- client a command object, a reply and a parse per cell, and Redis a
-- command dispatch per cell. All keys carry the zone's hash tag, so the
-- script runs on Redis Cluster as on one server.
--
-- KEYS[1…n] availability index sets (indexKey), one per cell, in the order
--           the caller lists the cells
-- ARGV[1]   oldest acceptable heartbeat, Unix seconds (the index score)
--
-- Returns a flat array: for each key in order, the number of its members
-- with a score of at least ARGV[1], then those members.
local out, n = {}, 0
for i = 1, #KEYS do
  local ms = redis.call('ZRANGEBYSCORE', KEYS[i], ARGV[1], '+inf')
  n = n + 1
  out[n] = #ms
  for j = 1, #ms do
    n = n + 1
    out[n] = ms[j]
  end
end
return out
