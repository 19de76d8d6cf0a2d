--[[
  recordEvent(key, eventId, t, horizon, cap, trimAt) -> true when the event is new, false for a duplicate.
  The user's dedup set lives `horizon` ms (PEXPIRE on every write). When `trimAt` is a number it is also
  trimmed to `horizon` ms of event time behind `trimAt` and to `cap` entries (the oldest go first), so
  memory stays bounded per user whatever a producer sends. `trimAt` is never past this event's time nor
  past the watermark (the event time every input has reached), so a fast stream never trims what a
  lagging one still needs. The caller asks for maintenance on every few events of a user, not all: a trim
  only bounds memory (the horizon is a minimum), it never changes a decision, and skipping it saves two
  Redis calls per event; `trimAt` nil means no maintenance.
]]
local function recordEvent(key, eventId, t, horizon, cap, trimAt)
  -- Scored in whole seconds: only the horizon trim reads the score, and a 10-digit integer takes 4 bytes
  -- less per entry than a 13-digit one in the set's listpack (about 100 bytes per active user).
  if redis.call('ZADD', key, 'NX', math.floor(t / 1000), eventId) == 0 then return false end
  if trimAt then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. math.floor((trimAt - horizon) / 1000))
    redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1)
  end
  redis.call('PEXPIRE', key, horizon)
  return true
end
