-- remove.lua: deletes a provider's live state (taken off the roster or
-- deactivated), out of every index. A claim it held is forgotten with it;
-- SQL refuses to commit it because the provider is inactive there.
--
-- KEYS[1] provider hash (providerKey)
-- KEYS[2] offer deadlines (offersKey)
-- KEYS[3] geo set (geoKey)
-- ARGV[1] provider ID
-- ARGV[2] index key prefix (indexKeyPrefix)
--
-- Returns 1 removed, 0 there was nothing to remove.
local h = KEYS[1]
local v = redis.call('HMGET', h, 's', 'la', 'ln', 'c', 'k', 't')
if not v[1] then return 0 end
if v[1] == 'a' then unindex(ARGV[2], ARGV[1], v[2], v[3], v[6], v[4], v[5]) end
redis.call('DEL', h)
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
