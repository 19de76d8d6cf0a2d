--[[
  Restores a snapshot read back from the control topic (after Redis lost its data) when Redis has none for
  the scope or an older version; a newer one in Redis always wins.
  KEYS[1] state key   KEYS[2] audit stream   KEYS[3] scopes set
  ARGV[1] snapshot JSON (already validated)   ARGV[2] now (ISO)
  Returns 1 when restored, 0 when kept.
]]
--- @include "state"
local snap = cjson.decode(ARGV[1])
local cur = read_snapshot(KEYS[1])
if cur and not cur.corrupt and cur.version >= tonumber(snap.version) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[3], snap.scope)
append_audit(KEYS[2], {
  recordedAt = ARGV[2], action = 'restore', outcome = 'changed', scope = snap.scope, by = 'breaker',
  reason = 'restored from the control topic', trigger = snap.trigger, state = snap.state,
  version = tonumber(snap.version), at = snap.since,
})
return 1
