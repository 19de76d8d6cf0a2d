--[[
  raiseFlag(flagsKey, unackedKey, horizon, ruleId, severity, withdrawalId, eventId, raisedAt, evidence, base, call)
    -> the flag record, or nil when this rule already flagged this withdrawal.
  A record is JSON { e = eventId, r = ruleId, s = severity, t = raisedAtMs, v = evidence JSON text,
  b = the approval's base JSON text, k = the raising call's token, if any }; evidence and base stay text so no number passes through cjson's
  14-digit encoding. The flag stays in `unackedKey` until the caller acks it; `flagsKey` remembers that it
  was raised for the dedup horizon, acked or not.
]]
local function raiseFlag(flagsKey, unackedKey, horizon, ruleId, severity, withdrawalId, eventId, raisedAt, evidence, base, call)
  local flagId = ruleId .. ':' .. withdrawalId
  if redis.call('ZSCORE', flagsKey, flagId) or redis.call('HEXISTS', unackedKey, flagId) == 1 then return nil end
  local record = cjson.encode({ e = eventId, r = ruleId, s = severity, t = raisedAt, v = evidence, b = base, k = call })
  redis.call('ZADD', flagsKey, raisedAt, flagId)
  redis.call('ZREMRANGEBYSCORE', flagsKey, '-inf', '(' .. (raisedAt - horizon))
  redis.call('PEXPIRE', flagsKey, horizon)
  redis.call('HSET', unackedKey, flagId, record)
  return record
end

--[[
  unackedOf(unackedKey, eventId) -> records of the flags `eventId` raised that are not yet acked, so a
  redelivered event hands back what a crash may have kept from being produced.
]]
local function unackedOf(unackedKey, eventId)
  local out = {}
  local all = redis.call('HGETALL', unackedKey)
  for i = 2, #all, 2 do
    local ok, rec = pcall(cjson.decode, all[i])
    if ok and rec.e == eventId then out[#out + 1] = all[i] end
  end
  return out
end
