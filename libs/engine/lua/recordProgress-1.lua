--[[
  Records event-time progress of input sources (one field per "<topic>/<partition>" or "replay"), shared
  by every detector instance. The newest event time only ever grows, so two instances briefly owning one
  partition during a rebalance cannot move it back.

  KEYS[1] progress   HASH source -> "<maxEventTimeMs>|<caughtUp 0/1>|<lastArrivalWallMs>"
  ARGV[1] wall clock now (ms)
  ARGV[2 + 4i .. 5 + 4i] per update: source, maxEventTimeMs, caughtUp (0/1), arrived (0/1: events came)

  Returns the number of sources updated, or -1 on a bad argument.
]]
local now = tonumber(ARGV[1])
if not now or (#ARGV - 1) % 4 ~= 0 then return -1 end
local n = 0
for i = 2, #ARGV, 4 do
  local source, maxT, caught, arrived = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  if not maxT then return -1 end
  local old = redis.call('HGET', KEYS[1], source)
  local oldMax, oldLast = nil, nil
  if old then
    local a, _, c = string.match(old, '^([^|]*)|([^|]*)|(.*)$')
    oldMax, oldLast = tonumber(a), tonumber(c)
  end
  if oldMax and oldMax > maxT then maxT = oldMax end
  local last = now
  if arrived ~= '1' and oldLast then last = oldLast end
  redis.call('HSET', KEYS[1], source, string.format('%d|%s|%d', maxT, caught == '1' and '1' or '0', last))
  n = n + 1
end
return n
