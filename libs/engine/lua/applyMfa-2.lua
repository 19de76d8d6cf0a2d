--[[
  Applies an mfa.passed, which the mfa-missing rules read: one fact per MFA, kept for the longest lookback
  + grace + max skew (event time for trimming; PEXPIRE of the same length for the key).

  SPEC    (baked in at load) { h = dedup horizon, cap = eventIds kept per user, keep = how long an MFA matters }
  KEYS[1] events      ZSET eventId -> occurredAt (whole seconds)
  KEYS[2] mfaPassed   ZSET "<atMs>|<factor>|<sessionId>" -> atMs
  ARGV[1] eventId
  ARGV[2] occurredAtMs
  ARGV[3] sessionId
  ARGV[4] factor
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
addFact(KEYS[2], t, t .. '|' .. ARGV[4] .. '|' .. ARGV[3], SPEC.keep, trimAt)
return 1
