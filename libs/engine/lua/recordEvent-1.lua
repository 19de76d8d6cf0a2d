--[[
  Records an event that changes no rule state (withdrawal.requested, .completed, .rejected, login.failed,
  mfa.failed, or a kind no enabled rule reads), so its redelivery still counts as a duplicate.

  SPEC    (baked in at load, see compiled-scripts.ts) { h = dedup horizon ms, cap = eventIds kept per user }
  KEYS[1] events   ZSET eventId -> occurredAt (whole seconds)
  ARGV[1] eventId
  ARGV[2] occurredAtMs
  ARGV[3] trim time: "" for no trimming now, else trim this user's lists behind this event time (at most
          the watermark; the engine asks every few events per user)

  Returns 1 applied, 0 duplicate, -1 bad argument.
]]
--- @include "recordEvent"

local t = tonumber(ARGV[2])
if not t then return -1 end
if recordEvent(KEYS[1], ARGV[1], t, SPEC.h, SPEC.cap, tonumber(ARGV[3])) then return 1 end
return 0
