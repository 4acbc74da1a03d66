-- lib.lua: helpers shared by the scripts that move a provider in or out of
-- the availability index. It is not a script of its own: scripts.go puts it
-- in front of each script that uses it, so they stay one round trip each.
--
-- The index keys are "<index prefix><skill>:<cell>" (indexKey in keys.go);
-- members "<provider id>|<lat>|<lng>|<last heartbeat>" with the position as
-- stored in the provider hash (fields la, ln) and the time (field t, Unix ms)
-- in whole seconds; scores that time again. Removing a member needs the fields
-- it was added with, which is why every script reads them from the hash first.

-- secs turns the Unix ms of field t into the whole seconds of the index.
local function secs(ms)
  return tostring(math.floor(tonumber(ms) / 1000))
end

-- split splits a comma-separated field (skills, cells).
local function split(s)
  local out = {}
  if s then
    for x in string.gmatch(s, '[^,]+') do out[#out + 1] = x end
  end
  return out
end

-- unindex removes a provider from the sets of all its skills in all its
-- index cells (field c: one cell per index resolution, comma-separated).
local function unindex(prefix, id, la, ln, seen, cells, skills)
  if not la or la == '' then return end
  local m = id .. '|' .. la .. '|' .. ln .. '|' .. secs(seen)
  for _, cell in ipairs(split(cells)) do
    for _, sk in ipairs(split(skills)) do
      redis.call('ZREM', prefix .. sk .. ':' .. cell, m)
    end
  end
end

-- index adds a provider to the sets of all its skills in all its index
-- cells, scored by its last heartbeat. A provider without a position yet
-- cannot be found.
local function index(prefix, id, la, ln, seen, cells, skills)
  if not la or la == '' then return end
  local s = secs(seen)
  local m = id .. '|' .. la .. '|' .. ln .. '|' .. s
  for _, cell in ipairs(split(cells)) do
    for _, sk in ipairs(split(skills)) do
      redis.call('ZADD', prefix .. sk .. ':' .. cell, s, m)
    end
  end
end

-- back_from returns the status a provider goes back to when an offer or a
-- visit ends: what its last heartbeat asked for.
local function back_from(wants)
  if wants == '1' then return 'a' end
  return 'o'
end
