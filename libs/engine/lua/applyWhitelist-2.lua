--[[
  Applies an address.whitelisted: remembers when the user last whitelisted the (normalised) address, for the
  new-address-cooldown rules.

  SPEC    (baked in at load) { h = dedup horizon, cap = eventIds kept per user,
                               keep = how long a whitelisting matters: longest cooldown + grace (ms) }
  KEYS[1] events      ZSET eventId -> occurredAt (whole seconds)
  KEYS[2] whitelist   ZSET normalised address -> latest whitelisting time
  ARGV[1] eventId
  ARGV[2] occurredAtMs
  ARGV[3] normalised address
  ARGV[4] trim time: "" for no trimming now, else trim this user's lists behind this event time (at most
          the watermark; the engine asks every few events per user)

  Returns 1 applied, 0 duplicate, -1 bad argument.
]]
--- @include "recordEvent"

local t = tonumber(ARGV[2])
if not t then return -1 end
local trimAt = tonumber(ARGV[4])
if not recordEvent(KEYS[1], ARGV[1], t, SPEC.h, SPEC.cap, trimAt) then return 0 end
-- GT: a redelivered older whitelisting never hides a newer one (new members are still added).
redis.call('ZADD', KEYS[2], 'GT', t, ARGV[3])
if trimAt then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (trimAt - SPEC.keep)) end
redis.call('PEXPIRE', KEYS[2], SPEC.keep)
return 1
