--[[
  Applies a login.succeeded, which the new-device-withdrawal rules read: the session's login (time, device,
  and when that device was last seen before it) and the user's device sightings, in one hash so a login
  costs one read and one write.

  SPEC    (baked in at load) { h = dedup horizon, cap = eventIds kept per user,
            ss = how long a session's login matters (longest loginWithin + grace + max skew),
            dv = how long a device sighting matters (longest unseen window + grace + max skew) }
  KEYS[1] events   ZSET eventId -> occurredAt (whole seconds)
  KEYS[2] logins   HASH "s:<sessionId>" -> "<loginAtMs>|<device last seen before it, or empty>|<deviceId>"
                        "d:<deviceId>"  -> "<last successful login time>"
  ARGV[1] eventId
  ARGV[2] occurredAtMs
  ARGV[3] sessionId
  ARGV[4] deviceId
  ARGV[5] trim time: "" for no trimming now, else trim this user's lists behind this event time (at most
          the watermark; the engine asks every few events per user)

  Returns 1 applied, 0 duplicate, -1 bad argument.
]]
--- @include "recordEvent"

-- Stale entries are swept once the hash holds this many: a handful of devices and recent sessions.
local SWEEP_AT = 4

local t = tonumber(ARGV[2])
if not t then return -1 end
local trimAt = tonumber(ARGV[5])
if not recordEvent(KEYS[1], ARGV[1], t, SPEC.h, SPEC.cap, trimAt) then return 0 end
local key, sessionField, deviceField = KEYS[2], 's:' .. ARGV[3], 'd:' .. ARGV[4]

local got = redis.call('HMGET', key, deviceField, sessionField)
local prev = tonumber(got[1])
local currentAt = got[2] and tonumber(string.match(got[2], '^(%-?[%d.]+)'))
-- A sighting at or after this login (one user's logins out of order) says nothing about the window before
-- it; count the device as seen rather than flag a device the user plainly uses.
local seenBefore = ''
if prev then seenBefore = math.min(prev, t) end
local writes = {}
if not prev or prev < t then
  writes[#writes + 1] = deviceField
  writes[#writes + 1] = t
end
-- The session's newest login is the one an approval in it follows.
if not currentAt or currentAt < t then
  writes[#writes + 1] = sessionField
  writes[#writes + 1] = t .. '|' .. seenBefore .. '|' .. ARGV[4]
end
if #writes > 0 then redis.call('HSET', key, unpack(writes)) end
redis.call('PEXPIRE', key, SPEC.dv)

if trimAt and redis.call('HLEN', key) >= SWEEP_AT then
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local field = all[i]
    local at = tonumber(string.match(all[i + 1], '^(%-?[%d.]+)'))
    local keep = string.sub(field, 1, 2) == 's:' and SPEC.ss or SPEC.dv
    if not at or at < trimAt - keep then redis.call('HDEL', key, field) end
  end
end
return 1
