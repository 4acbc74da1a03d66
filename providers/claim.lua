-- claim.lua: reserves a provider for one request's offer. It is the fast half
-- of "never two visits at once": one script checks and marks, so of many
-- dispatchers claiming the same provider exactly one wins. The fencing token
-- it bumps goes with the offer to SQL, which refuses a stale one.
--
-- KEYS[1] provider hash (providerKey)
-- KEYS[2] offer deadlines (offersKey)
-- ARGV[1] provider ID
-- ARGV[2] request ID
-- ARGV[3] now, Unix ms
-- ARGV[4] offer lifetime, ms
-- ARGV[5] max heartbeat age, ms: an older last heartbeat is stale
-- ARGV[6] grace, ms: an offer this long past its deadline is dead and may be
--         taken over (its holder's token no longer matches afterwards)
-- ARGV[7] index key prefix (indexKeyPrefix)
-- ARGV[8] "1": claimed by telephone (the operator rang the provider), so an
--         offline or stale provider may be claimed too; "0" otherwise
--
-- Returns {code, token, deadline ms}:
--   1  claimed: the provider is offered to this request, token is new
--   2  already held by this same request: its token and deadline (a retried
--      claim is not a second claim)
--  -1  unknown provider (no live state)
--  -2  not available (offline or busy)
--  -3  stale: last heartbeat older than the max age
--  -4  already claimed for another request, offer still live
local h = KEYS[1]
local id, req = ARGV[1], ARGV[2]
local now, ttl, maxage, grace = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local v = redis.call('HMGET', h, 's', 't', 'r', 'x', 'f', 'w', 'la', 'ln', 'c', 'k')
local st, seen, held, deadline = v[1], tonumber(v[2] or 0), v[3], tonumber(v[4] or 0)
if not st then return {-1, 0, 0} end
if st == 'f' then
  if now < deadline + grace then
    if held == req then return {2, tonumber(v[5] or 0), deadline} end
    return {-4, 0, 0}
  end
  -- The offer is dead: whoever held it stopped without releasing it.
  st = back_from(v[6])
end
local phoned = ARGV[8] == '1'
if st ~= 'a' and not (phoned and st == 'o') then return {-2, 0, 0} end
if now - seen > maxage and not phoned then return {-3, 0, 0} end

if v[1] == 'a' then unindex(ARGV[7], id, v[7], v[8], v[2], v[9], v[10]) end
local token = redis.call('HINCRBY', h, 'f', 1)
deadline = now + ttl
redis.call('HSET', h, 's', 'f', 'r', req, 'x', deadline)
redis.call('ZADD', KEYS[2], deadline, id)
return {1, token, deadline}
