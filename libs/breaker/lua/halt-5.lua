--[[
  Halts a scope: an operator's halt, or an automatic one (detector stalled). Halting a halted scope changes
  nothing (the first halt's reason and time stay).
  KEYS[1] state key   KEYS[2] approvals hash   KEYS[3] audit stream   KEYS[4] outbox hash   KEYS[5] scopes set
  ARGV[1] scope   ARGV[2] reason   ARGV[3] trigger   ARGV[4] by   ARGV[5] at (ISO)   ARGV[6] now (ISO)
  ARGV[7] '1' to audit a no-op (operator requests), '0' not to (a watchdog repeating itself)
  ARGV[8] detail JSON or ''   ARGV[9] origin JSON or '' ({address, method, route} of the request)
  ARGV[10] crossedAt (ISO) or '' (operator halts have none)
  Returns JSON {r='changed', change} or {r='noop', snapshot}.
]]
--- @include "state"
local cur = read_snapshot(KEYS[1])
local detail = nil
if ARGV[8] ~= '' then detail = cjson.decode(ARGV[8]) end
local origin = optional_json(ARGV[9])
local action = 'halt'
if ARGV[4] == 'breaker' then action = 'trip' end
if cur and cur.state == 'halted' and not cur.corrupt then
  if ARGV[7] == '1' then
    append_audit(KEYS[3], merge({
      recordedAt = ARGV[6], action = action, outcome = 'no-op', scope = ARGV[1], by = ARGV[4],
      reason = ARGV[2], trigger = ARGV[3], state = 'halted', version = cur.version,
      detail = 'already halted since ' .. tostring(cur.since),
    }, origin))
  end
  return cjson.encode({ r = 'noop', snapshot = cur })
end
if cur and cur.corrupt then cur = { state = 'halted', version = 0 } end
-- Approvals given for an earlier halt never count towards resuming this one.
redis.call('DEL', KEYS[2])
local keys = { state = KEYS[1], audit = KEYS[3], outbox = KEYS[4], scopes = KEYS[5] }
local extra = merge({}, origin)
if detail then extra.detail = detail end
local change = apply_change(keys, cur, ARGV[1], 'halted', ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], action, extra,
  ARGV[10])
return cjson.encode({ r = 'changed', change = change })
