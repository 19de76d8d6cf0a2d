--[[
  recordEvent(key, eventId, t, horizon, cap, maintain) -> true when the event is new, false for a duplicate.
  The user's dedup set lives `horizon` ms (PEXPIRE on every write). When `maintain` is true it is also
  trimmed to `horizon` ms of event time behind this event and to `cap` entries (the oldest go first), so
  memory stays bounded per user whatever a producer sends. The caller asks for maintenance on every few
  events of a user, not all: a trim only bounds memory (the horizon is a minimum), it never changes a
  decision, and skipping it saves two Redis calls per event.
]]
local function recordEvent(key, eventId, t, horizon, cap, maintain)
  if redis.call('ZADD', key, 'NX', t, eventId) == 0 then return false end
  if maintain then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (t - horizon))
    redis.call('ZREMRANGEBYRANK', key, 0, -cap - 1)
  end
  redis.call('PEXPIRE', key, horizon)
  return true
end
