--[[
  addFact(key, t, member, keep, trimAt): adds a fact (scored by its event time) to a user's fact list,
  which lives `keep` ms after its last write. When `trimAt` is a number the list is also trimmed to `keep`
  ms of event time behind `trimAt` and to MAX_FACTS entries (the oldest go first), so a runaway producer
  cannot grow it; rules read facts by explicit time ranges, so a fact kept a little longer changes nothing.
  `trimAt` is at most the watermark: facts are read by approvals from another stream, which may be hours
  of event time behind this one, so trimming behind this fact's own time would drop what they need.
]]
local MAX_FACTS = 256

local function addFact(key, t, member, keep, trimAt)
  redis.call('ZADD', key, t, member)
  if trimAt then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (trimAt - keep))
    redis.call('ZREMRANGEBYRANK', key, 0, -MAX_FACTS - 1)
  end
  redis.call('PEXPIRE', key, keep)
end
