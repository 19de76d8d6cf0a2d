--[[
  Writes one user's window state unless another engine wrote it since it was read: an optimistic version
  check, the store's only script. It knows nothing of rules; the engine decided everything before it.

  KEYS[1]  the user's state, a string "<version> <writer>\n<state>" (absent: version 0)
  ARGV[1]  the version the engine read
  ARGV[2]  the new state
  ARGV[3]  ms to keep it unless written again, or 0 to keep it until then (pending decisions, unacked flags)
  ARGV[4]  this commit's writer token, unique per attempt

  Returns the new version, or 0 when the stored version is not ARGV[1] (nothing is written). A command
  resent after a lost reply (ioredis resends on reconnect) finds its own write, and succeeds again.
]]
local head = redis.call('GETRANGE', KEYS[1], 0, 63)
local current, writer = 0, ''
if head ~= '' then
  local v, w = string.match(head, '^(%d+) ?([^\n]*)\n')
  current = tonumber(v) or -1
  writer = w or ''
end
local expected = tonumber(ARGV[1])
if current == expected + 1 and writer == ARGV[4] then
  return current
end
if current ~= expected then
  return 0
end
local version = current + 1
local value = string.format('%d ', version) .. ARGV[4] .. '\n' .. ARGV[2]
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], value)
else
  redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
end
return version
