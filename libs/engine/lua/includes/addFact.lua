--[[
  addFact(key, t, member, keep, maintain): adds a fact (scored by its event time) to a user's fact list,
  which lives `keep` ms after its last write. When `maintain` is true the list is also trimmed to `keep` ms
  of event time behind the fact and to MAX_FACTS entries (the oldest go first), so a runaway producer
  cannot grow it; rules read facts by explicit time ranges, so a fact kept a little longer changes nothing.
]]
local MAX_FACTS = 256

local function addFact(key, t, member, keep, maintain)
  redis.call('ZADD', key, t, member)
  if maintain then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (t - keep))
    redis.call('ZREMRANGEBYRANK', key, 0, -MAX_FACTS - 1)
  end
  redis.call('PEXPIRE', key, keep)
end
