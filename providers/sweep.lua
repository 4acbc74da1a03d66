-- sweep.lua: releases offers whose deadline passed more than a grace period
-- ago. The claimer normally releases an offer itself when it is declined or
-- expires; this catches the claimers that died (crash, pause, partition) so
-- their providers do not stay reserved for nobody.
--
-- KEYS[1] offer deadlines (offersKey)
-- ARGV[1] now, Unix ms
-- ARGV[2] grace, ms
-- ARGV[3] at most this many offers per call (the caller loops)
-- ARGV[4] provider key prefix (providerKeyPrefix)
-- ARGV[5] index key prefix (indexKeyPrefix)
--
-- Returns a flat array: first how many due entries it looked at (ARGV[3]
-- means there may be more: call again), then three entries per released
-- offer: provider ID, request ID, fencing token. Entries whose provider no
-- longer holds an offer (released, committed, removed) are dropped from
-- KEYS[1] silently.
local cutoff = tonumber(ARGV[1]) - tonumber(ARGV[2])
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[3]))
local out = {tostring(#due)}
for _, id in ipairs(due) do
  local h = ARGV[4] .. id
  local v = redis.call('HMGET', h, 's', 'x', 'w', 'la', 'ln', 'c', 'k', 't', 'r', 'f')
  local x = tonumber(v[2] or 0)
  if v[1] == 'f' and x > cutoff then
    -- A newer offer than the entry says; keep it, at its own deadline.
    redis.call('ZADD', KEYS[1], x, id)
  else
    if v[1] == 'f' then
      local st = back_from(v[3])
      redis.call('HSET', h, 's', st)
      redis.call('HDEL', h, 'r', 'x')
      if st == 'a' then index(ARGV[5], id, v[4], v[5], v[8], v[6], v[7]) end
      out[#out + 1] = id
      out[#out + 1] = v[9] or ''
      out[#out + 1] = v[10] or '0'
    end
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
