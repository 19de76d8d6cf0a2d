--[[
  Writes one user's window state unless another engine wrote it since it was read: an optimistic version
  check, the store's only script. It knows nothing of rules; the engine decided everything before it.

  KEYS[1]  the user's state, a string "<version>\n<state>" (absent: version 0)
  ARGV[1]  the version the engine read
  ARGV[2]  the new state
  ARGV[3]  ms to keep it unless written again, or 0 to keep it until then (pending decisions, unacked flags)

  Returns the new version, or 0 when the stored version is not ARGV[1] (nothing is written).
]]
local head = redis.call('GETRANGE', KEYS[1], 0, 20)
local current = 0
if head ~= '' then
  current = tonumber(string.match(head, '^(%d+)\n')) or -1
end
if current ~= tonumber(ARGV[1]) then
  return 0
end
local version = current + 1
local value = string.format('%d\n', version) .. ARGV[2]
if ARGV[3] == '0' then
  redis.call('SET', KEYS[1], value)
else
  redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
end
return version
