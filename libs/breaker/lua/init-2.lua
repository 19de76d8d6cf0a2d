--[[
  Creates a scope's first snapshot (open, version 0) unless one exists. The guard fails closed while the
  global snapshot is missing, so a breaker writes it at start.
  KEYS[1] state key   KEYS[2] scopes set
  ARGV[1] scope       ARGV[2] now (ISO)
  Returns 1 when created, 0 when a snapshot was already there.
]]
local snap = cjson.encode({
  scope = ARGV[1], state = 'open', since = ARGV[2], reason = 'initial state',
  trigger = 'init', by = 'breaker', version = 0, at = ARGV[2], crossedAt = cjson.null,
})
if redis.call('SET', KEYS[1], snap, 'NX') then
  redis.call('SADD', KEYS[2], ARGV[1])
  return 1
end
return 0
