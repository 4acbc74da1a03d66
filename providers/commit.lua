-- commit.lua: the claim became a visit (the provider accepted and SQL
-- committed the assignment): the provider is busy until Finish. Only the
-- current claim's token commits. Idempotent: committing again with the same
-- token reports success and changes nothing.
--
-- KEYS[1] provider hash (providerKey)
-- KEYS[2] offer deadlines (offersKey)
-- ARGV[1] provider ID
-- ARGV[2] fencing token of the claim
--
-- Returns 1 busy with this claim, 0 the token is not the current claim's (or
-- the offer already ended), -1 unknown provider.
local h = KEYS[1]
local v = redis.call('HMGET', h, 's', 'f')
if not v[1] then return -1 end
if v[2] ~= ARGV[2] then return 0 end
if v[1] == 'b' then return 1 end
if v[1] ~= 'f' then return 0 end
redis.call('HSET', h, 's', 'b')
redis.call('HDEL', h, 'x')
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
