--[[
  Applies an mfa.reset or mfa.enrolled, which the mfa-reset-withdrawal rules read: one fact per change,
  kept for the longest window + grace + max skew.

  SPEC    (baked in at load) { h = dedup horizon, cap = eventIds kept per user, keep = how long a change matters }
  KEYS[1] events       ZSET eventId -> occurredAt (whole seconds)
  KEYS[2] mfaChanges   ZSET "<atMs>|<reset|enrolled>|<factor>" -> atMs
  ARGV[1] eventId
  ARGV[2] occurredAtMs
  ARGV[3] "reset" or "enrolled"
  ARGV[4] factor, or "" when the event names none
  ARGV[5] trim time: "" for no trimming now, else trim this user's lists behind this event time (at most
          the watermark; the engine asks every few events per user)

  Returns 1 applied, 0 duplicate, -1 bad argument.
]]
--- @include "recordEvent"
--- @include "addFact"

local t = tonumber(ARGV[2])
if not t then return -1 end
local trimAt = tonumber(ARGV[5])
if not recordEvent(KEYS[1], ARGV[1], t, SPEC.h, SPEC.cap, trimAt) then return 0 end
addFact(KEYS[2], t, t .. '|' .. ARGV[3] .. '|' .. ARGV[4], SPEC.keep, trimAt)
return 1
