--[[
  One operator's request to resume a halted scope (four eyes). An approval counts only for the halt it was
  given for (the scope's version) and only within the approval window; the same operator twice counts once.
  The request that brings the distinct approvals to the required number resumes the scope.
  KEYS[1] state key   KEYS[2] approvals hash   KEYS[3] audit stream   KEYS[4] outbox hash   KEYS[5] scopes set
  ARGV[1] scope   ARGV[2] operator   ARGV[3] reason   ARGV[4] now (ms)   ARGV[5] now (ISO)
  ARGV[6] approval window (ms)   ARGV[7] approvals required   ARGV[8] at (ISO): when a resume takes effect
  ARGV[9] origin JSON or '' ({address, method, route} of the request)
  Returns JSON {r='resumed', change, approvals} | {r='pending', approvals} | {r='repeated', approvals}
             | {r='not-halted', state}
]]
--- @include "state"
local scope, operator, reason = ARGV[1], ARGV[2], ARGV[3]
local now_ms, now_iso = tonumber(ARGV[4]), ARGV[5]
local window, required = tonumber(ARGV[6]), tonumber(ARGV[7])
local at_iso, origin = ARGV[8], optional_json(ARGV[9])
local cur = read_snapshot(KEYS[1])
if not cur or cur.state ~= 'halted' then
  local version = 0
  if cur then version = cur.version end
  append_audit(KEYS[3], merge({
    recordedAt = now_iso, action = 'resume-request', outcome = 'refused', scope = scope, by = operator,
    reason = reason, trigger = 'resume', state = 'open', version = version, detail = 'scope is not halted',
  }, origin))
  return cjson.encode({ r = 'not-halted', state = 'open' })
end

local approvals = {}
local flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do
  local ok, a = pcall(cjson.decode, flat[i + 1])
  if ok and type(a) == 'table' and tonumber(a.version) == cur.version and now_ms - tonumber(a.atMs) <= window then
    table.insert(approvals, { operator = flat[i], reason = a.reason, atMs = tonumber(a.atMs), at = a.at })
  else
    redis.call('HDEL', KEYS[2], flat[i])
  end
end
table.sort(approvals, function(x, y)
  if x.atMs == y.atMs then return x.operator < y.operator end
  return x.atMs < y.atMs
end)
local function names()
  local out = {}
  for _, a in ipairs(approvals) do table.insert(out, a.operator) end
  return out
end

for _, a in ipairs(approvals) do
  if a.operator == operator then
    append_audit(KEYS[3], merge({
      recordedAt = now_iso, action = 'resume-request', outcome = 'refused', scope = scope, by = operator,
      reason = reason, trigger = 'resume', state = 'halted', version = cur.version, approvals = names(),
      detail = 'this operator already approved; a different operator must approve',
    }, origin))
    return cjson.encode({ r = 'repeated', approvals = names() })
  end
end

table.insert(approvals, { operator = operator, reason = reason, atMs = now_ms, at = now_iso })
if #approvals < required then
  redis.call('HSET', KEYS[2], operator,
    cjson.encode({ reason = reason, atMs = now_ms, at = now_iso, version = cur.version }))
  redis.call('PEXPIRE', KEYS[2], window)
  append_audit(KEYS[3], merge({
    recordedAt = now_iso, action = 'resume-request', outcome = 'pending', scope = scope, by = operator,
    reason = reason, trigger = 'resume', state = 'halted', version = cur.version, approvals = names(),
  }, origin))
  return cjson.encode({ r = 'pending', approvals = names() })
end

redis.call('DEL', KEYS[2])
local reasons, detail = {}, {}
for _, a in ipairs(approvals) do
  table.insert(reasons, a.operator .. ': ' .. a.reason)
  table.insert(detail, { operator = a.operator, reason = a.reason, at = a.at })
end
local keys = { state = KEYS[1], audit = KEYS[3], outbox = KEYS[4], scopes = KEYS[5] }
local change = apply_change(keys, cur, scope, 'open', table.concat(reasons, '; '), 'resume',
  table.concat(names(), ','), at_iso, now_iso, 'resume', merge({ approvals = names(), detail = detail }, origin), '')
return cjson.encode({ r = 'resumed', change = change, approvals = names() })
