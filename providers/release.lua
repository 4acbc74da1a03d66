-- release.lua: ends an offer that did not become a visit (declined, expired,
-- withdrawn because another provider accepted first). Only the holder of the
-- current claim can release it: a late release carrying an old token changes
-- nothing.
--
-- KEYS[1] provider hash (providerKey)
-- KEYS[2] offer deadlines (offersKey)
-- ARGV[1] provider ID
-- ARGV[2] fencing token of the claim being released
-- ARGV[3] index key prefix (indexKeyPrefix)
--
-- Returns 1 released (the provider is back to available, or offline if its
-- last heartbeat said so), 0 nothing to release with that token (another
-- claim is current, or the offer already ended), -1 unknown provider.
local h = KEYS[1]
local v = redis.call('HMGET', h, 's', 'f', 'w', 'la', 'ln', 'c', 'k', 't')
if not v[1] then return -1 end
if v[1] ~= 'f' or v[2] ~= ARGV[2] then return 0 end
local st = back_from(v[3])
redis.call('HSET', h, 's', st)
redis.call('HDEL', h, 'r', 'x')
redis.call('ZREM', KEYS[2], ARGV[1])
if st == 'a' then index(ARGV[3], ARGV[1], v[4], v[5], v[8], v[6], v[7]) end
return 1
