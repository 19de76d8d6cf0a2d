--[[
  Restores a snapshot chosen from the control topic (after Redis lost its data). A verified snapshot is
  restored when Redis has none for the scope or an older version (a newer one in Redis always wins). A
  fail-closed one (the topic held no trustworthy state for the scope) is restored only where Redis has no
  readable state at all, and goes to the outbox so the topic's newest message is a signed one again.
  KEYS[1] state key   KEYS[2] audit inbox   KEYS[3] scopes set   KEYS[4] outbox hash
  ARGV[1] snapshot JSON (already verified, or made fail-closed by the breaker)   ARGV[2] now (ISO)
  ARGV[3] '1' when fail-closed, '0' when verified
  Returns 1 when restored, 0 when kept.
]]
--- @include "state"
local snap = cjson.decode(ARGV[1])
local fail_closed = ARGV[3] == '1'
local cur = read_snapshot(KEYS[1])
if cur and not cur.corrupt and (fail_closed or cur.version >= tonumber(snap.version)) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], snap.scope)
local reason = 'restored from the control topic'
if fail_closed then
  reason = snap.reason
  redis.call('HSET', KEYS[4], snap.scope, cjson.encode(merge({ previous = 'open' }, snap)))
end
append_audit(KEYS[2], {
  recordedAt = ARGV[2], action = 'restore', outcome = 'changed', scope = snap.scope, by = 'breaker',
  reason = reason, trigger = snap.trigger, state = snap.state,
  version = tonumber(snap.version), at = snap.at, crossedAt = snap.crossedAt,
})
return 1
