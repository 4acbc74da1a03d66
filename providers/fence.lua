-- fence.lua: a fencing token for work booked ahead (the roster's planned
-- visits), taken from the same counter as offers' claims so that SQL sees
-- one increasing sequence per provider whichever half of the work commits.
-- It changes neither status nor index: the provider need not be on shift,
-- and stays free for on-demand work until a visit is due. It refuses while
-- the provider holds a live offer, whose accept would otherwise carry a
-- token older than ours and lose in SQL.
--
-- KEYS[1] provider hash (providerKey)
-- ARGV[1] floor: the highest token SQL has accepted for the provider; the
--         new token is above it even if Redis lost the counter
-- ARGV[2] now, Unix ms
-- ARGV[3] grace, ms (as in claim.lua: an offer this long past its deadline
--         is dead)
--
-- Returns {code, token}:
--   1  the new token
--  -4  the provider holds a live offer; try again when it is answered
local h = KEYS[1]
local v = redis.call('HMGET', h, 's', 'f', 'x')
local now, grace = tonumber(ARGV[2]), tonumber(ARGV[3])
if v[1] == 'f' and now < tonumber(v[3] or 0) + grace then return {-4, 0} end
local floor = tonumber(ARGV[1])
if tonumber(v[2] or 0) < floor then redis.call('HSET', h, 'f', floor) end
return {1, redis.call('HINCRBY', h, 'f', 1)}
