-- finish.lua: the visit of the current claim ended (completed, cancelled, no
-- show): the provider returns to available, or offline if its last heartbeat
-- said so. Only the current claim's token finishes it.
--
-- KEYS[1] provider hash (providerKey)
-- ARGV[1] provider ID
-- ARGV[2] fencing token of the claim that became the visit
-- ARGV[3] index key prefix (indexKeyPrefix)
--
-- Returns 1 finished, 0 not busy with that token, -1 unknown provider.
local h = KEYS[1]
local v = redis.call('HMGET', h, 's', 'f', 'w', 'la', 'ln', 'c', 'k', 't')
if not v[1] then return -1 end
if v[1] ~= 'b' or v[2] ~= ARGV[2] then return 0 end
local st = back_from(v[3])
redis.call('HSET', h, 's', st)
redis.call('HDEL', h, 'r')
if st == 'a' then index(ARGV[3], ARGV[1], v[4], v[5], v[8], v[6], v[7]) end
return 1
